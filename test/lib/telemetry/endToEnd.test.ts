import type { ProbeRecord, ProbeRunInfo } from '../../../src/lib/probe/types';
import type { TimeWindow, WindowEvidence } from '../../../src/lib/store/types';
import { createAppInsightsSink } from '../../../src/lib/telemetry/createAppInsightsSink';
import { createLogsEvidenceSource, createLogsQueryClient } from '../../../src/lib/telemetry/createLogsEvidenceSource';
import { fakeCredential } from '../../fakes/fakeCredential';
import { stopAppInsightsBackgroundWork } from '../../fakes/stopAppInsightsBackgroundWork';
import { startFakeIngestion, type FakeIngestion, type TelemetryEnvelope } from '../../fakes/fakeIngestion';
import { startFakeLogAnalytics, type FakeLogAnalytics } from '../../fakes/fakeLogAnalytics';
import { queryNameOf } from '../../../src/lib/telemetry/queries';
import { answerFromEnvelopes, answerGatewayLogsFromRows, answerTrafficFromRows, type ApimDependencyRow, type GatewayLogRow } from './appInsightsQueryEvaluator';
import { labPool } from './labPool';
import { makeRun, seededRandom } from './probeRecords';

// The SDK's statsbeat would probe the instance-metadata address: off for this file (jest copies process.env per file).
const savedStatsbeat = process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

const ROLE = 'e2e-verifier';
const SERVICE = 'apim-nov26';
const T0 = Date.UTC(2026, 10, 25, 1, 0, 0);
const HOUR = 3_600_000;
const MINUTE = 60_000;
const BIN = 5 * MINUTE;
const WINDOW: TimeWindow = { fromMs: T0, toMs: T0 + HOUR };
const pool = labPool();

interface RunPlan {
  readonly info: ProbeRunInfo;
  readonly records: ProbeRecord[];
  readonly finish: 'complete' | 'incomplete' | null;
}

const plan: RunPlan[] = [
  // Started 30 s before the window: its probes from exactly T0 on count, the earlier ones do not.
  run('run-0', T0 - 30_000, 60, 'complete'),
  run('run-1', T0 + MINUTE, 60, 'complete'),
  run('run-2', T0 + 20 * MINUTE, 60, 'incomplete'),
  // Killed mid-run: never finished, 20 minutes before the window end → incomplete.
  run('run-3', T0 + 40 * MINUTE, 30, null),
  // Finished 9 minutes before the window end, but 4 of its 20 probe records have not been ingested yet:
  // still arriving, so left out of every count (never a silent shortfall).
  run('run-5', T0 + 50 * MINUTE, 20, 'complete'),
  // Still running at the window end (no finish marker yet): its 5 probes inside the window are left out too.
  run('run-4', T0 + HOUR - 5_000, 10, null),
];
/** Runs whose records are still arriving when the window is read. */
const ARRIVING = new Set(['run-4', 'run-5']);
/** Probe records of run-5 the Logs service has not ingested yet. */
const notYetIngested = (e: TelemetryEnvelope): boolean =>
  e.data.baseData.properties?.runId === 'run-5' && Number(e.data.baseData.properties?.probeIndex) >= 16 && e.data.baseData.name === 'PoolProbe';

function run(runId: string, startMs: number, count: number, finish: RunPlan['finish']): RunPlan {
  return {
    info: { runId, pool: pool.name, startedAtMs: startMs, trigger: 'timer' },
    records: makeRun(runId, count, startMs, runId.length * 97 + startMs / 1000, 1000),
    finish,
  };
}

/** What the local store gives for the same records, computed by hand from the records and the run plan. */
function expectedEvidence(): WindowEvidence {
  const names = pool.backends.map((b) => b.name);
  const inWindow = plan
    .filter((p) => !ARRIVING.has(p.info.runId))
    .flatMap((p) => p.records)
    .filter((r) => r.startedAtMs >= WINDOW.fromMs && r.startedAtMs < WINDOW.toMs);
  const ok = inWindow.filter((r) => r.kind === 'ok');
  const identified = (r: ProbeRecord): boolean => r.backend !== null && names.includes(r.backend);
  const count = <T>(items: readonly T[], key: (item: T) => string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
    return out;
  };
  const nearestRank = (values: number[], q: number): number | null => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.length === 0 ? null : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
  };
  const http = inWindow.filter((r) => r.kind === 'http');
  const bins = new Map<number, ProbeRecord[]>();
  for (const r of inWindow) {
    const start = WINDOW.fromMs + Math.floor((r.startedAtMs - WINDOW.fromMs) / BIN) * BIN;
    bins.set(start, [...(bins.get(start) ?? []), r]);
  }
  const runs = plan
    .map((p) => ({ p, records: inWindow.filter((r) => r.runId === p.info.runId) }))
    .filter(({ records }) => records.length > 0)
    .map(({ p, records }) => ({
      runId: p.info.runId,
      // The run's own start when it lies in the window, else its first probe in the window.
      startedAtMs: p.info.startedAtMs >= WINDOW.fromMs ? p.info.startedAtMs : Math.min(...records.map((r) => r.startedAtMs)),
      answered: Object.fromEntries(names.map((n) => [n, records.filter((r) => r.kind === 'ok' && r.backend === n).length])),
    }));
  return {
    window: WINDOW,
    source: 'probes',
    total: inWindow.length,
    answered: ok.length,
    unidentified: { count: ok.filter((r) => !identified(r)).length, values: count(ok.filter((r) => !identified(r)), (r) => r.identifierValue ?? '') },
    backends: names.map((name) => ({
      backend: name,
      answered: ok.filter((r) => r.backend === name).length,
      errorsByStatus: count(
        http.filter((r) => r.backend === name),
        (r) => String(r.status),
      ),
      latencyP50InMs: nearestRank(inWindow.filter((r) => r.backend === name).map((r) => r.latencyInMs), 0.5),
      latencyP95InMs: nearestRank(inWindow.filter((r) => r.backend === name).map((r) => r.latencyInMs), 0.95),
    })),
    errors: {
      byStatus: count(http, (r) => String(r.status)),
      timeout: inWindow.filter((r) => r.kind === 'timeout').length,
      network: inWindow.filter((r) => r.kind === 'network').length,
    },
    bins: [...bins.entries()]
      .sort(([a], [b]) => a - b)
      .map(([startMs, records]) => ({
        startMs,
        answered: count(
          records.filter((r) => r.kind === 'ok' && identified(r)),
          (r) => r.backend ?? '',
        ),
        unidentified: records.filter((r) => r.kind === 'ok' && !identified(r)).length,
        failed: records.filter((r) => r.kind !== 'ok').length,
      })),
    binInMs: BIN,
    runs,
    // run-2 reported itself incomplete; run-3 never finished and started long before the window end.
    incompleteRuns: 2,
    tokensUsed: inWindow.reduce((sum, r) => sum + (r.totalTokens ?? 0), 0),
    degraded: undefined,
    // Complete up to the start of the earliest run still arriving.
    completeness: {
      completeUpToMs: T0 + 50 * MINUTE,
      arriving: [
        { runId: 'run-5', received: 16, probesSent: 20 },
        { runId: 'run-4', received: 10, probesSent: null },
      ],
    },
  };
}

let ingestion: FakeIngestion;
const rowsReturned: { name: string; rows: number }[] = [];
let logs: FakeLogAnalytics;

beforeAll(async () => {
  ingestion = await startFakeIngestion();
  logs = await startFakeLogAnalytics((query) => {
    // What the tables hold: late records not yet there, and some records twice (an SDK resend after a lost answer).
    const ingested = ingestion.envelopes().filter((e) => !notYetIngested(e));
    const answer = answerFromEnvelopes([...ingested, ...ingested.slice(0, 40)], query);
    const tables = (answer.body as { tables?: { rows: unknown[] }[] } | undefined)?.tables ?? [];
    rowsReturned.push({ name: queryNameOf(query.query) ?? '?', rows: tables.reduce((sum, t) => sum + t.rows.length, 0) });
    return answer;
  });

  const sink = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: ROLE, pool, apimService: SERVICE, offlineStorage: false });
  for (const p of plan) {
    await sink.beginRun(p.info);
    await Promise.all(p.records.map((record) => sink.recordProbe(record)));
    if (p.finish !== null) {
      const last = p.records[p.records.length - 1]!;
      await sink.finishRun({
        runId: p.info.runId,
        finishedAtMs: last.startedAtMs + last.latencyInMs,
        state: p.finish,
        probesSent: p.records.length,
        tokensUsed: p.records.reduce((sum, r) => sum + (r.totalTokens ?? 0), 0),
        verdict: 'ok',
        stoppedEarly: false,
      });
    }
  }
  await sink.close();

  // Noise the queries must exclude: another verifier (role) on the same pool, another pool under our role, and
  // the same pool name and role in another APIM service sharing this App Insights resource.
  const otherRole = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: 'someone-else', pool, apimService: SERVICE, offlineStorage: false });
  const otherPool = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: ROLE, pool: labPool('other-pool'), apimService: SERVICE, offlineStorage: false });
  const otherService = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: ROLE, pool, apimService: 'apim-other', offlineStorage: false });
  for (const record of makeRun('noise', 10, T0 + 10 * MINUTE, 5)) {
    await otherRole.recordProbe(record);
    await otherPool.recordProbe(record);
    await otherService.recordProbe(record);
  }
  await otherRole.close();
  await otherPool.close();
  await otherService.close();
  // The SDK's settings poller (first poll 5–15 s after an exporter starts) would leave loopback.
  stopAppInsightsBackgroundWork();
});

afterAll(async () => {
  stopAppInsightsBackgroundWork();
  await logs.close();
  await ingestion.close();
  if (savedStatsbeat === undefined) delete process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
  else process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = savedStatsbeat;
});

describe('probe records → App Insights sink → ingestion → Logs queries → window evidence', () => {
  it('captured every probe of every run plus the noise', () => {
    const probes = ingestion.envelopes().filter((e) => e.data.baseType === 'RemoteDependencyData' && e.data.baseData.name === 'PoolProbe');
    expect(probes).toHaveLength(plan.reduce((sum, p) => sum + p.records.length, 0) + 30);
  });

  it('reads from a workspace exactly the counts the local store gives for the same records', async () => {
    const source = createLogsEvidenceSource({
      client: createLogsQueryClient({ credential: fakeCredential(), endpoint: logs.endpoint }),
      target: { kind: 'workspace', workspaceId: '5e2b8a56-9f0e-4c1e-8f3a-0d2b7c6e4a11' },
      pool,
      cloudRoleName: ROLE,
      apimService: SERVICE,
      timeoutInMs: 10_000,
    });
    const evidence = await source.readWindow(pool.name, WINDOW, BIN);
    const expected = expectedEvidence();
    // Sanity of the scenario itself: boundaries and noise matter.
    expect(expected.total).toBe(30 + 60 + 60 + 30);
    expect(expected.unidentified.count).toBeGreaterThan(0);
    expect(Object.keys(expected.errors.byStatus).sort()).toEqual(['429', '503']);
    expect(evidence).toEqual(expected);
  });

  it('reads the same from the App Insights resource (workspace schema, resource-centric path without a double slash)', async () => {
    const source = createLogsEvidenceSource({
      client: createLogsQueryClient({ credential: fakeCredential(), endpoint: logs.endpoint }),
      target: { kind: 'appinsights', resourceId: '/subscriptions/0000/resourceGroups/rg/providers/microsoft.insights/components/appi' },
      pool,
      cloudRoleName: ROLE,
      apimService: SERVICE,
      timeoutInMs: 10_000,
    });
    expect(await source.readWindow(pool.name, WINDOW, BIN)).toEqual(expectedEvidence());
  });

  it('transfers rows that grow with backends × bins (× runs), not with probes', () => {
    expect(logs.server.requests).toHaveLength(10);
    const bins = HOUR / BIN;
    // Outcomes per (backend or none): ok, 429, 503, timeout, network — at most 3 identities × 5 outcomes.
    const limits: Record<string, number> = { probeSummary: 3 * 5 + 2, probeLatency: 2, probeBins: bins * 3 * 4, probeRuns: plan.length * 3 * 4, runStates: plan.length };
    for (const { name, rows } of rowsReturned) {
      expect(rows).toBeLessThanOrEqual(limits[name]!);
    }
    const probes = plan.reduce((sum, p) => sum + p.records.length, 0);
    expect(rowsReturned.filter((r) => r.name === 'probeSummary').every((r) => r.rows < probes / 10)).toBe(true);
  });
});

describe('APIM backend calls → all-traffic queries → window evidence', () => {
  const host1 = 'aoai-nov26-instance1.openai.azure.com';
  const host2 = 'aoai-nov26-instance2.openai.azure.com';
  const truth = { total: 0, answered: { 'openai-instance1': 0, 'openai-instance2': 0 }, status429: 0, network: 0 };
  const bins = new Map<number, { ok1: number; ok2: number; failed: number }>();
  const rows: ApimDependencyRow[] = [];

  beforeAll(() => {
    const random = seededRandom(42);
    const targets1 = [host1, `${host1}:443`, `https://${host1}/openai/deployments/gpt-4o/chat/completions`];
    for (let i = 0; i < 1500; i += 1) {
      const timestampMs = T0 - 10 * MINUTE + Math.floor(random() * 80 * MINUTE);
      const first = random() < 2 / 3;
      const roll = random();
      const resultCode = roll < 0.05 ? '429' : roll < 0.07 ? '' : '200';
      const header: Record<string, string> = random() < 0.9 ? { 'Response-x-ms-region': first ? 'West US' : 'East US' } : {};
      const target = first ? targets1[i % 3]! : host2;
      rows.push({ timestampMs, target, resultCode, durationMs: 100 + Math.round(random() * 900), customDimensions: header });
      if (timestampMs < WINDOW.fromMs || timestampMs >= WINDOW.toMs) continue;
      truth.total += 1;
      const bin = WINDOW.fromMs + Math.floor((timestampMs - WINDOW.fromMs) / BIN) * BIN;
      const counts = bins.get(bin) ?? { ok1: 0, ok2: 0, failed: 0 };
      bins.set(bin, counts);
      if (resultCode === '200') {
        truth.answered[first ? 'openai-instance1' : 'openai-instance2'] += 1;
        if (first) counts.ok1 += 1;
        else counts.ok2 += 1;
      } else {
        counts.failed += 1;
        if (resultCode === '429') truth.status429 += 1;
        else truth.network += 1;
      }
    }
    // Calls of other APIs to other backends: never counted.
    for (let i = 0; i < 50; i += 1) {
      rows.push({ timestampMs: T0 + i * MINUTE, target: 'api.contoso.example', resultCode: '200', durationMs: 5, customDimensions: { 'Response-x-ms-region': 'West US' } });
    }
  });

  it('counts every backend call of the window by backend, from hosts or the logged region header', async () => {
    const traffic = await startFakeLogAnalytics((query) => answerTrafficFromRows(rows, query));
    try {
      const source = createLogsEvidenceSource({
        client: createLogsQueryClient({ credential: fakeCredential(), endpoint: traffic.endpoint }),
        target: { kind: 'workspace', workspaceId: '5e2b8a56-9f0e-4c1e-8f3a-0d2b7c6e4a11' },
        pool,
        cloudRoleName: ROLE,
        apimService: SERVICE,
        timeoutInMs: 10_000,
        mode: 'all-traffic',
      });
      const evidence = await source.readWindow(pool.name, WINDOW, BIN);
      expect(truth.total).toBeGreaterThan(1000);
      expect(evidence.source).toBe('all-traffic');
      expect(evidence.total).toBe(truth.total);
      expect(evidence.answered).toBe(truth.answered['openai-instance1'] + truth.answered['openai-instance2']);
      expect(evidence.backends.map((b) => [b.backend, b.answered])).toEqual(Object.entries(truth.answered));
      expect(evidence.errors).toEqual({ byStatus: { '429': truth.status429 }, timeout: 0, network: truth.network });
      expect(evidence.unidentified).toEqual({ count: 0, values: {} });
      expect(evidence.bins).toEqual(
        [...bins.entries()]
          .sort(([a], [b]) => a - b)
          .map(([startMs, c]) => ({
            startMs,
            answered: { ...(c.ok1 > 0 ? { 'openai-instance1': c.ok1 } : {}), ...(c.ok2 > 0 ? { 'openai-instance2': c.ok2 } : {}) },
            unidentified: 0,
            failed: c.failed,
          })),
      );
      expect(evidence.runs).toEqual([]);
      expect(evidence.degraded).toBeUndefined();
      expect(evidence.backends.every((b) => b.latencyP50InMs !== null && b.latencyP95InMs !== null)).toBe(true);
    } finally {
      await traffic.close();
    }
  });
});

describe('APIM gateway logs (ApiManagementGatewayLogs) → all-traffic queries → window evidence', () => {
  const host1 = 'aoai-nov26-instance1.openai.azure.com';
  const host2 = 'aoai-nov26-instance2.openai.azure.com';
  const POOL_ID = 'openai-instance-backend-pool';
  const rows: GatewayLogRow[] = [];
  const truth = { answered: { 'openai-instance1': 0, 'openai-instance2': 0 }, status429: 0, network: 0, total: 0 };

  beforeAll(() => {
    const random = seededRandom(7);
    for (let i = 0; i < 1200; i += 1) {
      const timestampMs = T0 + Math.floor(random() * HOUR);
      const first = random() < 2 / 3;
      const roll = random();
      const code = roll < 0.04 ? 429 : roll < 0.06 ? null : 200;
      // BackendId names the pool on some rows (then the URL host decides) and the member on others.
      const backendId = random() < 0.5 ? POOL_ID : first ? 'openai-instance1' : 'openai-instance2';
      // A request that never reached a backend has no URL: attributed by BackendId alone.
      const backendUrl = code === null && backendId !== POOL_ID ? '' : `https://${first ? host1 : host2}/openai/deployments/gpt-4o/chat/completions`;
      rows.push({ timestampMs, apiId: 'azure-openai-api', backendId, backendUrl, backendResponseCode: code, backendTimeMs: 100 + Math.round(random() * 900) });
      truth.total += 1;
      if (code === 200) truth.answered[first ? 'openai-instance1' : 'openai-instance2'] += 1;
      else if (code === 429) truth.status429 += 1;
      else truth.network += 1;
    }
    // Another API calling the same hosts: not this pool's traffic.
    for (let i = 0; i < 300; i += 1) {
      rows.push({ timestampMs: T0 + i * 1000, apiId: 'other-api', backendId: 'openai-instance1', backendUrl: `https://${host1}/openai`, backendResponseCode: 200, backendTimeMs: 5 });
    }
  });

  it('counts every request of the API once, attributed by BackendUrl host or BackendId, unsampled', async () => {
    const gateway = await startFakeLogAnalytics((query) => answerGatewayLogsFromRows(rows, query));
    try {
      const source = createLogsEvidenceSource({
        client: createLogsQueryClient({ credential: fakeCredential(), endpoint: gateway.endpoint }),
        target: { kind: 'workspace', workspaceId: '5e2b8a56-9f0e-4c1e-8f3a-0d2b7c6e4a11' },
        pool,
        cloudRoleName: ROLE,
        apimService: SERVICE,
        timeoutInMs: 10_000,
        mode: 'all-traffic',
        trafficSource: 'gateway-logs',
        apiId: 'azure-openai-api',
      });
      const evidence = await source.readWindow(pool.name, WINDOW, BIN);
      expect(evidence.source).toBe('all-traffic');
      expect(evidence.total).toBe(truth.total);
      expect(evidence.backends.map((b) => [b.backend, b.answered])).toEqual(Object.entries(truth.answered));
      expect(evidence.errors).toEqual({ byStatus: { '429': truth.status429 }, timeout: 0, network: truth.network });
      expect(evidence.unidentified).toEqual({ count: 0, values: {} });
      expect(evidence.degraded).toBeUndefined();
      for (const query of gateway.queries) {
        expect(query.query).toContain("let apiId = 'azure-openai-api';");
        expect(query.query).not.toMatch(/\bAppDependencies\b/);
      }
    } finally {
      await gateway.close();
    }
  });
});
