import { processAlerts } from '../../../src/lib/alerts/processAlerts';
import { isEmulatorConnectionString, TableAlertStateStore } from '../../../src/lib/alerts/tableAlertStateStore';
import type { AlertStateStore } from '../../../src/lib/alerts/stateStore';
import type { AlertLogEntry, AlertState } from '../../../src/lib/alerts/types';
import { startAzurite, type RunningAzurite } from './azurite';
import { FakeNotifier } from './fakeNotifier';

const T0 = Date.UTC(2026, 10, 25, 1, 0, 0);

/**
 * Makes the race certain instead of likely: every run's first read waits until all runs have read, so they all
 * decide from the same (empty) state and only Azurite's conditional write can pick the winner.
 */
function withReadBarrier(stores: readonly AlertStateStore[]): AlertStateStore[] {
  let waiting = 0;
  let release: () => void = () => undefined;
  const allRead = new Promise<void>((resolve) => (release = resolve));
  return stores.map((inner) => {
    let first = true;
    return {
      read: async (pool: string) => {
        const result = await inner.read(pool);
        if (first) {
          first = false;
          if (++waiting === stores.length) release();
          await allRead;
        }
        return result;
      },
      write: (state, etag) => inner.write(state, etag),
      appendLog: (entry) => inner.appendLog(entry),
      recent: (pool, limit) => inner.recent(pool, limit),
    };
  });
}

describe('TableAlertStateStore against Azurite', () => {
  let azurite: RunningAzurite;
  let table = 0;
  /** A fresh table per test keeps tests independent inside one Azurite. */
  const newStore = (name = `alerts${++table}`) => TableAlertStateStore.fromConnectionString(azurite.connectionString, name);

  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('creates, then replaces only with the current ETag', async () => {
    const store = newStore();
    const pool = 'openai-instance-backend-pool';
    const state: AlertState = { pool, health: 'ok', since: '2026-11-25T01:00:00.000Z', lastNotifiedAt: null, pending: null };
    expect(await store.read(pool)).toBeNull();
    expect(await store.write(state, null)).toBe(true);
    expect(await store.write(state, null)).toBe(false);
    const first = await store.read(pool);
    expect(first?.state).toEqual(state);
    expect(await store.write({ ...state, health: 'drift' }, first!.etag)).toBe(true);
    expect(await store.write({ ...state, health: 'failover' }, first!.etag)).toBe(false);
    expect((await store.read(pool))?.state.health).toBe('drift');
  });

  it('keeps pools with characters that row keys forbid apart', async () => {
    const store = newStore();
    const a: AlertState = { pool: 'a/b#c?d', health: 'drift', since: 's', lastNotifiedAt: null, pending: null };
    const b: AlertState = { ...a, pool: 'a-b-c-d', health: 'ok' };
    expect(await store.write(a, null)).toBe(true);
    expect(await store.write(b, null)).toBe(true);
    expect((await store.read('a/b#c?d'))?.state.health).toBe('drift');
    expect((await store.read('a-b-c-d'))?.state.health).toBe('ok');
  });

  it('returns the log newest first, limited', async () => {
    const store = newStore();
    const entry = (at: string): AlertLogEntry => ({ kind: 'alert', pool: 'p', health: 'drift', previousHealth: 'ok', at, message: at, delivered: true, channels: ['x'] });
    for (const at of ['2026-11-25T01:00:00.000Z', '2026-11-25T03:00:00.000Z', '2026-11-25T02:00:00.000Z']) await store.appendLog(entry(at));
    expect((await store.recent('p', 2)).map((e) => e.at)).toEqual(['2026-11-25T03:00:00.000Z', '2026-11-25T02:00:00.000Z']);
    expect(await store.recent('other', 5)).toEqual([]);
  });

  it.each([2, 4])('lets exactly one of %i concurrent runs send the alert', async (runs) => {
    const tableName = `race${runs}x${++table}`;
    const webhook = new FakeNotifier('webhook (generic)');
    const lines: string[] = [];
    const stores = withReadBarrier(Array.from({ length: runs }, () => newStore(tableName)));
    const results = await Promise.all(
      stores.map((store) =>
        processAlerts({
          pool: 'openai-instance-backend-pool',
          health: 'failover',
          message: '41 answers came from priority-2 backend Central US',
          nowMs: T0,
          store,
          notifiers: [webhook],
          reminderAfterMs: 3_600_000,
          log: (l) => lines.push(l),
        }),
      ),
    );
    expect(webhook.received).toHaveLength(1);
    expect(results.filter((r) => r.sent !== null)).toHaveLength(1);
    // Every loser lost a conditional write at Azurite, re-read and decided not to send.
    expect(lines.filter((l) => l.includes('changed concurrently'))).toHaveLength(runs - 1);
    const log = await newStore(tableName).recent('openai-instance-backend-pool', 10);
    expect(log.map((e) => [e.kind, e.delivered])).toEqual([['alert', true]]);
    expect((await newStore(tableName).read('openai-instance-backend-pool'))?.state).toMatchObject({ health: 'failover', pending: null });
  });

  it('reports a rejected key without the connection string', async () => {
    const wrongKey = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('x'.repeat(64)).toString('base64')}`);
    const store = TableAlertStateStore.fromConnectionString(wrongKey, 'alertsbadkey');
    const error = (await store.read('p').catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('AlertStoreError');
    expect(error.message).toMatch(/^Table storage createTable failed with status 403/);
    expect(error.message).not.toContain('AccountKey');
  });
});

describe('TableAlertStateStore construction', () => {
  it('rejects a malformed connection string without quoting it', () => {
    const attempt = () => new TableAlertStateStore('AccountName=x;AccountKey=SECRET-KEY-XYZ;garbage');
    expect(attempt).toThrow('AzureWebJobsStorage is not a valid storage connection string');
    try {
      attempt();
    } catch (error) {
      expect(`${(error as Error).message} ${String((error as Error).cause)} ${JSON.stringify(error)}`).not.toContain('SECRET-KEY');
    }
  });
});

describe('isEmulatorConnectionString', () => {
  it.each([
    ['UseDevelopmentStorage=true', true],
    ['DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;', true],
    ['DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;TableEndpoint=http://localhost:10002/acct;', true],
    ['DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;EndpointSuffix=core.windows.net', false],
    ['DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;TableEndpoint=https://prod.table.core.windows.net/', false],
  ])('allows plain http only for the emulator: %s → %s', (cs, expected) => {
    expect(isEmulatorConnectionString(cs)).toBe(expected);
  });
});
