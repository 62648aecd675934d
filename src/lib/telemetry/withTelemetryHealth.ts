import type { EvidenceSource } from '../store/types';
import type { TelemetryHealth } from './createTelemetryHealth';

/**
 * Wraps an evidence source so every window it reads names a telemetry export failure in `degraded`: when the
 * verifier's own records are being refused (401/403), dropped or late, the Logs data is short of what was sent,
 * and the report must say why (it lands in `dataSource.degraded`) instead of showing a silent shortfall.
 */
export function withTelemetryHealth(source: EvidenceSource, health: TelemetryHealth): EvidenceSource {
  return {
    async readWindow(pool, window, binInMs, signal) {
      const evidence = await source.readWindow(pool, window, binInMs, signal);
      const { status, reason } = health.snapshot();
      if (status === 'ok' || reason === undefined) return evidence;
      const note = `the verifier's own telemetry is not being delivered (${reason})`;
      return { ...evidence, degraded: evidence.degraded === undefined ? note : `${evidence.degraded}; ${note}` };
    },
  };
}
