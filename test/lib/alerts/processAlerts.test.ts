import Database from 'better-sqlite3';
import { processAlerts, type ProcessAlertsOptions } from '../../../src/lib/alerts/processAlerts';
import { SqliteAlertStateStore } from '../../../src/lib/alerts/sqliteAlertStateStore';
import type { PoolHealth } from '../../../src/lib/alerts/types';
import { createWebhookNotifier } from '../../../src/lib/alerts/webhookNotifier';
import { FakeNotifier } from './fakeNotifier';
import { startWebhookReceiver, type WebhookReceiver } from './webhookReceiver';

const POOL = 'openai-instance-backend-pool';
const T0 = Date.UTC(2026, 10, 25, 1, 0, 0);
const RUN_MS = 5 * 60_000;

function setup() {
  const db = new Database(':memory:');
  const store = new SqliteAlertStateStore(db);
  const lines: string[] = [];
  const step = (health: PoolHealth, nowMs: number, over: Partial<ProcessAlertsOptions> = {}) =>
    processAlerts({
      pool: POOL,
      health,
      message: `${health} at ${new Date(nowMs).toISOString()}`,
      nowMs,
      store,
      notifiers: [],
      reminderAfterMs: 4 * 3_600_000,
      log: (line) => lines.push(line),
      ...over,
    });
  return { db, store, lines, step };
}

describe('processAlerts (SQLite store)', () => {
  it('sends one alert when drift begins, none on the following bad runs, and logs it', async () => {
    const { store, step } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    const first = await step('drift', T0, { notifiers: [webhook] });
    expect(first).toMatchObject({ delivered: true, pending: false, sent: { kind: 'alert', health: 'drift', previousHealth: 'ok' } });
    expect(first.state).toMatchObject({ health: 'drift', pending: null });
    for (let i = 1; i <= 5; i++) {
      expect((await step('drift', T0 + i * RUN_MS, { notifiers: [webhook] })).sent).toBeNull();
    }
    expect(webhook.received.map((n) => n.kind)).toEqual(['alert']);
    const log = await store.recent(POOL, 10);
    expect(log).toEqual([{ ...first.sent, delivered: true, channels: ['webhook (generic)'] }]);
  });

  it('keeps an undeliverable alert pending and delivers it on the next run', async () => {
    const { store, step, lines } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    webhook.down = true;
    const down = await step('drift', T0, { notifiers: [webhook] });
    expect(down).toMatchObject({ delivered: false, pending: true, sent: { kind: 'alert' } });
    expect((await store.read(POOL))?.state.pending).toEqual(down.sent);

    webhook.down = false;
    const up = await step('drift', T0 + RUN_MS, { notifiers: [webhook] });
    expect(up).toMatchObject({ delivered: true, pending: false });
    expect(up.sent).toEqual(down.sent);
    expect(webhook.received).toEqual([down.sent]);
    expect((await store.read(POOL))?.state.pending).toBeNull();
    expect((await store.recent(POOL, 10)).map((e) => e.delivered)).toEqual([true, false]);
    expect(lines.some((l) => l.includes('not delivered to webhook (generic)'))).toBe(true);
  });

  it('does not retry a pending notification while another run holds the delivery lease', async () => {
    const { step } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    webhook.down = true;
    await step('drift', T0, { notifiers: [webhook] });
    webhook.down = false;
    expect((await step('drift', T0 + 30_000, { notifiers: [webhook], deliveryLeaseMs: 120_000 })).sent).toBeNull();
    expect((await step('drift', T0 + 120_000, { notifiers: [webhook], deliveryLeaseMs: 120_000 })).delivered).toBe(true);
    expect(webhook.attempts).toBe(2);
  });

  it('retries only the channel that failed', async () => {
    const { step } = setup();
    const teams = new FakeNotifier('webhook (teams)');
    const events = new FakeNotifier('app insights');
    teams.down = true;
    const first = await step('failover', T0, { notifiers: [teams, events] });
    expect(first.state.pendingChannels).toEqual(['webhook (teams)']);
    teams.down = false;
    await step('failover', T0 + RUN_MS, { notifiers: [teams, events] });
    expect(teams.received).toHaveLength(1);
    expect(events.received).toHaveLength(1);
  });

  it('sends the recovery after two ok runs together with the still-pending alert: nothing is dropped', async () => {
    const { step, lines } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    webhook.down = true;
    await step('drift', T0, { notifiers: [webhook] });
    await step('ok', T0 + 30_000, { notifiers: [webhook] }); // inside the lease: no retry
    webhook.down = false;
    const recovered = await step('ok', T0 + 60_000, { notifiers: [webhook] });
    expect(recovered).toMatchObject({ delivered: true, pending: false, sent: { kind: 'recovery', previousHealth: 'drift', health: 'ok' } });
    expect(webhook.received.map((n) => n.kind)).toEqual(['recovery']);
    // One combined message: the drift the channel never heard of, and its recovery.
    expect(webhook.received[0]?.message).toMatch(/^drift from \S+ to \S+, now recovered \(the alert could not be delivered at the time: /);
    expect(lines.some((l) => l.includes('sent together with the new recovery'))).toBe(true);
  });

  it('does not send a recovery while runs only lack data (conclusive: false)', async () => {
    const { step } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    await step('drift', T0, { notifiers: [webhook] });
    for (let i = 1; i <= 4; i++) {
      expect((await step('ok', T0 + i * RUN_MS, { notifiers: [webhook], conclusive: false })).state.health).toBe('drift');
    }
    expect(webhook.received.map((n) => n.kind)).toEqual(['alert']);
  });

  it('never throws when a notifier throws', async () => {
    const { step } = setup();
    const broken = { name: 'broken', send: async () => Promise.reject(new TypeError('boom')) };
    await expect(step('drift', T0, { notifiers: [broken] })).resolves.toMatchObject({ delivered: false, pending: true });
  });

  it('treats no notifier as delivered (nothing is owed)', async () => {
    const { step, store } = setup();
    expect(await step('drift', T0)).toMatchObject({ delivered: true, pending: false });
    expect((await store.recent(POOL, 1))[0]).toMatchObject({ kind: 'alert', delivered: true, channels: [] });
  });

  it('lets exactly one of two concurrent runs send the alert', async () => {
    const { db, lines } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    const stores = [new SqliteAlertStateStore(db), new SqliteAlertStateStore(db)];
    const results = await Promise.all(
      stores.map((store) =>
        processAlerts({ pool: POOL, health: 'drift', message: 'm', nowMs: T0, store, notifiers: [webhook], reminderAfterMs: 3_600_000, log: (l) => lines.push(l) }),
      ),
    );
    expect(webhook.received).toHaveLength(1);
    expect(results.filter((r) => r.sent !== null)).toHaveLength(1);
    expect(lines.some((l) => l.includes('changed concurrently'))).toBe(true);
  });

  it('numbers each notification of an incident with a stable id: alert #1, reminder #2, recovery #3, then a new incident', async () => {
    const { step } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    const reminderAfterMs = 3 * RUN_MS;
    await step('drift', T0, { notifiers: [webhook], reminderAfterMs });
    await step('drift', T0 + 3 * RUN_MS, { notifiers: [webhook], reminderAfterMs });
    await step('ok', T0 + 4 * RUN_MS, { notifiers: [webhook], reminderAfterMs });
    await step('ok', T0 + 5 * RUN_MS, { notifiers: [webhook], reminderAfterMs });
    await step('failover', T0 + 6 * RUN_MS, { notifiers: [webhook], reminderAfterMs });
    const incident = `${POOL}@${new Date(T0).toISOString()}`;
    expect(webhook.received.map((n) => [n.kind, n.id])).toEqual([
      ['alert', `${incident}#1`],
      ['reminder', `${incident}#2`],
      ['recovery', `${incident}#3`],
      ['alert', `${POOL}@${new Date(T0 + 6 * RUN_MS).toISOString()}#1`],
    ]);
  });

  it('sends a failed notification again with the same id only after the lease, and says when', async () => {
    const { step } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    webhook.down = true;
    const down = await step('drift', T0, { notifiers: [webhook] });
    expect(down.nextAttemptAt).toBe(new Date(T0 + 120_000).toISOString());
    expect((await step('drift', T0 + 60_000, { notifiers: [webhook] })).sent).toBeNull();
    expect(webhook.attempts).toBe(1);
    webhook.down = false;
    const again = await step('drift', T0 + 120_000, { notifiers: [webhook] });
    expect(again.sent?.id).toBe(down.sent?.id);
    expect(webhook.attempts).toBe(2);
  });

  it('honours a Retry-After above 10 s, up to the reminder interval', async () => {
    const { step } = setup();
    const limited = new FakeNotifier('webhook (generic)');
    limited.send = async () => {
      limited.attempts++;
      throw Object.assign(new Error('webhook (generic) returned 429'), { retryAfterMs: 15 * 60_000 });
    };
    const first = await step('drift', T0, { notifiers: [limited], reminderAfterMs: 3_600_000 });
    expect(first.nextAttemptAt).toBe(new Date(T0 + 15 * 60_000).toISOString());
    for (const minutes of [5, 10]) expect((await step('drift', T0 + minutes * 60_000, { notifiers: [limited], reminderAfterMs: 3_600_000 })).sent).toBeNull();
    expect(limited.attempts).toBe(1);
    await step('drift', T0 + 15 * 60_000, { notifiers: [limited], reminderAfterMs: 3_600_000 });
    expect(limited.attempts).toBe(2);
    // A Retry-After beyond the reminder interval waits only that long.
    const { step: other } = setup();
    const capped = await other('drift', T0, { notifiers: [limited], reminderAfterMs: 10 * 60_000 });
    expect(capped.nextAttemptAt).toBe(new Date(T0 + 10 * 60_000).toISOString());
  });

  it('gives a notification up after a bounded number of attempts, and logs it', async () => {
    const { step, lines } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    webhook.down = true;
    for (let i = 0; i < 10; i++) await step('drift', T0 + i * RUN_MS, { notifiers: [webhook], maxDeliveryAttempts: 3 });
    expect(webhook.attempts).toBe(3);
    expect(lines.some((l) => /given up after 3 delivery attempts/.test(l))).toBe(true);
  });

  it('a webhook refusing (429) while the pool drifts and recovers still hears about the drift, then the recovery, in order', async () => {
    const { step } = setup();
    const webhook = new FakeNotifier('webhook (generic)');
    webhook.down = true;
    await step('drift', T0, { notifiers: [webhook] });
    await step('ok', T0 + 60_000, { notifiers: [webhook] });
    await step('ok', T0 + 90_000, { notifiers: [webhook] });
    webhook.down = false;
    await step('ok', T0 + 4 * 60_000, { notifiers: [webhook] });
    expect(webhook.received).toHaveLength(1);
    expect(webhook.received[0]).toMatchObject({ kind: 'recovery', previousHealth: 'drift' });
    expect(webhook.received[0]?.message).toMatch(/^drift from 2026-11-25T01:00:00\.000Z to 2026-11-25T01:01:30\.000Z, now recovered/);
  });

  describe('with a real webhook receiver', () => {
    let receiver: WebhookReceiver;
    beforeAll(async () => {
      receiver = await startWebhookReceiver();
    });
    afterAll(() => receiver.close());

    it('goes pending while the webhook answers 500 and delivers when it is back, never logging the URL', async () => {
      const { step, lines, store } = setup();
      const secretPath = '/hook/SECRET-TOKEN-42';
      const webhook = createWebhookNotifier({ url: receiver.url(secretPath), format: 'generic', retries: 1, sleep: async () => undefined });
      receiver.answer(500);
      const down = await step('drift', T0, { notifiers: [webhook] });
      expect(down).toMatchObject({ delivered: false, pending: true });
      receiver.answer(200);
      const up = await step('drift', T0 + RUN_MS, { notifiers: [webhook] });
      expect(up).toMatchObject({ delivered: true, pending: false });
      // A 500 is not resent within the run (the webhook may have acted on it); the next run sends the same id.
      expect(receiver.requests.map((r) => r.path)).toEqual([secretPath, secretPath]);
      expect(JSON.parse(receiver.requests[1]!.body)).toEqual(down.sent);
      expect(receiver.requests[1]!.headers['x-alert-id']).toBe(encodeURIComponent(down.sent?.id ?? 'missing'));
      const everything = lines.join('\n') + JSON.stringify(await store.recent(POOL, 10)) + JSON.stringify(await store.read(POOL));
      expect(everything).toContain('webhook (generic) returned 500');
      expect(everything).not.toContain('SECRET-TOKEN');
      expect(everything).not.toContain('127.0.0.1');
    });
  });
});

describe('SqliteAlertStateStore', () => {
  it('writes only against the version it read', async () => {
    const store = new SqliteAlertStateStore(new Database(':memory:'));
    const state = { pool: POOL, health: 'ok' as const, since: 'a', lastNotifiedAt: null, pending: null };
    expect(await store.read(POOL)).toBeNull();
    expect(await store.write(state, null)).toBe(true);
    expect(await store.write(state, null)).toBe(false);
    const read = await store.read(POOL);
    expect(read).toEqual({ state, etag: '1' });
    expect(await store.write({ ...state, since: 'b' }, '1')).toBe(true);
    expect(await store.write({ ...state, since: 'c' }, '1')).toBe(false);
    expect((await store.read(POOL))?.state.since).toBe('b');
  });

  it('returns the log newest first and per pool', async () => {
    const store = new SqliteAlertStateStore(new Database(':memory:'));
    const entry = (pool: string, at: string) => ({ kind: 'alert' as const, pool, health: 'drift' as const, previousHealth: 'ok' as const, at, message: at, delivered: true, channels: [] });
    await store.appendLog(entry(POOL, '1'));
    await store.appendLog(entry('other', '2'));
    await store.appendLog(entry(POOL, '3'));
    expect((await store.recent(POOL, 10)).map((e) => e.at)).toEqual(['3', '1']);
    expect((await store.recent(POOL, 1)).map((e) => e.at)).toEqual(['3']);
  });

  it('names the pool when stored state is corrupt', async () => {
    const db = new Database(':memory:');
    const store = new SqliteAlertStateStore(db);
    db.prepare('INSERT INTO alert_state (pool, state, version) VALUES (?, ?, 1)').run(POOL, '{not json');
    await expect(store.read(POOL)).rejects.toThrow(`alert state of pool "${POOL}" in SQLite is not valid JSON`);
  });
});
