import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { DeployOutcome, ConfigDriftReport } from '../../../src/lib/deploy/types';
import type { ProbeKind, ProbeRecord, RunState } from '../../../src/lib/probe/types';
import { StoreError, StoreInputError } from '../../../src/lib/store/errors';
import { LATENCY_RELATIVE_ERROR } from '../../../src/lib/store/latencyHistogram';
import { MIGRATIONS } from '../../../src/lib/store/migrations';
import { openSqliteStore, type SqliteStore } from '../../../src/lib/store/sqliteStore';
import type { TimeWindow, WindowEvidence } from '../../../src/lib/store/types';
import { createRandom } from '../../../src/lib/stats/random';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 25, 8, 0, 0) + 12_345; // deliberately not minute-aligned

/** A seeded uniform stream (mulberry32, shared with the statistics simulations). */
const random = (seed: number): (() => number) => createRandom(seed).next;

interface SeededRun {
  runId: string;
  pool: string;
  startedAtMs: number;
  state: RunState;
  records: ProbeRecord[];
}

/** Runs and probes of every outcome, spread over ~3 hours, for two pools. */
function seedRuns(seed: number): SeededRun[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const runs: SeededRun[] = [];
  for (let runNumber = 0; runNumber < 45; runNumber += 1) {
    const pool = runNumber % 9 === 4 ? 'other-pool' : 'pool-a';
    const startedAtMs = T0 + Math.floor(next() * 3 * 3_600_000);
    const runId = `run-${seed}-${runNumber}`;
    const records: ProbeRecord[] = [];
    const probeCount = Math.floor(next() * 90);
    for (let probeIndex = 0; probeIndex < probeCount; probeIndex += 1) {
      const roll = next();
      let kind: ProbeKind = 'ok';
      let status: number | null = 200;
      let errorCode: string | null = null;
      if (roll > 0.92) {
        kind = roll > 0.96 ? 'timeout' : 'network';
        status = null;
        errorCode = kind === 'timeout' ? 'timeout' : 'ECONNRESET';
      } else if (roll > 0.78) {
        kind = 'http';
        status = pick([429, 429, 500, 503, 401, 200]);
        errorCode = status === 200 ? 'invalid-body' : String(status);
      }
      const identified = next();
      const backend = identified < 0.06 ? null : pick(['openai-instance1', 'openai-instance1', 'openai-instance2', 'openai-backup']);
      const identifierValue = backend === null ? pick([null, 'Mars', 'Sweden Central']) : backend.toUpperCase();
      const latencyInMs = next() < 0.05 ? next() : Math.exp(next() * 8);
      records.push({
        runId,
        probeIndex,
        startedAtMs: startedAtMs + Math.floor(next() * 150_000),
        latencyInMs,
        kind,
        status: kind === 'timeout' || kind === 'network' ? null : status,
        backend,
        identifierValue,
        totalTokens: kind === 'ok' && next() < 0.9 ? 5 + Math.floor(next() * 20) : null,
        errorCode,
      });
    }
    runs.push({ runId, pool, startedAtMs, state: pick<RunState>(['complete', 'complete', 'incomplete', 'running']), records });
  }
  return runs;
}

async function load(store: SqliteStore, runs: readonly SeededRun[]): Promise<void> {
  for (const run of runs) {
    await store.beginRun({ runId: run.runId, pool: run.pool, startedAtMs: run.startedAtMs, trigger: 'timer' });
    for (const record of run.records) {
      await store.recordProbe(record);
    }
    if (run.state !== 'running') {
      await store.finishRun({
        runId: run.runId,
        finishedAtMs: run.startedAtMs + 200_000,
        state: run.state,
        probesSent: run.records.length,
        tokensUsed: run.records.reduce((sum, record) => sum + (record.totalTokens ?? 0), 0),
        verdict: 'ok',
        stoppedEarly: false,
      });
    }
  }
}

function nearestRank(values: number[], quantile: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(quantile * sorted.length)) - 1] ?? null;
}

function increment(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** The same evidence computed the slow, obvious way over every raw record (latency: exact percentiles). */
function bruteForce(runs: readonly SeededRun[], pool: string, window: TimeWindow, binInMs: number) {
  const inPool = runs.filter((run) => run.pool === pool);
  const probes = inPool.flatMap((run) => run.records).filter((record) => record.startedAtMs >= window.fromMs && record.startedAtMs < window.toMs);
  const firstBin = Math.floor(window.fromMs / binInMs) * binInMs;
  const binCount = window.toMs > window.fromMs ? Math.ceil((window.toMs - firstBin) / binInMs) : 0;
  const bins = Array.from({ length: binCount }, (_, index) => ({ startMs: firstBin + index * binInMs, answered: {} as Record<string, number>, unidentified: 0, failed: 0 }));
  const backends = new Map<string, { answered: number; errorsByStatus: Record<string, number>; latencies: number[] }>();
  const backendOf = (name: string) => {
    const entry = backends.get(name) ?? { answered: 0, errorsByStatus: {}, latencies: [] };
    backends.set(name, entry);
    return entry;
  };
  const unidentifiedValues: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  let answered = 0;
  let unidentified = 0;
  let timeout = 0;
  let network = 0;
  let tokensUsed = 0;
  for (const record of probes) {
    tokensUsed += record.totalTokens ?? 0;
    const bin = bins[Math.floor((record.startedAtMs - firstBin) / binInMs)];
    if (bin === undefined) throw new Error('probe outside every bin');
    if (record.kind === 'ok') {
      answered += 1;
      if (record.backend === null) {
        unidentified += 1;
        bin.unidentified += 1;
        increment(unidentifiedValues, record.identifierValue ?? '');
      } else {
        const entry = backendOf(record.backend);
        entry.answered += 1;
        entry.latencies.push(record.latencyInMs);
        increment(bin.answered, record.backend);
      }
      continue;
    }
    bin.failed += 1;
    if (record.kind === 'timeout') timeout += 1;
    else if (record.kind === 'network') network += 1;
    else {
      increment(byStatus, String(record.status));
      if (record.backend !== null) increment(backendOf(record.backend).errorsByStatus, String(record.status));
    }
  }
  const windowRuns = inPool
    .filter((run) => run.startedAtMs >= window.fromMs && run.startedAtMs < window.toMs)
    .sort((a, b) => a.startedAtMs - b.startedAtMs || (a.runId < b.runId ? -1 : 1));
  return {
    total: probes.length,
    answered,
    unidentified: { count: unidentified, values: unidentifiedValues },
    backends: [...backends.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([backend, entry]) => ({
        backend,
        answered: entry.answered,
        errorsByStatus: entry.errorsByStatus,
        exactP50: nearestRank(entry.latencies, 0.5),
        exactP95: nearestRank(entry.latencies, 0.95),
      })),
    errors: { byStatus, timeout, network },
    bins,
    runs: windowRuns.map((run) => {
      const counts: Record<string, number> = {};
      for (const record of run.records) {
        if (record.kind === 'ok' && record.backend !== null) increment(counts, record.backend);
      }
      return { runId: run.runId, startedAtMs: run.startedAtMs, answered: counts, probes: run.records.length, state: run.state };
    }),
    incompleteRuns: windowRuns.filter((run) => run.state === 'incomplete').length,
    tokensUsed,
  };
}

function expectWithinBound(estimate: number | null, exact: number | null): void {
  if (exact === null) {
    expect(estimate).toBeNull();
    return;
  }
  expect(estimate).not.toBeNull();
  const bound = exact >= 1 ? exact * LATENCY_RELATIVE_ERROR + 1e-9 : 0.5;
  expect(Math.abs((estimate ?? Number.NaN) - exact)).toBeLessThanOrEqual(bound);
}

function expectMatches(evidence: WindowEvidence, expected: ReturnType<typeof bruteForce>): void {
  expect(evidence.source).toBe('probes');
  expect(evidence.degraded).toBeUndefined();
  expect(evidence.total).toBe(expected.total);
  expect(evidence.answered).toBe(expected.answered);
  expect(evidence.unidentified).toEqual(expected.unidentified);
  expect(evidence.errors).toEqual(expected.errors);
  expect(evidence.bins).toEqual(expected.bins);
  expect(evidence.runs).toEqual(expected.runs);
  expect(evidence.incompleteRuns).toBe(expected.incompleteRuns);
  expect(evidence.tokensUsed).toBe(expected.tokensUsed);
  expect(evidence.backends.map(({ backend, answered, errorsByStatus }) => ({ backend, answered, errorsByStatus }))).toEqual(
    expected.backends.map(({ backend, answered, errorsByStatus }) => ({ backend, answered, errorsByStatus })),
  );
  evidence.backends.forEach((backend, index) => {
    expectWithinBound(backend.latencyP50InMs, expected.backends[index]?.exactP50 ?? null);
    expectWithinBound(backend.latencyP95InMs, expected.backends[index]?.exactP95 ?? null);
  });
}

function tempPath(...parts: string[]): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'store-test-')), ...parts);
}

describe('openSqliteStore readWindow', () => {
  const runs = seedRuns(20261125);
  let store: SqliteStore;

  beforeAll(async () => {
    store = openSqliteStore(':memory:');
    await load(store, runs);
  });

  afterAll(() => store.close());

  test('equals a brute-force count over the raw probes for 40 random, unaligned windows and bin sizes', async () => {
    const next = random(7);
    const span = 3.2 * 3_600_000;
    for (let trial = 0; trial < 40; trial += 1) {
      const fromMs = T0 - 60_000 + Math.floor(next() * span);
      const lengthMs = trial % 5 === 0 ? Math.floor(next() * 50_000) : Math.floor(next() * span);
      const window = { fromMs, toMs: fromMs + lengthMs };
      const binInMs = [MINUTE, 5 * MINUTE, 15 * MINUTE, 3_600_000][trial % 4] ?? MINUTE;

      const evidence = await store.readWindow('pool-a', window, binInMs);

      expect(evidence.window).toEqual(window);
      expect(evidence.binInMs).toBe(binInMs);
      expectMatches(evidence, bruteForce(runs, 'pool-a', window, binInMs));
    }
  });

  test('equals brute force on minute-aligned windows and on the whole data set of each pool', async () => {
    const aligned = { fromMs: Math.floor(T0 / MINUTE) * MINUTE + 30 * MINUTE, toMs: Math.floor(T0 / MINUTE) * MINUTE + 150 * MINUTE };
    expectMatches(await store.readWindow('pool-a', aligned, 10 * MINUTE), bruteForce(runs, 'pool-a', aligned, 10 * MINUTE));
    const everything = { fromMs: T0 - 3_600_000, toMs: T0 + 5 * 3_600_000 };
    for (const pool of ['pool-a', 'other-pool']) {
      const evidence = await store.readWindow(pool, everything, 3_600_000);
      expectMatches(evidence, bruteForce(runs, pool, everything, 3_600_000));
      expect(evidence.total).toBe(runs.filter((run) => run.pool === pool).reduce((sum, run) => sum + run.records.length, 0));
    }
  });

  test('rounds a bin below a minute up to the one-minute rollup granularity and says so', async () => {
    const window = { fromMs: T0, toMs: T0 + 20 * MINUTE };

    const evidence = await store.readWindow('pool-a', window, 45_000);

    expect(evidence.binInMs).toBe(MINUTE);
    expectMatches(evidence, bruteForce(runs, 'pool-a', window, MINUTE));
  });

  test('caps a window at 10,000 bins by widening them', async () => {
    const evidence = await store.readWindow('pool-a', { fromMs: T0, toMs: T0 + 30 * 24 * 3_600_000 }, MINUTE);

    expect(evidence.bins.length).toBeLessThanOrEqual(10_001);
    expect(evidence.binInMs % MINUTE).toBe(0);
    expect(evidence.binInMs).toBeGreaterThan(MINUTE);
  });

  test('returns zeros for an empty window and for an unknown pool', async () => {
    const empty = await store.readWindow('pool-a', { fromMs: T0, toMs: T0 }, MINUTE);
    expect(empty).toMatchObject({ total: 0, answered: 0, bins: [], runs: [], backends: [] });
    const unknown = await store.readWindow('no-such-pool', { fromMs: T0, toMs: T0 + 3_600_000 }, MINUTE);
    expect(unknown).toMatchObject({ total: 0, answered: 0, backends: [], incompleteRuns: 0 });
    expect(unknown.bins).toHaveLength(61);
  });

  test('rejects a reversed window, a bad bin and an aborted signal with errors naming the input', async () => {
    await expect(store.readWindow('pool-a', { fromMs: T0 + 1, toMs: T0 }, MINUTE)).rejects.toMatchObject({ name: 'StoreInputError', field: 'window' });
    await expect(store.readWindow('pool-a', { fromMs: T0, toMs: T0 + 1 }, 0)).rejects.toMatchObject({ name: 'StoreInputError', field: 'binInMs' });
    await expect(store.readWindow('pool-a', { fromMs: Number.NaN, toMs: T0 }, MINUTE)).rejects.toMatchObject({ field: 'window.fromMs' });
    const controller = new AbortController();
    controller.abort();
    await expect(store.readWindow('pool-a', { fromMs: T0, toMs: T0 + 1 }, MINUTE, controller.signal)).rejects.toThrow();
  });

  test('after pruning raw probes, still reports exactly after the prune point and widens pruned edges to whole minutes', async () => {
    const copy = openSqliteStore(':memory:');
    await load(copy, runs);
    const pruneAt = T0 + 90 * MINUTE + 25_000;
    const cutoff = Math.floor(pruneAt / MINUTE) * MINUTE;
    const rawBefore = runs.flatMap((run) => run.records).filter((record) => record.startedAtMs < cutoff).length;

    expect(copy.pruneRawProbes(pruneAt)).toBe(rawBefore);

    const floorMinute = (ms: number): number => Math.floor(ms / MINUTE) * MINUTE;
    const ceilMinute = (ms: number): number => Math.ceil(ms / MINUTE) * MINUTE;
    const after = { fromMs: cutoff + 7_777, toMs: cutoff + 50 * MINUTE + 3_333 };
    const straddling = { fromMs: cutoff - 33 * MINUTE - 4_444, toMs: cutoff + 20 * MINUTE + 1_111 };
    const before = { fromMs: T0 + 5 * MINUTE + 999, toMs: T0 + 40 * MINUTE + 17_000 };
    const check = async (window: TimeWindow, expectedWindow: TimeWindow): Promise<void> => {
      const evidence = await copy.readWindow('pool-a', window, 5 * MINUTE);
      // Probes widen to whole pruned minutes; runs are still those started in the window asked for.
      const exact = bruteForce(runs, 'pool-a', window, 5 * MINUTE);
      const widened = bruteForce(runs, 'pool-a', expectedWindow, 5 * MINUTE);
      expectMatches(evidence, { ...widened, runs: exact.runs, incompleteRuns: exact.incompleteRuns });
    };
    await check(after, after);
    await check(straddling, { fromMs: floorMinute(straddling.fromMs), toMs: straddling.toMs });
    await check(before, { fromMs: floorMinute(before.fromMs), toMs: ceilMinute(before.toMs) });
    expect((await copy.readWindow('pool-a', { fromMs: before.fromMs, toMs: before.fromMs }, MINUTE)).total).toBe(0);
    copy.close();
  });

  test('reads whole minutes from the rollups, not from the raw probes', async () => {
    const copy = openSqliteStore(':memory:');
    await load(copy, runs);
    const window = { fromMs: Math.floor(T0 / MINUTE) * MINUTE, toMs: Math.floor(T0 / MINUTE) * MINUTE + 4 * 3_600_000 };
    const before = await copy.readWindow('pool-a', window, 15 * MINUTE);

    copy.db.prepare('DELETE FROM probes').run();

    expect(await copy.readWindow('pool-a', window, 15 * MINUTE)).toEqual(before);
    expect(before.total).toBeGreaterThan(1_000);
    copy.close();
  });
});

describe('openSqliteStore runs, probes and locks', () => {
  let store: SqliteStore;

  beforeEach(() => {
    store = openSqliteStore(':memory:');
  });

  afterEach(() => store.close());

  const probe = (runId: string, probeIndex: number, overrides: Partial<ProbeRecord> = {}): ProbeRecord => ({
    runId,
    probeIndex,
    startedAtMs: T0 + probeIndex * 1_000,
    latencyInMs: 120,
    kind: 'ok',
    status: 200,
    backend: 'openai-instance1',
    identifierValue: 'West US',
    totalTokens: 9,
    errorCode: null,
    ...overrides,
  });

  test('refuses a probe of a run that was never begun, and a probe recorded twice, without counting it', async () => {
    await expect(store.recordProbe(probe('ghost', 0))).rejects.toBeInstanceOf(StoreError);
    await store.beginRun({ runId: 'r1', pool: 'p', startedAtMs: T0, trigger: 'cli' });
    await store.recordProbe(probe('r1', 0));

    await expect(store.recordProbe(probe('r1', 0))).rejects.toThrow(/already recorded/);

    const evidence = await store.readWindow('p', { fromMs: T0 - MINUTE, toMs: T0 + MINUTE }, MINUTE);
    expect(evidence.total).toBe(1);
    expect(evidence.runs).toEqual([{ runId: 'r1', startedAtMs: T0, answered: { 'openai-instance1': 1 }, probes: 1, state: 'running' }]);
  });

  test.each<[string, Partial<ProbeRecord>]>([
    ['record.kind', { kind: 'bogus' as ProbeKind }],
    ['record.latencyInMs', { latencyInMs: Number.NaN }],
    ['record.probeIndex', { probeIndex: -1 }],
    ['record.totalTokens', { totalTokens: -3 }],
    ['record.backend', { backend: '' }],
  ])('rejects a probe with a bad %s, naming the field', async (field, overrides) => {
    await store.beginRun({ runId: 'r1', pool: 'p', startedAtMs: T0, trigger: 'cli' });

    await expect(store.recordProbe(probe('r1', 0, overrides))).rejects.toMatchObject({ name: 'StoreInputError', field });
  });

  test('lists recent runs newest first with their summary once finished', async () => {
    await store.beginRun({ runId: 'old', pool: 'p', startedAtMs: T0, trigger: 'timer' });
    await store.beginRun({ runId: 'new', pool: 'p', startedAtMs: T0 + 300_000, trigger: 'cli' });
    await store.beginRun({ runId: 'elsewhere', pool: 'q', startedAtMs: T0 + 600_000, trigger: 'cli' });
    await store.finishRun({ runId: 'old', finishedAtMs: T0 + 9_000, state: 'complete', probesSent: 60, tokensUsed: 540, verdict: 'drift', stoppedEarly: true });

    expect(store.recentRuns('p', 10)).toEqual([
      // The last sign of life: the start for a run without probes yet, the finish once finished.
      { runId: 'new', pool: 'p', startedAtMs: T0 + 300_000, trigger: 'cli', state: 'running', lastActivityMs: T0 + 300_000 },
      { runId: 'old', pool: 'p', startedAtMs: T0, trigger: 'timer', state: 'complete', finishedAtMs: T0 + 9_000, probesSent: 60, tokensUsed: 540, verdict: 'drift', stoppedEarly: true, lastActivityMs: T0 + 9_000 },
    ]);
    expect(store.recentRuns('p', 1).map((run) => run.runId)).toEqual(['new']);
    await expect(store.finishRun({ runId: 'ghost', finishedAtMs: T0, state: 'complete', probesSent: 0, tokensUsed: 0, verdict: 'ok', stoppedEarly: false })).rejects.toBeInstanceOf(StoreError);
  });

  test('marks runs whose owner went quiet as incomplete and keeps their probes', async () => {
    await store.beginRun({ runId: 'killed', pool: 'p', startedAtMs: T0, trigger: 'timer' });
    await store.recordProbe(probe('killed', 0, { totalTokens: 10 }));
    await store.recordProbe(probe('killed', 1, { totalTokens: 11 }));
    await store.beginRun({ runId: 'alive', pool: 'p', startedAtMs: T0 + 9 * MINUTE, trigger: 'timer' });

    expect(store.markAbandonedRuns(T0 + 10 * MINUTE, 5 * MINUTE)).toBe(1);
    expect(store.markAbandonedRuns(T0 + 10 * MINUTE, 5 * MINUTE)).toBe(0);

    const [alive, killed] = store.recentRuns('p', 10);
    expect(alive).toMatchObject({ runId: 'alive', state: 'running' });
    expect(killed).toMatchObject({ runId: 'killed', state: 'incomplete', probesSent: 2, tokensUsed: 21 });
    const evidence = await store.readWindow('p', { fromMs: T0 - MINUTE, toMs: T0 + 20 * MINUTE }, MINUTE);
    expect(evidence.total).toBe(2);
    expect(evidence.incompleteRuns).toBe(1);
  });

  test('lets one holder keep a lock until it expires or is released', () => {
    expect(store.tryAcquireLock('probe-run:p', 'host-a', 60_000, T0)).toBe(true);
    expect(store.tryAcquireLock('probe-run:p', 'host-b', 60_000, T0 + 1_000)).toBe(false);
    expect(store.tryAcquireLock('other-lock', 'host-b', 60_000, T0 + 2_000)).toBe(true);
    expect(store.renewLock('probe-run:p', 'host-b', 60_000, T0 + 2_000)).toBe(false);
    expect(store.renewLock('probe-run:p', 'host-a', 60_000, T0 + 2_000)).toBe(true);
    expect(store.tryAcquireLock('probe-run:p', 'host-b', 60_000, T0 + 61_999)).toBe(false);
    expect(store.tryAcquireLock('probe-run:p', 'host-b', 60_000, T0 + 62_000)).toBe(true);
    expect(store.renewLock('probe-run:p', 'host-a', 60_000, T0 + 62_000)).toBe(false);

    store.releaseLock('probe-run:p', 'host-a');
    expect(store.tryAcquireLock('probe-run:p', 'host-a', 60_000, T0 + 63_000)).toBe(false);
    store.releaseLock('probe-run:p', 'host-b');
    expect(store.tryAcquireLock('probe-run:p', 'host-a', 60_000, T0 + 63_000)).toBe(true);
  });

  test('does not let the same owner take a lock twice: two invocations sharing an owner id still exclude each other', () => {
    expect(store.tryAcquireLock('probe-run:p', 'instance-42', 60_000, T0)).toBe(true);
    expect(store.tryAcquireLock('probe-run:p', 'instance-42', 60_000, T0 + 1)).toBe(false);
    store.releaseLock('probe-run:p', 'instance-42');
    expect(store.tryAcquireLock('probe-run:p', 'instance-42', 60_000, T0 + 2)).toBe(true);
  });

  test('gives a lock to exactly one of two connections to the same file', () => {
    const file = tempPath('lock.sqlite');
    const first = openSqliteStore(file);
    const second = openSqliteStore(file);

    const results = [first.tryAcquireLock('run', 'a', 60_000, T0), second.tryAcquireLock('run', 'b', 60_000, T0)];

    expect(results).toEqual([true, false]);
    first.close();
    second.close();
  });

  test('round-trips the last deploy outcome, config drift and run verdict per pool', async () => {
    expect(store.lastDeployOutcome('p')).toBeNull();
    expect(store.lastConfigDrift('p')).toBeNull();
    const outcome = (summary: string): DeployOutcome => ({
      mode: 'deploy',
      status: 'succeeded',
      startedAt: '2026-11-25T08:00:00.000Z',
      finishedAt: '2026-11-25T08:00:02.000Z',
      actions: [{ resource: 'openai-instance-backend-pool', kind: 'pool', plan: 'update', result: 'written', changedFields: ['pool.members[openai-instance2].weight'] }],
      summary,
    });
    const drift: ConfigDriftReport = {
      checkedAt: '2026-11-25T08:05:00.000Z',
      differences: [{ resource: 'openai-instance-backend-pool', field: 'pool.members[openai-instance2].weight', declared: 1, deployed: 3 }],
    };

    store.saveDeployOutcome('p', outcome('first'));
    store.saveDeployOutcome('p', outcome('second'));
    store.saveDeployOutcome('q', outcome('other pool'));
    store.saveConfigDrift('p', drift);
    await store.recordVerdict({ runId: 'r1', pool: 'p', status: 'drift', probesSent: 60, tokensUsed: 540, shares: { a: 0.5, b: null }, worstDeviationInPoints: 16.7, health: 'drift' });

    expect(store.lastDeployOutcome('p')).toEqual(outcome('second'));
    expect(store.lastDeployOutcome('q')?.summary).toBe('other pool');
    expect(store.lastConfigDrift('p')).toEqual(drift);
    expect(store.runVerdict('r1')).toEqual({ runId: 'r1', pool: 'p', status: 'drift', probesSent: 60, tokensUsed: 540, shares: { a: 0.5, b: null }, worstDeviationInPoints: 16.7, health: 'drift' });
    expect(store.runVerdict('r2')).toBeNull();
  });
});

describe('openSqliteStore on disk', () => {
  test('creates parent directories, uses WAL, and keeps everything across a reopen', async () => {
    const file = tempPath('nested', 'deeper', 'verifier.sqlite');
    const first = openSqliteStore(file);
    await first.beginRun({ runId: 'r1', pool: 'p', startedAtMs: T0, trigger: 'timer' });
    await first.recordProbe({ runId: 'r1', probeIndex: 0, startedAtMs: T0, latencyInMs: 50, kind: 'ok', status: 200, backend: 'b1', identifierValue: 'West US', totalTokens: 9, errorCode: null });
    first.saveDeployOutcome('p', { mode: 'verify-only', status: 'skipped', startedAt: 'x', finishedAt: 'y', actions: [], summary: 'nothing to do' });
    expect(first.db.pragma('journal_mode', { simple: true })).toBe('wal');
    first.close();

    const second = openSqliteStore(file);
    const evidence = await second.readWindow('p', { fromMs: T0, toMs: T0 + 1 }, MINUTE);
    expect(evidence).toMatchObject({ total: 1, answered: 1, tokensUsed: 9 });
    expect(second.lastDeployOutcome('p')?.summary).toBe('nothing to do');
    expect(second.recentRuns('p', 5)).toHaveLength(1);
    expect(second.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    second.close();
  });

  test('migrates a version-1 database in place, keeping its data', async () => {
    const file = tempPath('v1.sqlite');
    const db = new Database(file);
    db.exec(MIGRATIONS[0] ?? '');
    db.pragma('user_version = 1');
    db.prepare(`INSERT INTO runs (run_id, pool, started_at_ms, trigger, state, last_activity_ms) VALUES ('old-run', 'p', ?, 'timer', 'complete', ?)`).run(T0, T0);
    db.close();

    const store = openSqliteStore(file);

    expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(store.recentRuns('p', 5).map((run) => run.runId)).toEqual(['old-run']);
    expect(store.pruneRawProbes(T0)).toBe(0);
    store.close();
  });

  test('refuses a database whose schema is newer than this build', () => {
    const file = tempPath('future.sqlite');
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();

    expect(() => openSqliteStore(file)).toThrow(/newer than this build/);
  });

  test('rejects an empty path naming the field, and fails clearly on closed use', async () => {
    expect(() => openSqliteStore('')).toThrow(StoreInputError);
    const store = openSqliteStore(':memory:');
    store.close();
    await expect(store.readWindow('p', { fromMs: 0, toMs: 1 }, MINUTE)).rejects.toThrow(/closed/);
  });
});
