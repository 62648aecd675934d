import type { PoolHealth } from '../alerts/types';
import type { Report } from './types';

/**
 * The alert-worthy health of a report: `blind` (the verifier cannot reach the gateway) > `outage` > `auth-failure` > `failover` > `drift` > `config-drift` > `ok`, from alert-severity findings
 * (and a `drift` status). `inconclusive` and `no-data` map to `ok`: too little data never opens an incident. (It can
 * count toward recovery of an open one; the alert machine's damping — consecutive ok runs — keeps a single thin
 * run from closing it, see `nextAlertState`.) Auth failures, failed deploys and errors are shown in the report but do
 * not open an incident on their own: when they matter they move the shares, which does.
 */
export function healthOf(report: Pick<Report, 'status' | 'findings'>): PoolHealth {
  const alerting = report.findings.filter((f) => f.severity === 'alert');
  // The verifier could not probe at all (its own connection, key or URL): its own incident, never the pool's outage.
  if (alerting.some((f) => f.kind === 'blind')) return 'blind';
  // Every probe failed: no split to judge, but nobody being served is the worst incident of all.
  if (alerting.some((f) => f.kind === 'outage')) return 'outage';
  // A backend rejecting the gateway's identity (a finding that names the backend). A 401/403 from the gateway itself
  // has no backend: that is this verifier's own key, a configuration error that does not page.
  if (alerting.some((f) => f.kind === 'auth-failure' && f.backend !== undefined)) return 'auth-failure';
  if (alerting.some((f) => f.kind === 'failover')) return 'failover';
  if (report.status === 'drift' || alerting.some((f) => f.kind === 'weight-drift')) return 'drift';
  if (alerting.some((f) => f.kind === 'config-drift')) return 'config-drift';
  return 'ok';
}
