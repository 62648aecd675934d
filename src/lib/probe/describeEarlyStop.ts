/**
 * Why a run sent fewer probes than it could, as a parenthesis for log and terminal lines: `""` when it did not stop
 * early. A stop on the gateway's token limit (see runProbes `GATEWAY_THROTTLED_STOP_AFTER`) is named as such, so
 * it never reads as the sequential test having decided.
 */
export function describeEarlyStop(run: { readonly stoppedEarly: boolean; readonly stoppedByGatewayThrottle?: boolean }): string {
  if (run.stoppedByGatewayThrottle === true) return " (stopped early: the gateway's token limit throttled the probes)";
  return run.stoppedEarly ? ' (stopped early: the sequential test was decisive)' : '';
}
