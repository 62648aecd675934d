import type { ResolvedPool } from '../pool/types';
import { assessWindow } from '../stats/assessWindow';
import type { EvidenceSource } from '../store/types';

/** The gate's answer: whether the timer may skip its synthetic probes this time, and why (logged). */
export interface ProbeGateDecision {
  readonly skip: boolean;
  readonly reason: string;
}

/** Options of {@link createTrafficProbeGate}. */
export interface TrafficProbeGateOptions {
  /** The all-traffic evidence (ALL_TRAFFIC_SOURCE). */
  readonly source: EvidenceSource;
  readonly pool: ResolvedPool;
  /** VERDICT_ALPHA_HOUR. */
  readonly alpha: number;
  /** VERDICT_TOLERANCE_POINTS. */
  readonly toleranceInPoints: number;
  readonly binInMs: number;
  /** The real-traffic window judged, ms; default one hour. */
  readonly spanInMs?: number;
  readonly now?: () => number;
}

/**
 * PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE: lets the timer send **zero synthetic probes** while real traffic alone
 * proves the pool healthy. The last hour of real traffic is judged exactly as the report judges it; probing is
 * skipped only when that verdict is `ok` (conclusive and within tolerance) and the data is complete. Anything
 * else — too little traffic (`inconclusive`), `drift` (the probes must confirm it and drive the alert), `no-data`,
 * degraded or unreadable logs — resumes probing, so an incident is never judged on silence.
 */
export function createTrafficProbeGate(options: TrafficProbeGateOptions): (signal?: AbortSignal) => Promise<ProbeGateDecision> {
  const now = options.now ?? Date.now;
  const spanInMs = options.spanInMs ?? 3_600_000;
  const backends = options.pool.backends.map((b) => ({
    name: b.name,
    priority: b.priority,
    expectedShare: b.expectedShare,
    isPrimary: b.isPrimary,
    region: b.region,
  }));
  return async (signal) => {
    const nowMs = now();
    let evidence;
    try {
      evidence = await options.source.readWindow(options.pool.name, { fromMs: nowMs - spanInMs, toMs: nowMs + 1 }, options.binInMs, signal);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { skip: false, reason: `real traffic could not be read (${message.slice(0, 300)}); probing` };
    }
    if (evidence.degraded !== undefined) {
      return { skip: false, reason: `real traffic data is incomplete (${evidence.degraded.slice(0, 300)}); probing` };
    }
    const assessment = assessWindow({
      label: 'all-traffic',
      backends,
      evidence,
      options: { alpha: options.alpha, toleranceInPoints: options.toleranceInPoints },
      windowDescription: 'in all traffic of the last hour',
    });
    if (assessment.status === 'ok') {
      return {
        skip: true,
        reason: `real traffic of the last hour is conclusive and within tolerance (${evidence.answered} answers): no synthetic probes needed`,
      };
    }
    return { skip: false, reason: `real traffic of the last hour is ${assessment.status}; probing` };
  };
}
