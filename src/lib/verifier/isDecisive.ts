import type { SequentialDecision } from '../stats/sequentialTest';

/**
 * True when the sequential test has reached a decision worth stopping for. An `ok` that only reflects reaching
 * the probe budget (`truncated`) is not: that run was not stopped early.
 */
export function isDecisive(decision: SequentialDecision): boolean {
  if (decision.state === 'continue') return false;
  return !(decision.state === 'ok' && decision.truncated === true);
}

/**
 * Error level of the sequential test's early `ok` (a drift of the tolerance size missed): 0.05, i.e. the power 0.95
 * statistics.md sizes every check for. The drift side keeps the run's α (1e-4): false pages stay as rare as budgeted,
 * while a healthy one-shot check may stop once its shares are pinned within the tolerance at 95%.
 */
export const MISSED_DRIFT_RATE = 0.05;
