import { buildReport } from '../../../../src/lib/report/buildReport';
import type { FleetPoolInput } from '../../../../src/lib/report/fleet/types';
import type { Report } from '../../../../src/lib/report/types';
import { HOSTILE, inputOf, labPool, richReportInput, windowOf } from '../fixtures';
import { START_MS, storyReport } from '../storyFixture';

/** The overview's clock: ten minutes after the story's last run. */
export const FLEET_NOW_MS = START_MS + 20 * 30_000 + 600_000;

function named(report: Report, pool: string): Report {
  return { ...report, pool };
}

/** The demo story (twenty runs with history), healthy now: its alert state is `ok`. */
export function healthyReport(pool = 'gpt-4o-mini'): Report {
  return named(storyReport({ primaryWindow: 'hour', alerts: true }), pool);
}

/** The story with its drift still open: no alert state, the history's last incident has no end. */
export function driftingReport(pool: string, fromMs: number): Report {
  const story = storyReport({ primaryWindow: 'hour', alerts: false });
  return {
    ...named(story, pool),
    status: 'drift',
    health: 'drift',
    headline: 'Drift: West US answered 100.0% of the latest runs, expected 66.7%.',
    alerts: { state: null, recent: [] },
    history: story.history ? { ...story.history, incidents: [{ health: 'drift', fromMs, toMs: null }] } : null,
  };
}

export function outageReport(pool: string): Report {
  return named(
    buildReport(inputOf({ windows: [windowOf({ name: 'run', status: 'no-data', answered: {}, unattributedByStatus: { '500': 40 } })], primaryWindow: 'run' })),
    pool,
  );
}

export function failoverReport(pool: string): Report {
  const withBackup = labPool({ withBackup: true });
  return named(
    buildReport(
      inputOf({
        pool: withBackup,
        windows: [windowOf({ name: 'hour', pool: withBackup, status: 'drift', answered: { 'openai-instance1': 450, 'openai-instance2': 229, 'openai-backup': 41 } })],
      }),
    ),
    pool,
  );
}

export function noDataReport(pool: string): Report {
  return named(buildReport(inputOf({ windows: [], primaryWindow: 'hour' })), pool);
}

export function inconclusiveReport(pool: string): Report {
  return named(
    buildReport(inputOf({ windows: [windowOf({ name: 'run', status: 'inconclusive', answered: { 'openai-instance1': 5, 'openai-instance2': 2 }, probesNeeded: 120 })], primaryWindow: 'run' })),
    pool,
  );
}

/** The rich report: drift with an alert open since 01:35 (alert state). */
export function alertedDriftReport(pool: string): Report {
  return named(buildReport(richReportInput()), pool);
}

/** A fleet with one pool in every state the table orders, given in an order unlike the table's. */
export function mixedFleet(): FleetPoolInput[] {
  const svc = 'apim-prod';
  return [
    { pool: 'ok-pool', service: svc, report: healthyReport('ok-pool'), error: null },
    { pool: 'inconclusive-pool', service: svc, report: inconclusiveReport('inconclusive-pool'), error: null },
    { pool: 'drift-pool', service: svc, report: driftingReport('drift-pool', FLEET_NOW_MS - 25 * 60_000), error: null },
    { pool: 'no-data-pool', service: svc, report: noDataReport('no-data-pool'), error: null },
    { pool: 'failover-pool', service: svc, report: failoverReport('failover-pool'), error: null },
    { pool: 'outage-pool', service: svc, report: outageReport('outage-pool'), error: null },
    { pool: 'broken-pool', service: 'apim-dev', report: null, error: 'Azure Monitor Logs answered 403 for the workspace query' },
    {
      pool: 'poisoned-pool',
      service: svc,
      report: healthyReport('poisoned-pool'),
      error: null,
      poisoned: { count: 3, lastAt: new Date(FLEET_NOW_MS - 120_000).toISOString(), reason: 'probe run threw: gateway URL setting APIM_GW_URL is empty' },
    },
  ];
}

/** Pool and service names that try to inject markup or break out of attributes and URLs. */
export function hostileFleet(): FleetPoolInput[] {
  return [
    { pool: HOSTILE, service: 'apim-prod', report: healthyReport(HOSTILE), error: null },
    { pool: 'a"b&c\'d', service: '<img src=x onerror=alert(5)>', report: null, error: '<iframe src="https://evil.example"> failed' },
    // The longest valid name (80 characters) without a break opportunity, in the longest valid host name's service.
    { pool: `gpt-4o-${'a'.repeat(73)}`, service: `${'b'.repeat(63)}.${'c'.repeat(63)}.azure-api.net`, report: failoverReport('long'), error: null },
  ];
}
