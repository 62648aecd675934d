import type { SequentialDecision } from '../stats/sequentialTest';

/**
 * True when the sequential test has reached a decision worth stopping for (drift, or ok by equivalence). Reaching
 * the probe budget (`cap`) decides nothing: the window's fixed-N test judges that run.
 */
export function isDecisive(decision: SequentialDecision): boolean {
  return decision.state === 'drift' || decision.state === 'ok';
}

/**
 * Error level of the sequential test's early `ok` (a drift of the tolerance size missed): 0.05, i.e. the power 0.95
 * docs/statistics.md sizes every `ok` claim for. The drift side keeps the run's α (1e-4): false pages stay as rare as budgeted,
 * while a healthy one-shot check may stop once its shares are pinned within the tolerance at 95%.
 */
export const MISSED_DRIFT_RATE = 0.05;
