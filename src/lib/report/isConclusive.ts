import { healthOf } from './healthOf';
import type { Report } from './types';

/**
 * Whether the report's health is backed by evidence. A bad health always is; an `ok` health is only when the
 * primary window actually said `ok` — with `inconclusive` or `no-data` (including a total outage where every probe
 * failed) it just means "nothing proven", and the alert machine must not treat it as a recovery.
 */
export function isConclusive(report: Pick<Report, 'status' | 'findings' | 'health'>): boolean {
  return (report.health ?? healthOf(report)) !== 'ok' || report.status === 'ok';
}
