import { openSqliteStore, type SqliteStore } from '../../../src/lib/store/sqliteStore';
import { expectLeaseRenewedWhileWorkRuns } from '../../support/expectLeaseRenewal';

/** The local store's run lease behaves like the Tables one: a heartbeat keeps it, a dead holder loses it. */

const T0 = Date.UTC(2026, 11, 1, 4, 0, 0);
let store: SqliteStore;
beforeEach(() => {
  store = openSqliteStore(':memory:');
});
afterEach(() => store.close());

it('withLease renews the SQLite lease while the work runs, and releases it afterwards', async () => {
  await expectLeaseRenewedWhileWorkRuns(store, T0);
});

it('a dead holder loses it once it expired; the new holder marks only its own pool\'s dead runs incomplete', async () => {
  await store.beginRun({ runId: 'dead', pool: 'pool-a@x', startedAtMs: T0, trigger: 'timer' });
  await store.beginRun({ runId: 'other-gateway', pool: 'pool-a@y', startedAtMs: T0, trigger: 'timer' });
  expect(store.tryAcquireLock('probe-run', 'A', 1_000, T0)).toBe(true);
  store.touchRun('dead', T0 + 500);
  expect(store.tryAcquireLock('probe-run', 'B', 1_000, T0 + 999)).toBe(false);
  expect(store.tryAcquireLock('probe-run', 'B', 1_000, T0 + 1_001)).toBe(true);
  expect(store.renewLock('probe-run', 'A', 1_000, T0 + 1_002)).toBe(false);
  expect(store.markAbandonedRuns(T0 + 1_002, 0, 'pool-a@x')).toBe(1);
  expect(store.recentRuns('pool-a@x', 1)[0]).toMatchObject({ state: 'incomplete', finishedAtMs: T0 + 500 });
  expect(store.recentRuns('pool-a@y', 1)[0]).toMatchObject({ state: 'running' });
});

it('keeps the start-up record per pool key, replacing it when the definition changes', () => {
  const deploy = { mode: 'deploy', status: 'succeeded', startedAt: 'a', finishedAt: 'b', actions: [], summary: 's' } as const;
  store.saveStartupRecord('pool-a@x', { definitionHash: 'h1', deploy, policy: [], by: 'A' });
  store.saveStartupRecord('pool-a@x', { definitionHash: 'h2', deploy, policy: [], by: 'B' });
  expect(store.lastStartupRecord('pool-a@x')).toMatchObject({ definitionHash: 'h2', by: 'B' });
  expect(store.lastStartupRecord('pool-a@y')).toBeNull();
});
