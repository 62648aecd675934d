import { setMaxListeners } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { identifyBackend } from '../pool/identifyBackend';
import { truncateValue } from '../util/boundedCounts';
import type { ResolvedPool } from '../pool/types';
import type { ProbeSink } from '../store/types';
import { ensureError } from '../util/errors';
import { ProbeOptionsError, ProbeSinkError } from './errors';
import { gatewayMessageOf } from './gatewayMessageOf';
import { sendProbe, type ProbeOutcome } from './sendProbe';
import type { ProbeRecord } from './types';

/** Options of {@link runProbes}. */
export interface RunProbesOptions {
  /** API base including the API URL suffix, e.g. `https://apim.azure-api.net/openai`. */
  readonly gatewayUrl: string;
  /** Sent in the header `pool.probe.subscriptionKeyHeader`; never logged, never in records or errors. `""` sends no key. */
  readonly subscriptionKey: string;
  readonly pool: ResolvedPool;
  readonly runId: string;
  /** Probes to send at most (integer ≥ 0). */
  readonly maxProbes: number;
  /** Probes in flight at most (integer 1–256). */
  readonly concurrency: number;
  /** Per-probe timeout covering connect, headers and body (milliseconds, > 0). */
  readonly timeoutInMs: number;
  /** Receives each record as its probe completes, so a killed run keeps what it recorded. */
  readonly sink?: ProbeSink | undefined;
  /**
   * Sequential-test hook: once it returns true no new probe starts; in-flight probes finish and are recorded. With a
   * hook, probes in flight ramp up from {@link RAMP_START} as answers come in (see {@link inFlightLimit}), so a
   * decision taken early does not leave up to `concurrency − 1` useless probes behind it.
   */
  readonly shouldStop?: ((record: ProbeRecord) => boolean) | undefined;
  /** With a stop hook, ramp probes in flight up (default true); false starts at `concurrency` (for the benchmark's comparison). */
  readonly rampUp?: boolean | undefined;
  /** With a stop hook and the ramp on: a further cap on probes in flight, asked before each launch (e.g. near a decision). */
  readonly inFlightCap?: (() => number) | undefined;
  /** Abort: no new probe starts and in-flight probes are cancelled (cancelled probes are not recorded). */
  readonly signal?: AbortSignal | undefined;
  /** Clock in epoch ms for `startedAtMs` and latency; default `Date.now` for the start and `performance.now` for latency. */
  readonly now?: (() => number) | undefined;
  /** Largest response body read (bytes); default 1 MiB. A larger 2xx is a failure `http`/`body-too-large`. */
  readonly maxBodyInBytes?: number | undefined;
  /** Host name resolver (node `dns.lookup` signature); default the OS resolver. For tests of unreachable gateways. */
  readonly lookup?: LookupFunction | undefined;
  /**
   * Stop (not fatal: the records are evidence) once this many completed probes in a row, from the first, are the
   * same error status from the gateway itself (no identifying header), e.g. a 500 because the pool is not deployed
   * yet: more probes would only repeat it. Off when absent (the timer's runs keep their fixed size).
   */
  readonly stopOnUniformFailureAfter?: number | undefined;
}

/** What the gateway said in its first error answer that named no backend. */
export interface GatewayMessage {
  readonly status: number;
  /** Sanitised: one printable line, bounded, the subscription key cut out (see `gatewayMessageOf`). */
  readonly message: string;
}

/** Why a run stopped as a configuration error rather than evidence about the pool. */
export interface ProbeFatal {
  readonly kind: 'unauthorized' | 'forbidden' | 'not-found' | 'unreachable';
  /** Names the URL (without query) and the key header, never the key. */
  readonly message: string;
  readonly status?: number;
}

/** What a run of probes produced. */
export interface ProbeRunResult {
  /** One record per completed probe, ordered by `probeIndex`. */
  readonly records: ProbeRecord[];
  /** Requests sent, including any cancelled by `signal` or by a fatal decision (those have no record). */
  readonly probesSent: number;
  /** Sum of `totalTokens` over the records. */
  readonly tokensUsed: number;
  /** True when the run ended before `maxProbes` (shouldStop, fatal or abort). */
  readonly stoppedEarly: boolean;
  readonly fatal: ProbeFatal | null;
  /** The gateway's own words in its first error answer that named no backend (null when there was none). */
  readonly gatewayMessage: GatewayMessage | null;
  /** Set when the run stopped because its first answers were all this same gateway error. */
  readonly uniformFailure: { readonly status: number; readonly probes: number } | null;
  /** True when the run stopped because the gateway's token limit throttled {@link GATEWAY_THROTTLED_STOP_AFTER} probes. */
  readonly stoppedByGatewayThrottle: boolean;
}

/** Default cap on a response body: a chat completion with max_tokens 1 is well under 4 KiB. */
export const DEFAULT_MAX_BODY_IN_BYTES = 1024 * 1024;

/**
 * How many leading probes must all fail the same configuration way (401/403/404 from the gateway itself, or no
 * connection) before the run stops as fatal. Three keeps a single flaky refusal from aborting a run while a
 * wrong key costs at most a handful of requests.
 */
const FATAL_AFTER_PROBES = 3;

const MAX_CONCURRENCY = 256;

/**
 * A run stops starting probes once the gateway's token limit has refused this many of them (kind
 * `gateway-throttled`): every further probe would only use up the API's limit (shared with whoever else the
 * policy's counter-key groups with the verifier) and be refused again until `Retry-After` has passed.
 */
export const GATEWAY_THROTTLED_STOP_AFTER = 3;

/** Probes in flight at the start of a run with a stop hook. */
export const RAMP_START = 2;
/** Probes in flight grow by one per this many completed probes (up to `concurrency`). */
export const RAMP_COMPLETIONS_PER_SLOT = 2;

/**
 * How many probes may be in flight after `completed` probes came back, when a sequential test may stop the run:
 * RAMP_START + completed / RAMP_COMPLETIONS_PER_SLOT, capped at `concurrency` (and by the caller's `inFlightCap`,
 * which narrows as a drift decision nears). The test's earliest decisions (a backup answering within a few probes)
 * come while few probes are in flight; by ~28 answers the run is at full concurrency, so a healthy run of hundreds
 * of probes loses only a few round trips (bench `verdicts`: overshoot and healthy-run duration).
 */
export function inFlightLimit(completed: number, concurrency: number): number {
  return Math.min(concurrency, RAMP_START + Math.floor(completed / RAMP_COMPLETIONS_PER_SLOT));
}
const MAX_TIMER_IN_MS = 2 ** 31 - 1;

/** Socket errors that mean the gateway cannot be reached at all (not a backend's failure). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

/** The minimal-cost chat completion: one short message, one output token. */
const PROBE_BODY = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }));

/**
 * Sends up to `maxProbes` synthetic chat-completion probes through the APIM gateway with at most `concurrency`
 * in flight, and records which backend answered each (from the pool's identifying header). Probes are never
 * retried; cookies are never kept or sent; each probe has its own timeout. Every probe outcome is data.
 *
 * Stops early when `shouldStop` says so, when `signal` aborts, after {@link GATEWAY_THROTTLED_STOP_AFTER} answers of
 * the gateway's token limit (`gateway-throttled`, see gatewayThrottle.ts), or — as `fatal` — when the first
 * {@link FATAL_AFTER_PROBES} completed probes all show a configuration error: 401/403/404 without the identifying
 * header (the gateway itself refused: wrong key, product or URL), or no connection to the gateway (refused, DNS,
 * TLS trust, or no connection within the timeout). A fatal decision cancels the probes still in flight. A 401 that
 * carries a backend's identifying header is the backend rejecting the gateway's identity: recorded, not fatal.
 *
 * Record `errorCode`s: `timeout` (no complete answer in time) and `connect-timeout` (never connected), socket codes
 * for `network` (`ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`, TLS codes …), the status as a string for non-2xx
 * (`429`, `503` …), `gateway-token-limit` for kind `gateway-throttled` (APIM's own token-limit 429, status 429, with
 * `retryAfterSeconds`), and for a 2xx that is not a chat completion (kind `http`, status kept): `body-too-large`
 * (over `maxBodyInBytes`), `empty-body`, `invalid-json`, `invalid-body` (JSON without a `choices` array).
 *
 * @throws ProbeOptionsError for invalid options (names the field, never the key).
 * @throws ProbeSinkError when the sink fails; probes in flight finish first, and nothing more is started.
 */
export async function runProbes(options: RunProbesOptions): Promise<ProbeRunResult> {
  const url = validateOptions(options);
  const { pool, runId, maxProbes, concurrency, timeoutInMs, sink, shouldStop, signal, now } = options;
  const maxBodyInBytes = options.maxBodyInBytes ?? DEFAULT_MAX_BODY_IN_BYTES;
  const identifyHeader = pool.probe.identify.header.toLowerCase();
  const keyHeader = pool.probe.subscriptionKeyHeader;
  // Exactly the definition's probe.headers (validated: no credential, no hop-by-hop or framing header), the key,
  // content-type, and what HTTP framing needs (content-length; accept-encoding identity so the body is read as sent).
  // Nothing else a policy could route on: without probe.headers a header-routed API sees no routing header.
  const headers: Record<string, string> = {
    ...pool.probe.headers,
    'content-type': 'application/json',
    'content-length': String(PROBE_BODY.length),
    'accept-encoding': 'identity',
  };
  if (options.subscriptionKey !== '') {
    headers[keyHeader.toLowerCase()] = options.subscriptionKey;
  }
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    maxSockets: concurrency,
    maxFreeSockets: concurrency,
    ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
  };
  const agent = url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const startClock = now ?? Date.now;
  const latencyClock = now ?? (() => performance.now());

  // Cancels in-flight probes on a fatal decision or on the caller's abort.
  const cancel = new AbortController();
  // Every probe in flight listens on it: avoid Node's "possible leak" warning above 10 listeners.
  setMaxListeners(concurrency + 10, cancel.signal);
  const onCallerAbort = (): void => cancel.abort();
  if (signal?.aborted === true) {
    cancel.abort();
  } else {
    signal?.addEventListener('abort', onCallerAbort, { once: true });
  }
  const records: ProbeRecord[] = [];
  let nextIndex = 0;
  let probesSent = 0;
  let stopping = false;
  let fatal: ProbeFatal | null = null;
  let sinkError: ProbeSinkError | null = null;
  const leading = { kind: null as ProbeFatal['kind'] | null, count: 0, status: undefined as number | undefined, code: '', broken: false };
  let gatewayMessage: GatewayMessage | null = null;
  let throttled = 0;
  const uniform = { status: null as number | null, count: 0, broken: options.stopOnUniformFailureAfter === undefined };
  let uniformFailure: ProbeRunResult['uniformFailure'] = null;
  const observeUniform = (record: ProbeRecord): void => {
    if (uniform.broken) return;
    const gatewayError = record.kind === 'http' && record.status !== null && (record.status < 200 || record.status >= 300) && record.identifierValue === null;
    if (!gatewayError || (uniform.status !== null && uniform.status !== record.status)) {
      uniform.broken = true;
      return;
    }
    uniform.status = record.status;
    uniform.count += 1;
    if (uniform.count >= (options.stopOnUniformFailureAfter ?? Number.POSITIVE_INFINITY)) {
      uniformFailure = { status: record.status as number, probes: uniform.count };
      uniform.broken = true;
      stopping = true;
    }
  };

  const observeLeading = (record: ProbeRecord): void => {
    if (leading.broken || fatal !== null) {
      return;
    }
    const kind = fatalKindOf(record);
    if (kind === null || (leading.kind !== null && leading.kind !== kind)) {
      leading.broken = true;
      return;
    }
    leading.kind = kind;
    leading.count += 1;
    leading.status = record.status ?? undefined;
    leading.code = record.errorCode ?? '';
    if (leading.count >= Math.min(FATAL_AFTER_PROBES, maxProbes)) {
      fatal = describeFatal(kind, leading.count, url, keyHeader, identifyHeader, leading.status, leading.code);
      stopping = true;
      cancel.abort();
    }
  };

  let inFlight = 0;
  let completed = 0;
  let wakeUps: (() => void)[] = [];
  const allowed = (): number =>
    shouldStop === undefined || options.rampUp === false
      ? concurrency
      : Math.max(1, Math.min(inFlightLimit(completed, concurrency), options.inFlightCap?.() ?? concurrency));
  const freeSlot = (): void => {
    inFlight -= 1;
    completed += 1;
    const waiting = wakeUps;
    wakeUps = [];
    for (const wake of waiting) wake();
  };

  const worker = async (): Promise<void> => {
    while (!stopping && !cancel.signal.aborted && nextIndex < maxProbes) {
      if (inFlight >= allowed()) {
        // Bounded: every probe in flight ends (answer, timeout or cancel) and wakes the waiters.
        await new Promise<void>((resolve) => wakeUps.push(resolve));
        continue;
      }
      inFlight += 1;
      try {
        const probeIndex = nextIndex;
        nextIndex += 1;
        probesSent += 1;
        const startedAtMs = startClock();
        const latencyStart = now === undefined ? latencyClock() : startedAtMs;
        const outcome = await sendProbe({ url, agent, headers, body: PROBE_BODY, timeoutInMs, maxBodyInBytes, identifyHeader, signal: cancel.signal });
        if (outcome.aborted) {
          stopping = true;
          continue;
        }
        const record = toRecord(outcome, { runId, probeIndex, startedAtMs, latencyInMs: Math.max(0, latencyClock() - latencyStart), pool });
        records.push(record);
        if (gatewayMessage === null && record.identifierValue === null && record.status !== null && record.kind === 'http' && (record.status < 200 || record.status >= 300)) {
          const message = gatewayMessageOf(outcome.errorBody, options.subscriptionKey);
          if (message !== null) gatewayMessage = { status: record.status, message };
        }
        observeLeading(record);
        observeUniform(record);
        if (record.kind === 'gateway-throttled') {
          throttled += 1;
          if (throttled >= GATEWAY_THROTTLED_STOP_AFTER) stopping = true;
        }
        if (sink !== undefined) {
          try {
            await sink.recordProbe(record);
          } catch (error) {
            sinkError ??= new ProbeSinkError(runId, probeIndex, { cause: ensureError(error) });
            stopping = true;
          }
        }
        if (shouldStop?.(record) === true) {
          stopping = true;
        }
      } finally {
        freeSlot();
      }
    }
  };

  try {
    const workerCount = Math.min(concurrency, maxProbes);
    await Promise.all(Array.from({ length: workerCount }, () => worker()));
  } finally {
    signal?.removeEventListener('abort', onCallerAbort);
    agent.destroy();
  }
  if (sinkError !== null) {
    throw sinkError;
  }
  records.sort((a, b) => a.probeIndex - b.probeIndex);
  const tokensUsed = records.reduce((sum, record) => sum + (record.totalTokens ?? 0), 0);
  const stoppedByGatewayThrottle = throttled >= GATEWAY_THROTTLED_STOP_AFTER && records.length < maxProbes;
  return { records, probesSent, tokensUsed, stoppedEarly: records.length < maxProbes, fatal, gatewayMessage, uniformFailure, stoppedByGatewayThrottle };
}

function validateOptions(options: RunProbesOptions): URL {
  let url: URL;
  try {
    url = new URL(options.gatewayUrl);
  } catch (error) {
    throw new ProbeOptionsError('gatewayUrl', `not an absolute URL: ${JSON.stringify(String(options.gatewayUrl))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProbeOptionsError('gatewayUrl', `must be http or https, got ${url.protocol}`);
  }
  if (typeof options.subscriptionKey !== 'string') {
    throw new ProbeOptionsError('subscriptionKey', 'must be a string');
  }
  // Checked here so node:http never echoes a malformed key in an error; the message never shows the value.
  if (/[^\t\x20-\x7e\x80-\xff]/.test(options.subscriptionKey)) {
    throw new ProbeOptionsError('subscriptionKey', 'contains characters not allowed in an HTTP header (a line break or control character?)');
  }
  requireInteger('maxProbes', options.maxProbes, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('concurrency', options.concurrency, 1, MAX_CONCURRENCY);
  // Node fires timers longer than 2^31 − 1 ms at once, which would time every probe out immediately.
  if (typeof options.timeoutInMs !== 'number' || !(options.timeoutInMs > 0 && options.timeoutInMs <= MAX_TIMER_IN_MS)) {
    throw new ProbeOptionsError('timeoutInMs', `must be a number of milliseconds from 1 to ${MAX_TIMER_IN_MS}, got ${String(options.timeoutInMs)}`);
  }
  if (options.maxBodyInBytes !== undefined) {
    requireInteger('maxBodyInBytes', options.maxBodyInBytes, 1, Number.MAX_SAFE_INTEGER);
  }
  if (typeof options.runId !== 'string' || options.runId === '') {
    throw new ProbeOptionsError('runId', 'must be a non-empty string');
  }
  const { probe } = options.pool;
  if (probe.deployment === '') {
    throw new ProbeOptionsError('pool.probe.deployment', 'must not be empty');
  }
  const base = url.pathname.replace(/\/+$/, '');
  url.pathname = `${base}/deployments/${encodeURIComponent(probe.deployment)}/chat/completions`;
  url.searchParams.set('api-version', probe.apiVersion);
  return url;
}

function requireInteger(field: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ProbeOptionsError(field, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

function toRecord(
  outcome: ProbeOutcome,
  context: { runId: string; probeIndex: number; startedAtMs: number; latencyInMs: number; pool: ResolvedPool },
): ProbeRecord {
  return {
    runId: context.runId,
    probeIndex: context.probeIndex,
    startedAtMs: context.startedAtMs,
    latencyInMs: context.latencyInMs,
    kind: outcome.kind,
    status: outcome.kind === 'timeout' || outcome.kind === 'network' ? null : outcome.status,
    backend: outcome.headerValue === null ? null : identifyBackend(context.pool, outcome.headerValue),
    // Identified on the full value, kept truncated: a per-response id in the header must not grow records (issue 15).
    identifierValue: outcome.headerValue === null ? null : truncateValue(outcome.headerValue),
    totalTokens: outcome.totalTokens,
    errorCode: outcome.errorCode,
    ...(outcome.kind === 'gateway-throttled' ? { retryAfterSeconds: outcome.retryAfterSeconds ?? null } : {}),
    ...(outcome.remainingTokens === undefined || outcome.remainingTokens === null ? {} : { remainingTokens: outcome.remainingTokens }),
  };
}

/** The configuration error a record shows, if any: only answers the gateway gave itself (no identifying header). */
function fatalKindOf(record: ProbeRecord): ProbeFatal['kind'] | null {
  if (record.kind === 'network') {
    return record.errorCode !== null && UNREACHABLE_CODES.has(record.errorCode) ? 'unreachable' : null;
  }
  if (record.kind === 'timeout') {
    // Never connected within the timeout (black-holed address, DNS that never answers): as unreachable as a refusal.
    return record.errorCode === 'connect-timeout' ? 'unreachable' : null;
  }
  if (record.kind !== 'http' || record.identifierValue !== null) {
    return null;
  }
  switch (record.status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    default:
      return null;
  }
}

function describeFatal(
  kind: ProbeFatal['kind'],
  count: number,
  url: URL,
  keyHeader: string,
  identifyHeader: string,
  status: number | undefined,
  code: string,
): ProbeFatal {
  const target = `POST ${url.origin}${url.pathname}`;
  const first = `the first ${count} probe${count === 1 ? '' : 's'}`;
  switch (kind) {
    case 'unauthorized':
      return {
        kind,
        status: 401,
        message: `${target} answered 401 without a ${identifyHeader} header to ${first}: the gateway rejected the subscription key sent in header ${keyHeader} (check the key and its product); this is a configuration error, not pool drift.`,
      };
    case 'forbidden':
      return {
        kind,
        status: 403,
        message: `${target} answered 403 without a ${identifyHeader} header to ${first}: the gateway refused the call (subscription scope, product or an IP/policy filter); this is a configuration error, not pool drift.`,
      };
    case 'not-found':
      return {
        kind,
        status: 404,
        message: `${target} answered 404 without a ${identifyHeader} header to ${first}: check the gateway URL, the API URL suffix and the deployment name.`,
      };
    case 'unreachable':
      return {
        kind,
        ...(status === undefined ? {} : { status }),
        message: `Could not connect to ${url.origin} (${code}) for ${first}: check the gateway URL and that the gateway is reachable.`,
      };
  }
}
