import type { ProbeRecord } from '../probe/types';

/**
 * The backend whose answer counts for the weight check: a 2xx identified as a pool member, or a 401/403 that names
 * its backend (the backend refused the gateway's managed identity; see `withAuthRejectionsAsAnswers`). Null for
 * everything else (unidentified, throttled, failed, timed out) — in particular for `gateway-throttled`: the gateway's
 * token limit answered before any backend was chosen.
 */
export function answeringBackendOf(record: ProbeRecord): string | null {
  if (record.backend === null || record.kind === 'gateway-throttled') return null;
  if (record.kind === 'ok') return record.backend;
  if (record.kind === 'http' && (record.status === 401 || record.status === 403)) return record.backend;
  return null;
}
