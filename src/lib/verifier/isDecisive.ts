import type { SequentialDecision } from '../stats/sequentialTest';

/**
 * True when the sequential test has reached a decision worth stopping for. An `ok` that only reflects reaching
 * the probe budget (`truncated`) is not: that run was not stopped early.
 */
export function isDecisive(decision: SequentialDecision): boolean {
  if (decision.state === 'continue') return false;
  return !(decision.state === 'ok' && decision.truncated === true);
}
