import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { ProbeRecord } from '../../../src/lib/probe/types';
import { openSqliteStore, PROBE_BATCH_MAX } from '../../../src/lib/store/sqliteStore';

const T0 = Date.UTC(2026, 10, 25, 8, 0, 0);

function probe(runId: string, probeIndex: number): ProbeRecord {
  return { runId, probeIndex, startedAtMs: T0 + probeIndex, latencyInMs: 5, kind: 'ok', status: 200, backend: 'a', identifierValue: 'West US', totalTokens: 9, errorCode: null };
}

describe('probe writes are batched (one transaction per batch, not per probe)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-batch-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('commits probes recorded together in one transaction, visible to another connection after flush', async () => {
    const file = path.join(dir, 'store.sqlite');
    const store = openSqliteStore(file);
    const reader = new Database(file, { readonly: true });
    try {
      await store.beginRun({ runId: 'r', pool: 'p', startedAtMs: T0, trigger: 'timer' });
      const count = (): number => reader.prepare('SELECT COUNT(*) FROM probes').pluck().get() as number;
      const before = reader.pragma('data_version', { simple: true }) as number;
      for (let i = 0; i < 50; i += 1) await store.recordProbe(probe('r', i));
      // Not yet committed: another process killed now would lose these 50 (at most one batch, see PROBE_BATCH_DELAY_IN_MS).
      expect(count()).toBe(0);
      await store.flush();
      expect(count()).toBe(50);
      // data_version changes once per commit by another connection: one commit for 50 probes.
      expect((reader.pragma('data_version', { simple: true }) as number) - before).toBe(1);
    } finally {
      reader.close();
      store.close();
    }
  });

  it('commits by itself after a short delay, and at once when a batch is full', async () => {
    const store = openSqliteStore(':memory:');
    try {
      await store.beginRun({ runId: 'r', pool: 'p', startedAtMs: T0, trigger: 'timer' });
      const stored = (): number => store.db.prepare('SELECT COUNT(*) FROM probes').pluck().get() as number;
      await store.recordProbe(probe('r', 0));
      expect(stored()).toBe(0);
      const deadline = Date.now() + 5_000;
      while (stored() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(stored()).toBe(1);
      for (let i = 1; i <= PROBE_BATCH_MAX; i += 1) await store.recordProbe(probe('r', i));
      expect(stored()).toBeGreaterThanOrEqual(PROBE_BATCH_MAX);
    } finally {
      store.close();
    }
  });

  it('still refuses a duplicate probe at once, whether it is committed or waiting', async () => {
    const store = openSqliteStore(':memory:');
    try {
      await store.beginRun({ runId: 'r', pool: 'p', startedAtMs: T0, trigger: 'timer' });
      await store.recordProbe(probe('r', 0));
      await expect(store.recordProbe(probe('r', 0))).rejects.toThrow(/already recorded/);
      await store.flush();
      await expect(store.recordProbe(probe('r', 0))).rejects.toThrow(/already recorded/);
    } finally {
      store.close();
    }
  });

  it('reads, finishRun and close see every probe recorded before them', async () => {
    const file = path.join(dir, 'store.sqlite');
    const store = openSqliteStore(file);
    await store.beginRun({ runId: 'r', pool: 'p', startedAtMs: T0, trigger: 'timer' });
    for (let i = 0; i < 10; i += 1) await store.recordProbe(probe('r', i));
    expect(store.readWindowSync('p', { fromMs: T0, toMs: T0 + 60_000 }, 60_000).total).toBe(10);
    await store.recordProbe(probe('r', 10));
    store.close();
    const again = openSqliteStore(file);
    try {
      expect(again.readWindowSync('p', { fromMs: T0, toMs: T0 + 60_000 }, 60_000).total).toBe(11);
    } finally {
      again.close();
    }
  });
});
