import { truncateValue } from '../util/boundedCounts';
import { ensureError } from '../util/errors';
import { nextAlertState } from './alertMachine';
import { AlertStoreError } from './AlertStoreError';
import type { AlertStateStore } from './stateStore';
import type { AlertNotification, AlertState, Notifier, PoolHealth } from './types';

/** Options of one alerting step (one verifier run). */
export interface ProcessAlertsOptions {
  readonly pool: string;
  readonly health: PoolHealth;
  /** One sentence with numbers (the report headline). Must not contain secrets. */
  readonly message: string;
  /** False when `health` is `ok` only for lack of data (see `AlertObservation.conclusive`); default true. */
  readonly conclusive?: boolean;
  readonly nowMs: number;
  readonly store: AlertStateStore;
  readonly notifiers: readonly Notifier[];
  readonly reminderAfterMs: number;
  /** Damping for recovery, see `nextAlertState` (default 2). */
  readonly recoveryObservations?: number;
  /** A run that claimed a delivery holds it this long before another run may retry it (default 120 000 ms). */
  readonly deliveryLeaseMs?: number;
  /** Delivery attempts of one notification before it is given up (logged, kept in the log as undelivered); default 12. */
  readonly maxDeliveryAttempts?: number;
  readonly log?: (line: string) => void;
}

export interface ProcessAlertsResult {
  /** The stored state after this step. */
  readonly state: AlertState;
  /** The notification this run tried to deliver (new, or a pending one retried), or null. */
  readonly sent: AlertNotification | null;
  /** True when `sent` reached every channel that still owed it. */
  readonly delivered: boolean;
  /** True when a notification is still waiting to be delivered (retried on the next run). */
  readonly pending: boolean;
  /** When `pending`: the earliest time of the next attempt (the first run after it tries), ISO 8601. */
  readonly nextAttemptAt?: string | undefined;
}

export const DEFAULT_DELIVERY_LEASE_MS = 120_000;
export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 12;
const MAX_COMBINED_MESSAGE_LENGTH = 2_000;
/** Attempts to win the conditional write before giving up (each loss means another run changed the state). */
const MAX_WRITE_ATTEMPTS = 5;

/**
 * One alerting step: read the state, decide with `nextAlertState`, claim the decision with a conditional write
 * (losing the race → re-read and re-decide, so of two concurrent runs exactly one delivers), deliver to every
 * notifier, then clear `pending` — or keep it, with the channels that still owe it, for the next run to retry.
 * A failed delivery never throws (it is logged and stays pending); a store failure does (`AlertStoreError`).
 * Every delivery attempt is appended to the log.
 *
 * Nothing is dropped (issue 15): a new notification while one is still pending is delivered as one combined
 * message ("drift from T1 to T2, now recovered") with the new notification's id. A pending one is tried again no
 * sooner than the lease (`deliveryLeaseMs`) or the channel's `Retry-After` (capped at `reminderAfterMs`) allows,
 * at most `maxDeliveryAttempts` times; then it is given up, logged and kept in the log as undelivered.
 */
export async function processAlerts(options: ProcessAlertsOptions): Promise<ProcessAlertsResult> {
  const { pool, store, notifiers, nowMs } = options;
  const log = options.log ?? (() => undefined);
  const leaseMs = options.deliveryLeaseMs ?? DEFAULT_DELIVERY_LEASE_MS;
  const now = new Date(nowMs).toISOString();
  const allChannels = notifiers.map((n) => n.name);

  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await store.read(pool);
    const { state: next, notification } = nextAlertState(
      current?.state ?? null,
      { pool, health: options.health, message: options.message, ...(options.conclusive !== undefined ? { conclusive: options.conclusive } : {}) },
      nowMs,
      { reminderAfterMs: options.reminderAfterMs, ...(options.recoveryObservations !== undefined ? { recoveryObservations: options.recoveryObservations } : {}) },
    );

    let toDeliver: AlertNotification | null = null;
    let channels: readonly string[] = allChannels;
    let claimed: AlertState = next;
    if (notification) {
      const combined = next.pending ? combine(next.pending, notification) : notification;
      if (next.pending) {
        log(`alerts: pending ${next.pending.kind} (${next.pending.health}) for pool ${pool} not delivered yet; sent together with the new ${notification.kind}`);
      }
      toDeliver = combined;
      claimed = { ...next, pending: combined, pendingChannels: allChannels, pendingAttemptedAt: now, pendingAttempts: 1, pendingNotBefore: null };
    } else if (next.pending && isDue(next, nowMs, leaseMs)) {
      toDeliver = next.pending;
      const owed = (next.pendingChannels ?? allChannels).filter((c) => allChannels.includes(c));
      // A channel that no longer exists cannot be retried; deliver to all rather than to none.
      channels = owed.length > 0 ? owed : allChannels;
      claimed = { ...next, pendingAttemptedAt: now, pendingAttempts: (next.pendingAttempts ?? 0) + 1, pendingNotBefore: null };
    }

    if (current && JSON.stringify(current.state) === JSON.stringify(claimed)) {
      return { state: current.state, sent: null, delivered: false, pending: current.state.pending !== null, nextAttemptAt: nextAttemptOf(current.state, leaseMs) };
    }
    if (!(await store.write(claimed, current?.etag ?? null))) {
      log(`alerts: state of pool ${pool} changed concurrently; re-reading (attempt ${attempt})`);
      continue;
    }
    if (!toDeliver) {
      return { state: claimed, sent: null, delivered: false, pending: claimed.pending !== null, nextAttemptAt: nextAttemptOf(claimed, leaseMs) };
    }
    return deliver(options, toDeliver, channels, claimed, now, log);
  }
  throw new AlertStoreError(`alert state of pool "${pool}" kept changing concurrently; gave up after ${MAX_WRITE_ATTEMPTS} attempts`, 'unknown', 'write', undefined);
}

async function deliver(
  options: ProcessAlertsOptions,
  notification: AlertNotification,
  channels: readonly string[],
  claimed: AlertState,
  now: string,
  log: (line: string) => void,
): Promise<ProcessAlertsResult> {
  const { store, pool } = options;
  const leaseMs = options.deliveryLeaseMs ?? DEFAULT_DELIVERY_LEASE_MS;
  const maxAttempts = options.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
  const succeeded: string[] = [];
  const failed: string[] = [];
  let retryAfterMs = 0;
  for (const notifier of options.notifiers.filter((n) => channels.includes(n.name))) {
    try {
      await notifier.send(notification);
      succeeded.push(notifier.name);
    } catch (error) {
      failed.push(notifier.name);
      const asked = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
      if (typeof asked === 'number' && Number.isFinite(asked)) retryAfterMs = Math.max(retryAfterMs, asked);
      log(`alerts: ${notification.kind} (${notification.health}) for pool ${pool} not delivered to ${notifier.name}: ${ensureError(error).message}`);
    }
  }
  const delivered = failed.length === 0;
  if (succeeded.length > 0) log(`alerts: ${notification.kind} (${notification.health}) for pool ${pool} delivered to ${succeeded.join(', ')}`);
  const attempts = claimed.pendingAttempts ?? 1;
  const givenUp = !delivered && attempts >= maxAttempts;
  if (givenUp) log(`alerts: ${notification.kind} (${notification.health}) for pool ${pool} given up after ${attempts} delivery attempts; it stays in the report's alert log as not delivered`);
  // Retry-After is honoured beyond the lease, up to the reminder interval (a channel must not silence an incident).
  const waitMs = Math.max(leaseMs, Math.min(retryAfterMs, options.reminderAfterMs));
  const notBefore = new Date(Date.parse(now) + waitMs).toISOString();
  await store.appendLog({ ...notification, delivered, channels: succeeded });

  // Settle `pending` on whatever the state is now (another run may have written meanwhile), if it is still ours.
  let final: AlertState = claimed;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await store.read(pool);
    if (!current || !isSameNotification(current.state.pending, notification)) {
      final = current?.state ?? claimed;
      break;
    }
    const settled: AlertState =
      delivered || givenUp
        ? { ...current.state, pending: null, pendingChannels: null, pendingAttemptedAt: null, pendingAttempts: null, pendingNotBefore: null }
        : { ...current.state, pendingChannels: failed, pendingAttemptedAt: now, pendingNotBefore: notBefore };
    if (await store.write(settled, current.etag)) {
      final = settled;
      break;
    }
  }
  return { state: final, sent: notification, delivered, pending: final.pending !== null, nextAttemptAt: nextAttemptOf(final, leaseMs) };
}

/** When the pending notification may be tried again: its `Retry-After`, else the lease after the last attempt. */
function nextAttemptOf(state: AlertState, leaseMs: number): string | undefined {
  if (!state.pending) return undefined;
  if (state.pendingNotBefore) return state.pendingNotBefore;
  const atMs = state.pendingAttemptedAt ? Date.parse(state.pendingAttemptedAt) : Number.NaN;
  return Number.isFinite(atMs) ? new Date(atMs + leaseMs).toISOString() : undefined;
}

function isDue(state: AlertState, nowMs: number, leaseMs: number): boolean {
  const next = nextAttemptOf(state, leaseMs);
  if (next === undefined) return true;
  const atMs = Date.parse(next);
  return !Number.isFinite(atMs) || nowMs >= atMs;
}

function isSameNotification(a: AlertNotification | null, b: AlertNotification): boolean {
  return a !== null && a.kind === b.kind && a.at === b.at && a.health === b.health && a.pool === b.pool;
}

/**
 * One message for a notification that was never delivered and the one that follows it, so the channel hears both:
 * e.g. "drift from T1 to T2, now recovered". Keeps the newer notification's id, kind and health; the older one's
 * message is quoted. A pending reminder followed by another reminder is simply replaced (it said nothing new).
 */
export function combine(older: AlertNotification, newer: AlertNotification): AlertNotification {
  if (older.kind === 'reminder' && newer.kind === 'reminder') return newer;
  const span = `${older.health} from ${older.at} to ${newer.at}`;
  const lead =
    newer.kind === 'recovery'
      ? `${span}, now recovered (the ${older.kind} could not be delivered at the time: ${older.message}).`
      : `${span}, now ${newer.health} (the earlier ${older.kind} could not be delivered at the time: ${older.message}).`;
  // Bounded: a chain of undelivered notifications must not grow the message without end.
  return { ...newer, message: truncateValue(`${lead} ${newer.message}`, MAX_COMBINED_MESSAGE_LENGTH) };
}
