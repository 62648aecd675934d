import { nextAlertState } from '../../../src/lib/alerts/alertMachine';
import type { AlertNotification, AlertState, PoolHealth } from '../../../src/lib/alerts/types';

const POOL = 'openai-instance-backend-pool';
const T0 = Date.UTC(2026, 10, 25, 0, 0, 0);
const RUN_MS = 5 * 60_000;
const REMINDER_MS = 4 * 60 * 60_000;

/** Feeds one observation per 5-minute run and collects what was notified. */
function run(healths: readonly PoolHealth[], options: { reminderAfterMs?: number; recoveryObservations?: number } = {}) {
  let state: AlertState | null = null;
  const notes: (AlertNotification & { run: number })[] = [];
  const states: AlertState[] = [];
  healths.forEach((health, i) => {
    const step = nextAlertState(state, { pool: POOL, health, message: `run ${i} is ${health}` }, T0 + i * RUN_MS, {
      reminderAfterMs: options.reminderAfterMs ?? REMINDER_MS,
      ...(options.recoveryObservations !== undefined ? { recoveryObservations: options.recoveryObservations } : {}),
    });
    state = step.state;
    states.push(step.state);
    if (step.notification) notes.push({ ...step.notification, run: i });
  });
  return { notes, states, final: states[states.length - 1]! };
}

const summary = (notes: readonly (AlertNotification & { run: number })[]) => notes.map((n) => `${n.run}:${n.kind}:${n.previousHealth}->${n.health}`);

describe('nextAlertState', () => {
  it('stays silent while the pool is ok', () => {
    const { notes, final } = run(['ok', 'ok', 'ok']);
    expect(notes).toEqual([]);
    expect(final).toMatchObject({ pool: POOL, health: 'ok', since: new Date(T0).toISOString(), lastNotifiedAt: null, pending: null });
  });

  it('alerts once when drift begins and not again on every bad run', () => {
    const { notes, final } = run(['ok', 'drift', 'drift', 'drift', 'drift']);
    expect(summary(notes)).toEqual(['1:alert:ok->drift']);
    expect(notes[0]!.message).toBe('run 1 is drift');
    expect(final.since).toBe(new Date(T0 + RUN_MS).toISOString());
  });

  it('alerts on the very first observation when it is bad', () => {
    expect(summary(run(['failover']).notes)).toEqual(['0:alert:ok->failover']);
  });

  it('escalates from drift to failover at once', () => {
    expect(summary(run(['drift', 'drift', 'failover']).notes)).toEqual(['0:alert:ok->drift', '2:alert:drift->failover']);
  });

  it('recovers only after two consecutive ok runs and says when the incident began', () => {
    const { notes, final } = run(['drift', 'drift', 'ok', 'ok', 'ok']);
    expect(summary(notes)).toEqual(['0:alert:ok->drift', '3:recovery:drift->ok']);
    expect(notes[1]!.message).toContain(`Recovered from drift (since ${new Date(T0).toISOString()}) after 2 consecutive ok runs`);
    expect(final.health).toBe('ok');
    // The ok state began with the first ok run of the streak.
    expect(final.since).toBe(new Date(T0 + 2 * RUN_MS).toISOString());
  });

  it('keeps one incident open while the verdict flaps around the threshold', () => {
    const flapping: PoolHealth[] = ['ok', 'drift', 'ok', 'drift', 'ok', 'drift', 'ok', 'drift', 'ok', 'drift', 'ok', 'ok'];
    const { notes, states } = run(flapping);
    expect(summary(notes)).toEqual(['1:alert:ok->drift', '11:recovery:drift->ok']);
    expect(states.slice(1, 11).every((s) => s.health === 'drift')).toBe(true);
  });

  it('with damping off (1 observation) the same flapping pages every other run', () => {
    const flapping: PoolHealth[] = ['ok', 'drift', 'ok', 'drift', 'ok', 'drift'];
    expect(run(flapping, { recoveryObservations: 1 }).notes).toHaveLength(5);
  });

  it('does not page on failover/drift alternation and steps down only when the milder state persists', () => {
    const { notes } = run(['failover', 'drift', 'failover', 'drift', 'drift', 'drift']);
    expect(summary(notes)).toEqual(['0:alert:ok->failover', '4:alert:failover->drift']);
    expect(notes[1]!.message).toMatch(/^Now drift \(was failover\): /);
  });

  it('steps down to the worst milder state seen in the streak', () => {
    const { notes, final } = run(['failover', 'config-drift', 'ok']);
    expect(summary(notes)).toEqual(['0:alert:ok->failover', '2:alert:failover->config-drift']);
    expect(final.health).toBe('config-drift');
  });

  it('reminds after reminderAfterMs while still bad, then again after another interval', () => {
    const healths: PoolHealth[] = Array.from({ length: 13 }, () => 'drift');
    const { notes } = run(healths, { reminderAfterMs: 30 * 60_000 });
    // Runs every 5 min: alert at run 0, reminders at 30 min (run 6) and 60 min (run 12).
    expect(summary(notes)).toEqual(['0:alert:ok->drift', '6:reminder:drift->drift', '12:reminder:drift->drift']);
    expect(notes[1]!.message).toBe(`Still drift since ${new Date(T0).toISOString()}: run 6 is drift`);
  });

  it('does not remind while the pool looks like it is recovering', () => {
    const { notes } = run(['drift', 'drift', 'ok', 'drift'], { reminderAfterMs: 10 * 60_000 });
    // Run 2 (10 min) would be due, but it is an ok run; run 3 (15 min) is bad again and due: a reminder.
    expect(summary(notes)).toEqual(['0:alert:ok->drift', '3:reminder:drift->drift']);
  });

  it('counts reminder time from the injected clock, not from the wall clock', () => {
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    try {
      const first = nextAlertState(null, { pool: POOL, health: 'drift', message: 'm' }, T0, { reminderAfterMs: 60_000 });
      const early = nextAlertState(first.state, { pool: POOL, health: 'drift', message: 'm' }, T0 + 59_999, { reminderAfterMs: 60_000 });
      const due = nextAlertState(early.state, { pool: POOL, health: 'drift', message: 'm' }, T0 + 60_000, { reminderAfterMs: 60_000 });
      expect(early.notification).toBeNull();
      expect(due.notification?.kind).toBe('reminder');
    } finally {
      jest.useRealTimers();
    }
  });

  it('carries a pending notification over untouched', () => {
    const pending: AlertNotification = { kind: 'alert', pool: POOL, health: 'drift', previousHealth: 'ok', at: new Date(T0).toISOString(), message: 'm' };
    const previous: AlertState = { pool: POOL, health: 'drift', since: pending.at, lastNotifiedAt: pending.at, pending, pendingChannels: ['webhook (generic)'] };
    const { state } = nextAlertState(previous, { pool: POOL, health: 'drift', message: 'm' }, T0 + RUN_MS, { reminderAfterMs: REMINDER_MS });
    expect(state.pending).toBe(pending);
    expect(state.pendingChannels).toEqual(['webhook (generic)']);
  });

  it('rejects a non-positive reminder interval with the option named', () => {
    expect(() => nextAlertState(null, { pool: POOL, health: 'ok', message: '' }, T0, { reminderAfterMs: 0 })).toThrow(/reminderAfterMs/);
    expect(() => nextAlertState(null, { pool: POOL, health: 'ok', message: '' }, T0, { reminderAfterMs: 1, recoveryObservations: 0 })).toThrow(/recoveryObservations/);
  });
});

describe('nextAlertState with inconclusive runs', () => {
  function runWith(observations: readonly (PoolHealth | 'inconclusive')[], reminderAfterMs = REMINDER_MS) {
    let state: AlertState | null = null;
    const notes: string[] = [];
    observations.forEach((o, i) => {
      const observed = o === 'inconclusive' ? { pool: POOL, health: 'ok' as const, message: 'no data', conclusive: false } : { pool: POOL, health: o, message: o };
      const step = nextAlertState(state, observed, T0 + i * RUN_MS, { reminderAfterMs });
      state = step.state;
      if (step.notification) notes.push(`${i}:${step.notification.kind}:${step.notification.health}`);
    });
    return { notes, state: state as AlertState | null };
  }

  it('never recovers an open incident on runs without data (a total outage)', () => {
    const { notes, state } = runWith(['drift', 'inconclusive', 'inconclusive', 'inconclusive', 'inconclusive']);
    expect(notes).toEqual(['0:alert:drift']);
    expect(state?.health).toBe('drift');
  });

  it('keeps reminding during an outage', () => {
    const { notes } = runWith(['drift', 'inconclusive', 'inconclusive', 'inconclusive'], 10 * 60_000);
    expect(notes).toEqual(['0:alert:drift', '2:reminder:drift']);
  });

  it('neither counts nor breaks a recovery streak', () => {
    expect(runWith(['drift', 'ok', 'inconclusive', 'ok']).notes).toEqual(['0:alert:drift', '3:recovery:ok']);
  });

  it('opens nothing while the pool is ok', () => {
    expect(runWith(['ok', 'inconclusive', 'inconclusive']).notes).toEqual([]);
  });
});
