import type { RunVerdictTelemetry } from '../store/types';
import { healthOf } from './healthOf';
import type { Report } from './types';

/**
 * The once-per-run summary emitted to telemetry (custom event + metrics) so Azure Monitor alert rules work
 * without KQL. `worstDeviationInPoints` is the largest |observed − expected| over backends with data (0 when none).
 */
export function toRunVerdictTelemetry(report: Report, runId: string, probesSent: number, tokensUsed: number): RunVerdictTelemetry {
  const shares: Record<string, number | null> = {};
  let worst = 0;
  for (const b of report.backends) {
    shares[b.name] = b.observedShare;
    if (b.deviationInPoints !== null && Number.isFinite(b.deviationInPoints)) {
      worst = Math.max(worst, Math.abs(b.deviationInPoints));
    }
  }
  return {
    runId,
    pool: report.pool,
    status: report.status,
    probesSent,
    tokensUsed,
    shares,
    worstDeviationInPoints: worst,
    health: report.health ?? healthOf(report),
  };
}
