import { randomUUID } from 'node:crypto';
import type { ResolvedPool } from '../pool/types';
import { runProbes, type GatewayMessage, type ProbeFatal } from '../probe/runProbes';
import type { ProbeRecord } from '../probe/types';
import type { Report } from '../report/types';
import type { SequentialDecision } from '../stats/sequentialTest';
import { createSequentialStop } from './createSequentialStop';
import type { ProbeSink } from '../store/types';
import { assembleReport } from './assembleReport';
import { evidenceFromRecords } from './evidenceFromRecords';

/** Options of {@link verifyOnce}. */
export interface VerifyOnceOptions {
  readonly pool: ResolvedPool;
  readonly gatewayUrl: string;
  readonly subscriptionKey: string;
  /** Maximum probes; the sequential test may stop earlier. */
  readonly requests: number;
  readonly concurrency: number;
  readonly timeoutInMs: number;
  /** False-alarm probability of this one-off decision (docs/statistics.md: 1e-4 for a pipeline gate). */
  readonly alpha: number;
  readonly toleranceInPoints: number;
  /** Stop as soon as the always-valid sequential test is decisive. */
  readonly sequential: boolean;
  readonly dispersionWarn?: number;
  /** Ramp probes in flight up while the sequential test may stop early (default true; see runProbes). */
  readonly rampUp?: boolean;
  readonly sink?: ProbeSink;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  /**
   * Stop once this many leading answers are the same gateway error (e.g. 500: the pool is not deployed); the
   * report then shows what there is and `gatewayMessage` what the gateway said. Off when absent.
   */
  readonly stopOnUniformFailureAfter?: number;
  /** Called after each completed probe with the sequential test's current decision (null when it is off): progress. */
  readonly onProbe?: (record: ProbeRecord, decision: SequentialDecision | null) => void;
}

export interface VerifyOnceResult {
  readonly report: Report;
  readonly records: readonly ProbeRecord[];
  readonly probesSent: number;
  readonly tokensUsed: number;
  readonly stoppedEarly: boolean;
  readonly decision: SequentialDecision | null;
  /** Set when probing could not run at all (401/403 from the gateway, unreachable, 404). */
  readonly fatal: ProbeFatal | null;
  /** The gateway's own words in its first error answer that named no backend. */
  readonly gatewayMessage: GatewayMessage | null;
  /** Set when the run stopped because its first answers were all the same gateway error. */
  readonly uniformFailure: { readonly status: number; readonly probes: number } | null;
  /** True when the run stopped because the gateway's token limit throttled its probes (see runProbes). */
  readonly stoppedByGatewayThrottle: boolean;
}

/**
 * One-shot verification (the CLI's `verify`, a pipeline gate after a deploy): probe through the gateway,
 * judge the run, return the same report object the HTTP endpoint serves.
 */
export async function verifyOnce(options: VerifyOnceOptions): Promise<VerifyOnceResult> {
  const now = options.now ?? Date.now;
  const runId = randomUUID();
  const names = options.pool.backends.map((b) => b.name);
  const sequential = options.sequential
    ? createSequentialStop(options.pool, { alpha: options.alpha, toleranceInPoints: options.toleranceInPoints, maxProbes: options.requests })
    : null;
  const startedAtMs = now();
  const result = await runProbes({
    gatewayUrl: options.gatewayUrl,
    subscriptionKey: options.subscriptionKey,
    pool: options.pool,
    runId,
    maxProbes: options.requests,
    concurrency: options.concurrency,
    timeoutInMs: options.timeoutInMs,
    ...(options.sink ? { sink: options.sink } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.stopOnUniformFailureAfter !== undefined ? { stopOnUniformFailureAfter: options.stopOnUniformFailureAfter } : {}),
    shouldStop: (record: ProbeRecord) => {
      const stop = sequential ? sequential.shouldStop(record) : false;
      options.onProbe?.(record, sequential?.decision ?? null);
      return stop;
    },
    // The in-flight ramp serves the sequential stop (overshoot); without one, every probe is sent at full concurrency.
    ...(sequential ? { inFlightCap: () => sequential.inFlightCap(options.concurrency) } : { rampUp: false }),
    ...(options.rampUp === false ? { rampUp: false } : {}),
  });
  const window = { fromMs: Math.min(startedAtMs, ...result.records.map((r) => r.startedAtMs)), toMs: now() + 1 };
  const evidence = evidenceFromRecords(result.records, names, window, Math.max(1000, Math.ceil((window.toMs - window.fromMs) / 20)), runId);
  const report = assembleReport({
    pool: options.pool,
    windows: [{ name: 'run', evidence, alpha: options.alpha, description: 'in this run', sequential: sequential?.verdict }],
    primaryWindow: 'run',
    generatedAtMs: now(),
    toleranceInPoints: options.toleranceInPoints,
    dispersionWarn: options.dispersionWarn ?? 1.25,
    probesPerRun: options.requests,
    runsPerHour: 1,
    lastDeploy: null,
    configDrift: null,
    policy: [],
    alerts: { state: null, recent: [] },
  });
  return {
    report,
    records: result.records,
    probesSent: result.probesSent,
    tokensUsed: result.tokensUsed,
    stoppedEarly: result.stoppedEarly,
    decision: sequential?.decision ?? null,
    fatal: result.fatal,
    gatewayMessage: result.gatewayMessage,
    uniformFailure: result.uniformFailure,
    stoppedByGatewayThrottle: result.stoppedByGatewayThrottle,
  };
}
