import type { GatewayAttemptSource } from '../lib/gatewayAttempts/types';
import type { ResolvedPool } from '../lib/pool/types';
import type { ReportGatewayAttempts } from '../lib/report/types';
import type { TimeWindow } from '../lib/store/types';
import { ensureError } from '../lib/util/errors';

/**
 * The report's `gatewayAttempts`: what the gateway recorded of its backend calls in `window`. A source that cannot
 * be read gives null and one log line (the report is never held up or broken by it).
 */
export async function readGatewayAttempts(
  source: GatewayAttemptSource,
  pool: ResolvedPool,
  window: TimeWindow,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<ReportGatewayAttempts | null> {
  try {
    const attempts = await source.readBackendAttempts(pool, window, signal);
    return {
      source: attempts.source,
      perAttempt: attempts.perAttempt,
      note: attempts.note,
      from: new Date(attempts.window.fromMs).toISOString(),
      to: new Date(attempts.window.toMs).toISOString(),
      byBackend: attempts.byBackend,
      unattributed: attempts.unattributed,
    };
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason ?? error;
    log(`Could not read the gateway's own record of backend calls: ${ensureError(error).message}`);
    return null;
  }
}
