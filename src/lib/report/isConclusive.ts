import { healthOf } from './healthOf';
import type { Report } from './types';

/**
 * Whether the report's health is backed by evidence, i.e. whether this run may count as a clean run toward the
 * recovery of an open incident. A bad health always is. An `ok` health is when the primary window said `ok`, or said
 * `inconclusive` while ruling out a missing backend (`deadBackendRuledOut`: no weighted share off by as much as the
 * smallest expected share). That second case is what a healthy run of the default size shows: it cannot pin the
 * shares within the tolerance on its own (docs/statistics.md), but it is clean evidence that every backend serves,
 * which is what recovery from a dead backend, a failover or an outage needs. `no-data` (including a total outage
 * where every probe failed) and an inconclusive window that cannot even rule out a missing backend are "nothing
 * proven": the alert machine must not treat them as a recovery.
 */
export function isConclusive(report: Pick<Report, 'status' | 'findings' | 'health'> & Partial<Pick<Report, 'window' | 'windows'>>): boolean {
  if ((report.health ?? healthOf(report)) !== 'ok' || report.status === 'ok') return true;
  if (report.status !== 'inconclusive') return false;
  const primary = report.windows?.find((w) => w.name === report.window?.name);
  return primary?.deadBackendRuledOut === true;
}
