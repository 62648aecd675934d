import type { ResolvedPool } from '../pool/types';
import type { TimeWindow } from '../store/types';

/** What the gateway recorded of its calls to one pool member. */
export interface BackendAttemptCounts {
  /** Backend calls recorded for this member (see {@link GatewayAttempts.perAttempt} for what one stands for). */
  readonly attempts: number;
  /** Of those, answered 429 Too Many Requests. */
  readonly throttled429: number;
  /** Of those, answered 500–599. */
  readonly serverErrors: number;
  /** Times one of those answers tripped the member's circuit breaker; null where the source cannot know it. */
  readonly breakerTrips: number | null;
}

/**
 * The gateway's own record of its backend calls in a window, per pool member: what probes cannot see when the
 * API policy retries a 429 on another member, or a tripped breaker sends a member nothing.
 */
export interface GatewayAttempts {
  /** `emulator-access-log` (the embedded gateway's access log) or `gateway-logs` (APIM's resource logs in Log Analytics). */
  readonly source: 'emulator-access-log' | 'gateway-logs';
  /**
   * True when every backend call is a record of its own (retries included); false when the source keeps one
   * backend call per client request, so a 429 that a retry recovered from is not in it.
   */
  readonly perAttempt: boolean;
  /** One or two sentences: where the numbers come from and what they leave out. */
  readonly note: string;
  /** Every member of the pool, by name (zeros when the gateway recorded no call to it). */
  readonly byBackend: Readonly<Record<string, BackendAttemptCounts>>;
  /** Recorded backend calls that matched no member (another pool's backend, an ambiguous host). */
  readonly unattributed: number;
  /** The window the counts cover (may start later than asked when the source no longer holds older records). */
  readonly window: TimeWindow;
}

/** Reads what the gateway saw of its backend calls: the embedded emulator's access log, or APIM's gateway logs. */
export interface GatewayAttemptSource {
  /**
   * Counts the gateway's backend calls to `pool`'s members in `window` (epoch ms, `from` inclusive, `to` exclusive).
   * @throws an Error naming the source (URL or workspace) when it cannot be read; never includes a secret.
   */
  readBackendAttempts(pool: ResolvedPool, window: TimeWindow, signal?: AbortSignal): Promise<GatewayAttempts>;
}
