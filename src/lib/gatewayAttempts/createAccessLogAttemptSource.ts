import type { ResolvedPool } from '../pool/types';
import type { TimeWindow } from '../store/types';
import { ensureError } from '../util/errors';
import { attributeAttempt } from './attributeAttempt';
import { shareRecentAttempts } from './shareRecentAttempts';
import type { BackendAttemptCounts, GatewayAttemptSource, GatewayAttempts } from './types';

/** Options of {@link createAccessLogAttemptSource}. */
export interface AccessLogAttemptSourceOptions {
  /** The embedded environment's control API, e.g. `http://127.0.0.1:PORT/_emulator` (loopback, no key). */
  readonly controlUrl: string;
  /** Newest access-log entries fetched per read; default 20,000 (the log itself keeps at most 100,000). */
  readonly maxEntries?: number;
  /**
   * Only the calls made for this API (its path, e.g. `openai`): the emulator hosts one API per pool of a fleet, and
   * pools may share backends. Default: every API.
   */
  readonly api?: string;
  /** Budget of one read, ms; default 5,000. */
  readonly timeoutInMs?: number;
  /**
   * A result read less than this long ago for the same pool and window length is served again; default 5,000 (a
   * full read is up to `maxEntries` entries of JSON, and the report is rebuilt at most once a second).
   */
  readonly shareForMs?: number;
  /** Clock for `shareForMs`; default Date.now. */
  readonly now?: () => number;
}

const NOTE =
  "Every backend call the embedded gateway made, from its access log (/_emulator/access-log): retried attempts included, so a 429 that the API policy retried on another backend is counted here although the probe saw the other backend's answer.";

/**
 * The embedded gateway's access log, read over its control API (`GET /_emulator/access-log?limit=N`), as the
 * product talks to the emulator: over HTTP only. Every client request is one entry with each backend call it made
 * (`attempts[]`: backend id, host, status, whether it tripped the breaker), so the counts are per attempt.
 * An entry belongs to the window by the time the gateway received the request.
 */
export function createAccessLogAttemptSource(options: AccessLogAttemptSourceOptions): GatewayAttemptSource {
  const maxEntries = options.maxEntries ?? 20_000;
  const timeoutInMs = options.timeoutInMs ?? 5_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a whole number ≥ 1');
  const api = options.api === undefined ? '' : `&api=${encodeURIComponent(options.api)}`;
  const url = `${options.controlUrl.replace(/\/+$/, '')}/access-log?limit=${maxEntries}${api}`;

  return shareRecentAttempts(
    async (pool: ResolvedPool, window: TimeWindow, signal?: AbortSignal): Promise<GatewayAttempts> => {
      const timeout = AbortSignal.timeout(timeoutInMs);
      let entries: unknown;
      try {
        const response = await fetch(url, { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]), headers: { accept: 'application/json' } });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        entries = ((await response.json()) as { entries?: unknown }).entries;
      } catch (error) {
        if (signal?.aborted === true) throw signal.reason ?? error;
        throw new Error(`Could not read the emulator's access log (GET ${url}): ${timeout.aborted ? `no answer within ${timeoutInMs} ms` : ensureError(error).message}`);
      }
      if (!Array.isArray(entries)) throw new Error(`The emulator's access log (GET ${url}) answered without an 'entries' array`);
      return countAttempts(pool, window, entries, maxEntries);
    },
    options.shareForMs ?? 5_000,
    options.now,
  );
}

/** Counts the attempts of access-log entries (oldest first, at most `limit` of the newest) in `window`. */
export function countAttempts(pool: ResolvedPool, window: TimeWindow, entries: readonly unknown[], limit: number): GatewayAttempts {
  const attribute = attributeAttempt(pool);
  const counts = new Map<string, { attempts: number; throttled429: number; serverErrors: number; breakerTrips: number }>(
    pool.backends.map((backend) => [backend.name, { attempts: 0, throttled429: 0, serverErrors: 0, breakerTrips: 0 }]),
  );
  let unattributed = 0;
  let oldestAt: number | null = null;
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { at, attempts } = entry as { at?: unknown; attempts?: unknown };
    if (typeof at !== 'number' || !Array.isArray(attempts)) continue;
    oldestAt = oldestAt === null ? at : Math.min(oldestAt, at);
    if (at < window.fromMs || at >= window.toMs) continue;
    for (const attempt of attempts as unknown[]) {
      if (typeof attempt !== 'object' || attempt === null) continue;
      const { backendId, host, status, tripped } = attempt as { backendId?: unknown; host?: unknown; status?: unknown; tripped?: unknown };
      const name = attribute(typeof host === 'string' ? host : '', typeof backendId === 'string' ? backendId : '');
      const count = name === null ? undefined : counts.get(name);
      if (count === undefined) {
        unattributed += 1;
        continue;
      }
      count.attempts += 1;
      if (status === 429) count.throttled429 += 1;
      if (typeof status === 'number' && status >= 500 && status <= 599) count.serverErrors += 1;
      if (tripped === true) count.breakerTrips += 1;
    }
  }
  // A full page whose oldest entry is inside the window: older requests of the window are no longer in it.
  const truncated = entries.length >= limit && oldestAt !== null && oldestAt > window.fromMs;
  const covered: TimeWindow = truncated ? { fromMs: oldestAt as number, toMs: window.toMs } : window;
  const byBackend: Record<string, BackendAttemptCounts> = Object.fromEntries(counts.entries());
  return {
    source: 'emulator-access-log',
    perAttempt: true,
    note: truncated ? `${NOTE} Only the newest ${limit.toLocaleString('en-US')} requests were read: the counts start at ${new Date(covered.fromMs).toISOString()}, not at the window's start.` : NOTE,
    byBackend,
    unattributed,
    window: covered,
  };
}
