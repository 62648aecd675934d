import type { ResolvedPool } from '../pool/types';
import type { ProbeRecord } from '../probe/types';
import { createSequentialTest, type SequentialDecision } from '../stats/sequentialTest';
import type { SequentialVerdict } from '../stats/types';
import { answeringBackendOf } from './answeringBackendOf';
import { isDecisive, MISSED_DRIFT_RATE } from './isDecisive';

/** Drift progress from which the prober narrows the probes in flight (see inFlightCap). */
const NEAR_DECISION = 0.5;

/** The sequential test wired as `runProbes`' stop hook, with the last decision kept for the caller. */
export interface SequentialStop {
  /** Feeds one probe to the test; true once it is decisive (no new probe should start). */
  shouldStop(record: ProbeRecord): boolean;
  /**
   * Probes that may be in flight now, given `concurrency`: all of them while the drift decision is far; fewer as it
   * nears (from half-way, linearly down to 1), so that a stop leaves few useless probes behind (runProbes' inFlightCap).
   */
  inFlightCap(concurrency: number): number;
  /** The latest decision, or null before the first probe. */
  readonly decision: SequentialDecision | null;
  /**
   * The stop decision as the run window's verdict must respect it (drift or ok; undefined while undecided or at the
   * cap). Final: probes that were still in flight when it was taken are recorded but cannot change it.
   */
  readonly verdict: SequentialVerdict | undefined;
}

/**
 * The always-valid sequential test over the pool's expected shares, fed with each probe's answering backend
 * (`answeringBackendOf`; anything else counts as no answer). Drift at level `alpha`, early ok at
 * `MISSED_DRIFT_RATE`. Used by the timer cycle and by one-shot verification alike.
 */
export function createSequentialStop(pool: ResolvedPool, options: { alpha: number; toleranceInPoints: number; maxProbes: number }): SequentialStop {
  const names = pool.backends.map((b) => b.name);
  const test = createSequentialTest({
    expectedShares: pool.backends.map((b) => b.expectedShare),
    alpha: options.alpha,
    toleranceInPoints: options.toleranceInPoints,
    maxProbes: options.maxProbes,
    missedDriftRate: MISSED_DRIFT_RATE,
  });
  let decision: SequentialDecision | null = null;
  return {
    shouldStop(record) {
      const answering = answeringBackendOf(record);
      const index = answering === null ? -1 : names.indexOf(answering);
      decision = test.observe(index >= 0 ? index : null);
      return isDecisive(decision);
    },
    inFlightCap(concurrency) {
      const progress = test.driftProgress;
      if (progress < NEAR_DECISION) return concurrency;
      return Math.max(1, Math.min(concurrency, Math.ceil((concurrency * (1 - progress)) / (1 - NEAR_DECISION))));
    },
    get decision() {
      return decision;
    },
    get verdict() {
      const d = decision;
      return d !== null && (d.state === 'drift' || d.state === 'ok') ? { state: d.state, identified: d.identified, reason: d.reason } : undefined;
    },
  };
}
