import {
  buildFleetOverview,
  clip,
  FLEET_SEVERITY_ORDER,
  MAX_FLEET_ROWS,
  MAX_NAME_LENGTH,
  MAX_SPARKLINE_BACKENDS,
  MAX_SPARKLINE_POINTS,
  MAX_TEXT_LENGTH,
} from '../../../../src/lib/report/fleet/buildFleetOverview';
import type { FleetPoolInput } from '../../../../src/lib/report/fleet/types';
import type { Report, ReportHistoryPoint } from '../../../../src/lib/report/types';
import { alertedDriftReport, driftingReport, FLEET_NOW_MS, healthyReport, mixedFleet, noDataReport } from './fleetFixture';

const MIN = 60_000;

function entry(pool: string, report: Report | null, over: Partial<FleetPoolInput> = {}): FleetPoolInput {
  return { pool, service: 'apim-prod', report, error: report === null ? 'store unreachable' : null, ...over };
}

describe('buildFleetOverview', () => {
  it('orders pools worst first: no report, poisoned, outage, failover, drift, no data, inconclusive, ok', () => {
    const overview = buildFleetOverview(mixedFleet(), FLEET_NOW_MS);
    expect(overview.pools.map((r) => [r.pool, r.severity])).toEqual([
      ['broken-pool', 'error'],
      ['poisoned-pool', 'poisoned'],
      ['outage-pool', 'outage'],
      ['failover-pool', 'failover'],
      ['drift-pool', 'drift'],
      ['no-data-pool', 'no-data'],
      ['inconclusive-pool', 'inconclusive'],
      ['ok-pool', 'ok'],
    ]);
    expect(overview.worst).toBe('error');
    // Whatever the input order: reversed, the table is the same.
    expect(buildFleetOverview([...mixedFleet()].reverse(), FLEET_NOW_MS).pools.map((r) => r.pool)).toEqual(overview.pools.map((r) => r.pool));
  });

  it('puts every alert-worthy health in the documented order, and a health it does not know after config drift', () => {
    const healths = ['ok', 'config-drift', 'blind', 'drift', 'auth-failure', 'outage', 'failover', 'brand-new-health'] as const;
    const inputs = healths.map((health) => entry(`pool-${health}`, { ...healthyReport(), health: health as Report['health'] }));
    const order = buildFleetOverview(inputs, FLEET_NOW_MS).pools.map((r) => r.severity);
    expect(order).toEqual(['outage', 'blind', 'auth-failure', 'failover', 'drift', 'config-drift', 'other', 'ok']);
    expect(order).toEqual(FLEET_SEVERITY_ORDER.filter((s) => order.includes(s)));
  });

  it('breaks ties by the longest-open incident first, then by pool name, then by service', () => {
    const inputs = [
      entry('b-recent', driftingReport('b-recent', FLEET_NOW_MS - 5 * MIN)),
      entry('z-oldest', driftingReport('z-oldest', FLEET_NOW_MS - 50 * MIN)),
      entry('a-middle', driftingReport('a-middle', FLEET_NOW_MS - 20 * MIN)),
      entry('c-none', { ...driftingReport('c-none', 0), history: null }),
      entry('a-none', { ...driftingReport('a-none', 0), history: null }, { service: 'apim-west' }),
      entry('a-none', { ...driftingReport('a-none', 0), history: null }, { service: 'apim-east' }),
    ];
    const rows = buildFleetOverview(inputs, FLEET_NOW_MS).pools;
    expect(rows.map((r) => `${r.pool}@${r.service}`)).toEqual([
      'z-oldest@apim-prod',
      'a-middle@apim-prod',
      'b-recent@apim-prod',
      'a-none@apim-east',
      'a-none@apim-west',
      'c-none@apim-prod',
    ]);
    expect(rows[0]!.incident).toEqual({ health: 'drift', since: new Date(FLEET_NOW_MS - 50 * MIN).toISOString(), openForMs: 50 * MIN, source: 'history' });
  });

  it('takes the open incident from the alert state when there is one, and none when the state is ok', () => {
    const alerted = buildFleetOverview([entry('rich', alertedDriftReport('rich'))], Date.parse('2026-11-25T02:05:00.000Z')).pools[0]!;
    expect(alerted.incident).toEqual({ health: 'drift', since: '2026-11-25T01:35:00.000Z', openForMs: 30 * MIN, source: 'alerts' });
    // The story's alert state is ok (recovered), though its history shows a closed drift: no open incident.
    expect(buildFleetOverview([entry('story', healthyReport())], FLEET_NOW_MS).pools[0]!.incident).toBeNull();
  });

  it('links each pool by name, adding the service only where the same name (ignoring case) is in several services', () => {
    const rows = buildFleetOverview(
      [
        entry('gpt-4o', healthyReport(), { service: 'apim-prod' }),
        entry('GPT-4o', healthyReport(), { service: 'apim-dev.azure-api.net' }),
        entry('embeddings', healthyReport(), { service: 'apim-prod' }),
        entry('pool(1) ä', healthyReport(), { service: 'apim-prod' }),
        entry('twice-same-service', healthyReport(), { service: 'apim-prod' }),
      ],
      FLEET_NOW_MS,
    ).pools;
    const linkOf = (pool: string): string | null | undefined => rows.find((r) => r.pool === pool)?.link;
    expect(linkOf('gpt-4o')).toBe('?pool=gpt-4o&service=apim-prod');
    expect(linkOf('GPT-4o')).toBe('?pool=GPT-4o&service=apim-dev.azure-api.net');
    expect(linkOf('embeddings')).toBe('?pool=embeddings');
    expect(linkOf('pool(1) ä')).toBe('?pool=pool(1)%20%C3%A4');
    expect(linkOf('twice-same-service')).toBe('?pool=twice-same-service');
  });

  it('bounds every string, gives no link to a name longer than any valid one, and never splits a character', () => {
    const long = 'p'.repeat(5_000);
    const row = buildFleetOverview(
      [
        entry(long, null, {
          service: 's'.repeat(5_000),
          error: 'e'.repeat(100_000),
          poisoned: { count: 2, lastAt: 't'.repeat(5_000), reason: 'r'.repeat(100_000) },
        }),
      ],
      FLEET_NOW_MS,
    ).pools[0]!;
    expect(row.pool).toHaveLength(MAX_NAME_LENGTH);
    expect(row.pool.endsWith('…')).toBe(true);
    expect(row.service).toHaveLength(MAX_NAME_LENGTH);
    expect(row.error).toHaveLength(MAX_TEXT_LENGTH);
    expect(row.headline).toHaveLength(MAX_TEXT_LENGTH);
    expect(row.poisoned?.reason).toHaveLength(MAX_TEXT_LENGTH);
    expect(row.poisoned?.lastAt).toHaveLength(MAX_NAME_LENGTH);
    expect(row.link).toBeNull();
    expect(JSON.stringify(row).length).toBeLessThan(3_000);
    const emoji = '😀'.repeat(300);
    expect(Array.from(clip(emoji, 10))).toEqual([...Array.from('😀'.repeat(9)), '…']);
    expect(clip('😀'.repeat(10), 10)).toBe('😀'.repeat(10));
  });

  it('keeps at most the worst 500 rows while counting every pool given', () => {
    const inputs = Array.from({ length: MAX_FLEET_ROWS + 40 }, (_, i) => entry(`ok-${String(i).padStart(4, '0')}`, healthyReport()));
    inputs.push(entry('zz-broken', null));
    const overview = buildFleetOverview(inputs, FLEET_NOW_MS);
    expect(overview.pools).toHaveLength(MAX_FLEET_ROWS);
    expect(overview.totalPools).toBe(MAX_FLEET_ROWS + 41);
    expect(overview.omittedPools).toBe(41);
    expect(overview.pools[0]!.pool).toBe('zz-broken');
    expect(overview.counts.bySeverity.ok).toBe(MAX_FLEET_ROWS + 40);
    expect(overview.counts.byStatus.error).toBe(1);
  });

  it('counts pools by status, health and severity, with open incidents and poisoned pools', () => {
    const overview = buildFleetOverview(mixedFleet(), FLEET_NOW_MS);
    expect(overview.totalPools).toBe(8);
    expect(overview.counts.byStatus).toEqual({ error: 1, drift: 2, 'no-data': 2, inconclusive: 1, ok: 2 });
    expect(overview.counts.byHealth).toEqual({ ok: 4, outage: 1, failover: 1, drift: 1 });
    expect(Object.values(overview.counts.bySeverity).reduce((a, b) => a + b, 0)).toBe(8);
    expect(overview.counts.openIncidents).toBe(1);
    expect(overview.counts.poisoned).toBe(1);
    expect(overview.generatedAt).toBe(new Date(FLEET_NOW_MS).toISOString());
    expect(overview.schemaVersion).toBe(1);
  });

  it('turns a missing report into an error row that says why, and ignores a poison count of zero', () => {
    const rows = buildFleetOverview(
      [entry('broken', null, { error: '  ' }), entry('fine', healthyReport(), { poisoned: { count: 0, lastAt: null, reason: null } })],
      FLEET_NOW_MS,
    ).pools;
    expect(rows[0]).toMatchObject({ pool: 'broken', status: 'error', health: null, severity: 'error', error: 'no reason was given', sparkline: null, dataAsOf: null });
    expect(rows[0]!.headline).toBe('The report could not be built: no reason was given.');
    expect(rows[1]).toMatchObject({ pool: 'fine', severity: 'ok', poisoned: null });
  });

  it('charts the last hour of the history: shares per run in backend order, with the expected shares', () => {
    const report = healthyReport();
    const row = buildFleetOverview([entry('story', report)], FLEET_NOW_MS).pools[0]!;
    const spark = row.sparkline!;
    expect(spark.pointsAre).toBe('run');
    expect(spark.backends.map((b) => b.name)).toEqual(report.backends.map((b) => b.name));
    expect(spark.backends.map((b) => b.expectedShare)).toEqual(report.backends.map((b) => b.expectedShare));
    expect(spark.points).toHaveLength(report.history!.points.length);
    // Run 8 of the story drifted: every answer from West US.
    expect(spark.points[8]!.shares).toEqual([1, 0]);
    expect(spark.points[0]!.shares[0]).toBeCloseTo(21 / 31, 10);
    expect(spark.fromMs).toBe(report.history!.points[0]!.startMs);
    expect(row.dataAsOf).toBe(report.dataAsOf);
  });

  it('bounds the sparkline: the newest points within the hour, the first backends, points without answers as gaps', () => {
    const base = healthyReport();
    const toMs = base.history!.toMs;
    const points: ReportHistoryPoint[] = Array.from({ length: 200 }, (_, i) => ({
      startMs: toMs - (199 - i) * 30_000,
      answered: i === 199 ? 0 : 10,
      shares: Object.fromEntries(Array.from({ length: 9 }, (_, b) => [`b${b}`, i === 199 ? null : 1 / 9])),
    }));
    const backends = Array.from({ length: 9 }, (_, b) => ({ ...base.backends[0]!, name: `b${b}`, expectedShare: 1 / 9 }));
    const report: Report = { ...base, backends, history: { ...base.history!, points } };
    const spark = buildFleetOverview([entry('big', report)], FLEET_NOW_MS).pools[0]!.sparkline!;
    expect(spark.points).toHaveLength(MAX_SPARKLINE_POINTS);
    expect(spark.toMs).toBe(toMs);
    expect(spark.fromMs).toBe(toMs - (MAX_SPARKLINE_POINTS - 1) * 30_000);
    expect(spark.backends).toHaveLength(MAX_SPARKLINE_BACKENDS);
    expect(spark.omittedBackends).toBe(9 - MAX_SPARKLINE_BACKENDS);
    expect(spark.points[spark.points.length - 1]!.shares).toEqual(Array(MAX_SPARKLINE_BACKENDS).fill(null));
    // Points older than an hour before the history's end are left out even when fewer than the limit.
    const old: Report = { ...base, history: { ...base.history!, points: points.slice(0, 50) } };
    expect(buildFleetOverview([entry('old', old)], FLEET_NOW_MS).pools[0]!.sparkline).toBeNull();
  });

  it('has no sparkline and no data time for a pool with nothing recorded', () => {
    const row = buildFleetOverview([entry('empty', noDataReport('empty'))], FLEET_NOW_MS).pools[0]!;
    expect(row).toMatchObject({ status: 'no-data', severity: 'no-data', sparkline: null, dataAsOf: null, incident: null });
  });

  it('is empty and says so for an empty fleet', () => {
    expect(buildFleetOverview([], FLEET_NOW_MS)).toMatchObject({ totalPools: 0, omittedPools: 0, worst: null, pools: [] });
  });
});
