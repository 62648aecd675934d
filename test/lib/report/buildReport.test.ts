import { buildReport, healthOf, isConclusive, toRunVerdictTelemetry } from '../../../src/lib/report/buildReport';
import type { Report } from '../../../src/lib/report/types';
import { HOUR_FROM_MS, inputOf, labBins, labPool, windowOf } from './fixtures';

function kinds(report: Report, severity?: string): string[] {
  return report.findings.filter((f) => severity === undefined || f.severity === severity).map((f) => f.kind);
}

describe('buildReport', () => {
  describe('a pool that follows its weights', () => {
    const report = buildReport(
      inputOf({
        windows: [
          windowOf({
            name: 'hour',
            status: 'ok',
            answered: { 'openai-instance1': 476, 'openai-instance2': 244 },
            latency: { 'openai-instance1': [410, 980], 'openai-instance2': [520, 1400] },
            bins: labBins(),
          }),
        ],
      }),
    );

    it('states the observed and expected share of every backend with the probe count in the headline', () => {
      expect(report.status).toBe('ok');
      expect(report.headline).toBe(
        'openai-instance-backend-pool follows its weights: every share within ±5 points at 95% confidence (exact test); West US 66.1% (expected 66.7%), East US 33.9% (expected 33.3%) over 720 probes in the last hour.',
      );
    });

    it('merges the pool definition, the evidence and the assessment per backend in pool order', () => {
      expect(report.backends.map((b) => [b.name, b.region, b.priority, b.weight, b.observedCount])).toEqual([
        ['openai-instance1', 'West US', 1, 2, 476],
        ['openai-instance2', 'East US', 1, 1, 244],
      ]);
      const east = report.backends[1]!;
      expect(east.expectedShare).toBeCloseTo(1 / 3, 12);
      expect(east.observedShare).toBeCloseTo(244 / 720, 12);
      expect(east.deviationInPoints).toBeCloseTo((244 / 720 - 1 / 3) * 100, 9);
      expect(east.latencyP50InMs).toBe(520);
      expect(east.latencyP95InMs).toBe(1400);
      expect(east.interval?.confidence).toBe(0.99);
    });

    it('has no alert finding and ok health', () => {
      expect(kinds(report, 'alert')).toEqual([]);
      expect(report.health).toBe('ok');
      expect(healthOf(report)).toBe('ok');
    });

    it('computes the share of each backend per time bin', () => {
      expect(report.timeline).toHaveLength(12);
      expect(report.timeline[0]).toEqual({
        startMs: HOUR_FROM_MS,
        answered: 60,
        shares: { 'openai-instance1': 40 / 60, 'openai-instance2': 20 / 60 },
      });
    });

    it('describes the primary window with ISO timestamps', () => {
      expect(report.window).toEqual({
        name: 'hour',
        fromMs: HOUR_FROM_MS,
        toMs: HOUR_FROM_MS + 3_600_000,
        from: '2026-11-25T01:00:00.000Z',
        to: '2026-11-25T02:00:00.000Z',
      });
      expect(report.generatedAt).toBe('2026-11-25T02:00:00.000Z');
      expect(report.dataSource).toEqual({ kind: 'probes', degraded: null });
    });
  });

  it('reports weight drift with the drifting backend, its share and the expected share', () => {
    const report = buildReport(
      inputOf({
        windows: [windowOf({ name: 'hour', status: 'drift', answered: { 'openai-instance1': 590, 'openai-instance2': 130 }, flagged: ['openai-instance1', 'openai-instance2'] })],
      }),
    );
    expect(report.status).toBe('drift');
    expect(report.headline).toMatch(/^Weight drift: /);
    expect(report.headline).toContain('East US answered 18.1%, expected 33.3%');
    expect(report.headline).toContain('720 answers in the last hour');
    const drift = report.findings.filter((f) => f.kind === 'weight-drift');
    expect(drift.map((f) => [f.backend, f.severity])).toEqual([
      ['openai-instance1', 'alert'],
      ['openai-instance2', 'alert'],
    ]);
    expect(drift[1]!.message).toContain('15.3 points below');
    expect(healthOf(report)).toBe('drift');
  });

  it('reports a failover with the answer count and the priority of the backup', () => {
    const report = buildReport(
      inputOf({
        pool: labPool({ withBackup: true }),
        // assessWindow flags a backup that answered: the report must still say it once, as failover.
        windows: [windowOf({ name: 'hour', status: 'drift', answered: { 'openai-instance1': 450, 'openai-instance2': 229, 'openai-backup': 41 }, flagged: ['openai-backup'] })],
      }),
    );
    expect(report.headline).toBe('Failover: 41 answers came from priority-2 backend Central US in the last hour (of 720 answers).');
    expect(report.failover?.count).toBe(41);
    expect(report.findings.find((f) => f.kind === 'failover')).toMatchObject({ severity: 'alert', backend: 'openai-backup' });
    // One finding per cause: no weight-drift finding for the backup as well.
    expect(report.findings.filter((f) => f.kind === 'weight-drift')).toEqual([]);
    // What is observed, and the possible causes: never one asserted cause.
    const message = report.findings.find((f) => f.kind === 'failover')!.message;
    expect(message).toMatch(/which should get none while the preferred group is available\. Possible causes: .*circuit breaker.*removed or disabled.*differs from its definition.*cannot tell which\.$/);
    expect(message).not.toMatch(/was unavailable/);
    const backup = report.backends.find((b) => b.name === 'openai-backup')!;
    expect(backup.expectedShare).toBe(0);
    expect(backup.observedShare).toBeCloseTo(41 / 720, 12);
    expect(healthOf(report)).toBe('failover');
  });

  it('says what an inconclusive window establishes and how many more answers it needs, and does not open an incident', () => {
    const meaning = 'No backend is missing: no share is off by more than 11.2 points (each bound at 95% confidence); shares not yet pinned within ±5 points: about 960 more answers needed to confirm.';
    const report = buildReport(
      inputOf({ windows: [windowOf({ name: 'hour', status: 'inconclusive', answered: { 'openai-instance1': 40, 'openai-instance2': 20 }, probesNeeded: 960, meaning })] }),
    );
    expect(report.headline).toBe(
      'Inconclusive for openai-instance-backend-pool (60 answers in the last hour): no backend is missing: no share is off by more than 11.2 points (each bound at 95% confidence); shares not yet pinned within ±5 points: about 960 more answers needed to confirm.',
    );
    expect(report.headline).not.toMatch(/follows its weights/);
    expect(report.windows[0]).toMatchObject({ status: 'inconclusive', probesNeeded: 960, meaning, deadBackendRuledOut: true, decidedBy: 'fixed-n' });
    expect(report.windows[0]?.decidedByText).toMatch(/^the fixed-N exact tests on all 60 identified answers/);
    expect(healthOf(report)).toBe('ok');
  });

  it('says no data yet when no probe was recorded', () => {
    const report = buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'no-data', answered: {} })] }));
    expect(report.status).toBe('no-data');
    expect(report.headline).toBe('No data yet: no probes recorded for openai-instance-backend-pool in the last hour.');
    expect(report.backends.every((b) => b.observedShare === null)).toBe(true);
  });

  it('blames the subscription key when every probe is rejected by the gateway with 401', () => {
    const report = buildReport(
      inputOf({ windows: [windowOf({ name: 'hour', status: 'no-data', answered: {}, unattributedByStatus: { '401': 30 } })] }),
    );
    expect(report.headline).toBe('No data yet: 30 probes in the last hour, none identified as a backend of openai-instance-backend-pool (30 failed, mostly 401).');
    const auth = report.findings.find((f) => f.kind === 'auth-failure');
    expect(auth?.backend).toBeUndefined();
    expect(auth?.message).toContain('subscription key');
  });

  it('reports no-data with the gap named when the primary window is missing', () => {
    const report = buildReport(
      inputOf({ windows: [windowOf({ name: 'run', status: 'ok', answered: { 'openai-instance1': 40, 'openai-instance2': 20 } })], errorsNote: 'hour window: query timed out after 30 s' }),
    );
    expect(report.status).toBe('no-data');
    expect(report.headline).toBe('No data yet: the hour window of openai-instance-backend-pool could not be read.');
    expect(report.dataSource.degraded).toBe('The hour window is missing from the evidence. hour window: query timed out after 30 s');
    expect(report.windows.map((w) => w.name)).toEqual(['run']);
    expect(kinds(report)).toContain('degraded-data');
  });

  it('raises a weight-drift alert from the day window while the hour window is fine', () => {
    const report = buildReport(
      inputOf({
        windows: [
          windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 470, 'openai-instance2': 250 } }),
          windowOf({ name: 'day', status: 'drift', answered: { 'openai-instance1': 10_800, 'openai-instance2': 6_480 }, flagged: ['openai-instance2'] }),
        ],
      }),
    );
    expect(report.status).toBe('ok');
    expect(healthOf(report)).toBe('drift');
    expect(report.headline).toBe('Weight drift: East US answered 37.5% in the last day, expected 33.3% (17,280 answers).');
    expect(report.findings.find((f) => f.kind === 'weight-drift')?.message).toContain('in the last day');
    expect(report.windows.map((w) => [w.name, w.status])).toEqual([
      ['hour', 'ok'],
      ['day', 'drift'],
    ]);
  });

  it('turns every deployed-vs-declared difference into a config-drift alert', () => {
    const report = buildReport(
      inputOf({
        windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })],
        configDrift: {
          checkedAt: '2026-11-25T01:59:00.000Z',
          differences: [{ resource: 'openai-instance-backend-pool', field: 'pool.members[openai-instance2].weight', declared: 1, deployed: 3 }],
        },
      }),
    );
    const finding = report.findings.find((f) => f.kind === 'config-drift');
    expect(finding).toEqual({
      kind: 'config-drift',
      severity: 'alert',
      backend: 'openai-instance-backend-pool',
      message: 'Deployed openai-instance-backend-pool pool.members[openai-instance2].weight is 3; declared 1.',
    });
    expect(healthOf(report)).toBe('config-drift');
    expect(report.headline).toMatch(/^Config drift: the deployed pool differs from its definition in 1 field\(s\)/);
  });

  it('does not claim config drift when the deployed definition could not be read', () => {
    const report = buildReport(
      inputOf({
        windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })],
        configDrift: { checkedAt: '2026-11-25T01:59:00.000Z', differences: [], error: { message: 'ARM answered 403 AuthorizationFailed', status: 403 } },
      }),
    );
    expect(report.findings.find((f) => f.kind === 'config-drift')?.severity).toBe('warning');
    expect(healthOf(report)).toBe('ok');
  });

  it('points at the role assignment when an identified backend answers 401', () => {
    const report = buildReport(
      inputOf({
        windows: [
          windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 230 }, errorsByBackend: { 'openai-instance2': { '401': 14 } } }),
        ],
      }),
    );
    const auth = report.findings.find((f) => f.kind === 'auth-failure');
    expect(auth?.backend).toBe('openai-instance2');
    expect(auth?.message).toContain("'Cognitive Services OpenAI User'");
    expect(auth?.message).toContain('14 probe(s)');
    expect(report.backends[1]!.errorsByStatus).toEqual({ '401': 14 });
  });

  it('lists 429s and 5xx per backend and unattributed timeouts as warnings', () => {
    const report = buildReport(
      inputOf({
        windows: [
          windowOf({
            name: 'hour',
            status: 'ok',
            answered: { 'openai-instance1': 476, 'openai-instance2': 200 },
            errorsByBackend: { 'openai-instance2': { '429': 41, '500': 3 } },
            unattributedByStatus: { '503': 4 },
            timeout: 2,
          }),
        ],
      }),
    );
    const errors = report.findings.filter((f) => f.kind === 'errors');
    expect(errors.map((f) => [f.backend, f.severity, f.message])).toEqual([
      ['openai-instance2', 'warning', 'East US answered 41 × 429, 3 × 500 in the last hour.'],
      [undefined, 'warning', "4 × 503, 2 timeout(s) in the last hour could not be attributed to a backend (e.g. the gateway's own 503 when every member is unavailable)."],
    ]);
    expect(report.errors).toEqual({ byStatus: { '429': 41, '500': 3, '503': 4 }, timeout: 2, network: 0 });
  });

  it('explains unidentified answers with their raw header values', () => {
    const report = buildReport(
      inputOf({
        windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 232 }, unidentified: { 'Central US': 10, '': 2 } })],
      }),
    );
    expect(report.unidentified.count).toBe(12);
    const f = report.findings.find((x) => x.kind === 'unidentified');
    expect(f?.message).toBe(
      '12 of 720 successful answers in the last hour matched no backend (x-ms-region: "Central US" × 10, (header absent) × 2); they are left out of the shares.',
    );
  });

  it('warns that two backends in one region cannot be told apart by x-ms-region', () => {
    const pool = labPool();
    const sameRegion = { ...pool, backends: pool.backends.map((b) => ({ ...b, region: 'East US' })) };
    const report = buildReport(
      inputOf({ pool: sameRegion, windows: [windowOf({ pool: sameRegion, name: 'hour', status: 'inconclusive', answered: {} })] }),
    );
    expect(report.findings.find((f) => f.kind === 'unidentified')?.message).toContain('openai-instance1 and openai-instance2 are in the same region');
    expect(report.backends.map((b) => b.name)).toEqual(['openai-instance1', 'openai-instance2']);
  });

  it('warns about over-dispersion and says standard errors are inflated by √φ', () => {
    const report = buildReport(
      inputOf({
        windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })],
        dispersion: { phi: 1.96, runs: 12, warnAbove: 1.25 },
      }),
    );
    expect(report.dispersion).toEqual({ phi: 1.96, runs: 12, warnAbove: 1.25, overdispersed: true });
    const f = report.findings.find((x) => x.kind === 'overdispersion');
    expect(f?.severity).toBe('warning');
    expect(f?.message).toContain('√φ = 1.40');
  });

  it('does not warn when φ is within bounds', () => {
    const report = buildReport(
      inputOf({
        windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })],
        dispersion: { phi: 1.1, runs: 12, warnAbove: 1.25 },
      }),
    );
    expect(kinds(report)).not.toContain('overdispersion');
    expect(report.dispersion?.overdispersed).toBe(false);
  });

  it('reports a failed deploy, policy warnings, degraded evidence and the probe budget', () => {
    const report = buildReport(
      inputOf({
        windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 }, degraded: 'partial query failure' })],
        lastDeploy: {
          mode: 'deploy',
          status: 'failed',
          startedAt: '2026-11-25T00:00:00.000Z',
          finishedAt: '2026-11-25T00:00:02.000Z',
          actions: [
            {
              resource: 'openai-instance2',
              kind: 'backend',
              plan: 'update',
              result: 'failed',
              changedFields: ['url'],
              error: { message: 'PUT backends/openai-instance2 returned 403 AuthorizationFailed', status: 403, code: 'AuthorizationFailed' },
            },
          ],
          summary: '1 backend failed',
        },
        policy: [{ code: 'retry-matches-reason-text', message: 'The retry condition matches the 503 reason text, which changed in 2026.' }],
        budget: { probesPerRun: 60, runsPerHour: 12, plan: [{ driftInPoints: 10, window: 'hour', probesNeeded: 625, detectable: true }] },
      }),
    );
    expect(report.findings.find((f) => f.kind === 'deploy-failed')?.message).toBe(
      'The last deploy (2026-11-25T00:00:02.000Z) failed for openai-instance2: PUT backends/openai-instance2 returned 403 AuthorizationFailed.',
    );
    expect(report.findings.find((f) => f.kind === 'policy')?.message).toContain('retry-matches-reason-text');
    expect(report.dataSource.degraded).toBe('hour window: partial query failure');
    expect(report.budget).toEqual({
      probesPerRun: 60,
      runsPerHour: 12,
      probesPerHour: 720,
      plan: [{ driftInPoints: 10, window: 'hour', probesNeeded: 625, detectable: true }],
    });
    expect(healthOf(report)).toBe('ok');
  });

  it('ranks failover above drift above config drift', () => {
    const base = { status: 'ok' as const };
    const f = (kind: string) => ({ kind, severity: 'alert' as const, message: kind });
    expect(healthOf({ ...base, findings: [f('config-drift'), f('weight-drift'), f('failover')] })).toBe('failover');
    expect(healthOf({ ...base, findings: [f('config-drift'), f('weight-drift')] })).toBe('drift');
    expect(healthOf({ ...base, findings: [f('config-drift')] })).toBe('config-drift');
    expect(healthOf({ ...base, findings: [{ kind: 'failover', severity: 'warning', message: '' }] })).toBe('ok');
    expect(healthOf({ status: 'drift', findings: [] })).toBe('drift');
  });
});

describe('toRunVerdictTelemetry', () => {
  it('carries the shares, the worst deviation and the health of the report', () => {
    const report = buildReport(
      inputOf({ windows: [windowOf({ name: 'hour', status: 'drift', answered: { 'openai-instance1': 590, 'openai-instance2': 130 }, flagged: ['openai-instance2'] })] }),
    );
    const t = toRunVerdictTelemetry(report, 'run-1', 720, 14_400);
    expect(t).toMatchObject({ runId: 'run-1', pool: 'openai-instance-backend-pool', status: 'drift', probesSent: 720, tokensUsed: 14_400, health: 'drift' });
    expect(t.shares['openai-instance2']).toBeCloseTo(130 / 720, 12);
    expect(t.worstDeviationInPoints).toBeCloseTo((1 / 3 - 130 / 720) * 100, 9);
  });

  it('reports a worst deviation of 0 and null shares without data', () => {
    const report = buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'no-data', answered: {} })] }));
    const t = toRunVerdictTelemetry(report, 'run-2', 0, 0);
    expect(t.worstDeviationInPoints).toBe(0);
    expect(t.shares).toEqual({ 'openai-instance1': null, 'openai-instance2': null });
    expect(t.health).toBe('ok');
  });
});

describe('a total outage', () => {
  const report = buildReport(
    inputOf({ windows: [windowOf({ name: 'run', status: 'no-data', answered: {}, unattributedByStatus: { '503': 50 }, timeout: 4 })], primaryWindow: 'run' }),
  );

  it('is an outage finding with the failures counted', () => {
    expect(report.findings.find((f) => f.kind === 'outage')).toEqual({
      kind: 'outage',
      severity: 'alert',
      message: 'Every one of the 54 probes in this run failed (50 × 503, 4 timeout(s)): the pool answered nothing, so its split cannot be judged.',
    });
  });

  it('opens an outage incident (nobody is served), which is conclusive', () => {
    expect(healthOf(report)).toBe('outage');
    expect(isConclusive(report)).toBe(true);
  });
});

describe('isConclusive', () => {
  const ok = buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })] }));
  const inconclusive = buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'inconclusive', answered: { 'openai-instance1': 7, 'openai-instance2': 5 } })] }));
  const drift = buildReport(
    inputOf({ windows: [windowOf({ name: 'hour', status: 'drift', answered: { 'openai-instance1': 590, 'openai-instance2': 130 }, flagged: ['openai-instance2'] })] }),
  );

  it('holds for an ok verdict and for any bad health, not for an ok that only lacks data', () => {
    expect([isConclusive(ok), isConclusive(drift), isConclusive(inconclusive)]).toEqual([true, true, false]);
  });

  it('counts an inconclusive window that rules out a missing backend as a clean run (a healthy run of the default size)', () => {
    const clean = buildReport(
      inputOf({ windows: [windowOf({ name: 'hour', status: 'inconclusive', answered: { 'openai-instance1': 66, 'openai-instance2': 34 }, deadBackendRuledOut: true })] }),
    );
    const thin = buildReport(
      inputOf({ windows: [windowOf({ name: 'hour', status: 'inconclusive', answered: { 'openai-instance1': 66, 'openai-instance2': 34 }, deadBackendRuledOut: false })] }),
    );
    expect([isConclusive(clean), isConclusive(thin)]).toEqual([true, false]);
  });
});

describe('buildReport: delayed sources and zero-probe verification', () => {
  it('states how far the data is complete and which runs are still arriving', () => {
    const hour = windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 400, 'openai-instance2': 200 } });
    const completeness = { completeUpToMs: HOUR_FROM_MS + 3_000_000, arriving: [{ runId: 'run-9', received: 12, probesSent: 60 }] };
    const report = buildReport(inputOf({ windows: [{ ...hour, evidence: { ...hour.evidence, completeness } }] }));
    expect(report.dataSource.completeUpTo).toBe(new Date(HOUR_FROM_MS + 3_000_000).toISOString());
    expect(report.dataSource.arrivingRuns).toEqual([{ runId: 'run-9', received: 12, probesSent: 60 }]);
  });

  it('says when real traffic alone is conclusive, and when it is not', () => {
    const hour = windowOf({ name: 'hour', status: 'inconclusive', answered: { 'openai-instance1': 4, 'openai-instance2': 2 } });
    const traffic = windowOf({ name: 'all-traffic', status: 'ok', answered: { 'openai-instance1': 4000, 'openai-instance2': 2000 } });
    const conclusive = buildReport(inputOf({ windows: [hour, traffic] }));
    expect(conclusive.dataSource.allTraffic).toEqual({ status: 'ok', conclusive: true, requests: traffic.evidence.total });
    const thin = windowOf({ name: 'all-traffic', status: 'inconclusive', answered: { 'openai-instance1': 4, 'openai-instance2': 2 } });
    expect(buildReport(inputOf({ windows: [hour, thin] })).dataSource.allTraffic).toMatchObject({ status: 'inconclusive', conclusive: false });
    expect(buildReport(inputOf({ windows: [hour] })).dataSource.allTraffic).toBeUndefined();
  });
});
