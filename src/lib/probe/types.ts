/**
 * What one synthetic probe produced. Expected outcomes are data, not exceptions: a failed probe is a record
 * with `kind` saying how it failed. Probes are never retried by the client (a retry hides what is measured).
 */
export type ProbeKind =
  /** A 2xx answer. */
  | 'ok'
  /** A non-2xx HTTP answer (429, 5xx, 401 …). */
  | 'http'
  /** No answer within the per-probe timeout. */
  | 'timeout'
  /** Connection refused/reset, DNS, TLS … */
  | 'network'
  /**
   * APIM's own token-limit 429 (`azure-openai-token-limit` / `llm-token-limit`, see gatewayThrottle.ts): the gateway
   * throttled the verifier before choosing a backend. Never a backend error, never in shares, errors or outage counts.
   */
  | 'gateway-throttled';

/** One probe, as stored locally and as sent to telemetry. Never carries a key, token or full header set. */
export interface ProbeRecord {
  readonly runId: string;
  /** 0-based index of the probe within its run. */
  readonly probeIndex: number;
  /** When the probe was sent, epoch milliseconds. */
  readonly startedAtMs: number;
  readonly latencyInMs: number;
  readonly kind: ProbeKind;
  /** HTTP status, or null for timeout/network. */
  readonly status: number | null;
  /** Name of the pool member identified from the identifying header; null = unidentified. */
  readonly backend: string | null;
  /** Raw value of the identifying header (null when absent), kept so unidentified answers can be explained. */
  readonly identifierValue: string | null;
  /** From `usage.total_tokens` of a 2xx answer, else its `consumed-tokens` header; null when neither. */
  readonly totalTokens: number | null;
  /** Short machine-readable cause for failures, e.g. `ECONNREFUSED`, `429`, `timeout`; null on success. */
  readonly errorCode: string | null;
  /** `gateway-throttled`: the gateway's `Retry-After` in seconds (null when absent); absent on other kinds. */
  readonly retryAfterSeconds?: number | null;
  /** The token-limit policy's `remaining-tokens` header on any answer (null or absent when not sent). */
  readonly remainingTokens?: number | null;
}

/** A probe run (one timer invocation or one CLI `verify`). */
export interface ProbeRunInfo {
  readonly runId: string;
  readonly pool: string;
  readonly startedAtMs: number;
  /** `timer`, `cli`, `manual` … */
  readonly trigger: string;
}

export type RunState = 'running' | 'complete' | 'incomplete';

/** What is recorded when a run ends. */
export interface ProbeRunSummary {
  readonly runId: string;
  readonly finishedAtMs: number;
  readonly state: RunState;
  readonly probesSent: number;
  readonly tokensUsed: number;
  /** Verdict status of the run window (see stats), e.g. `ok`, `drift`. */
  readonly verdict: string;
  /** True when the sequential test stopped the run before the configured maximum. */
  readonly stoppedEarly: boolean;
}
