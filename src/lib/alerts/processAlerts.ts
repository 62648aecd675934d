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
}

export const DEFAULT_DELIVERY_LEASE_MS = 120_000;
/** Attempts to win the conditional write before giving up (each loss means another run changed the state). */
const MAX_WRITE_ATTEMPTS = 5;

/**
 * One alerting step: read the state, decide with `nextAlertState`, claim the decision with a conditional write
 * (losing the race → re-read and re-decide, so of two concurrent runs exactly one delivers), deliver to every
 * notifier, then clear `pending` — or keep it, with the channels that still owe it, for the next run to retry.
 * A failed delivery never throws (it is logged and stays pending); a store failure does (`AlertStoreError`).
 * Every delivery attempt is appended to the log.
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
      if (next.pending) {
        log(`alerts: pending ${next.pending.kind} for pool ${pool} superseded by a new ${notification.kind}`);
      }
      toDeliver = notification;
      claimed = { ...next, pending: notification, pendingChannels: allChannels, pendingAttemptedAt: now };
    } else if (next.pending && isLeaseExpired(next.pendingAttemptedAt, nowMs, leaseMs)) {
      toDeliver = next.pending;
      const owed = (next.pendingChannels ?? allChannels).filter((c) => allChannels.includes(c));
      // A channel that no longer exists cannot be retried; deliver to all rather than to none.
      channels = owed.length > 0 ? owed : allChannels;
      claimed = { ...next, pendingAttemptedAt: now };
    }

    if (current && JSON.stringify(current.state) === JSON.stringify(claimed)) {
      return { state: current.state, sent: null, delivered: false, pending: current.state.pending !== null };
    }
    if (!(await store.write(claimed, current?.etag ?? null))) {
      log(`alerts: state of pool ${pool} changed concurrently; re-reading (attempt ${attempt})`);
      continue;
    }
    if (!toDeliver) {
      return { state: claimed, sent: null, delivered: false, pending: claimed.pending !== null };
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
  const succeeded: string[] = [];
  const failed: string[] = [];
  for (const notifier of options.notifiers.filter((n) => channels.includes(n.name))) {
    try {
      await notifier.send(notification);
      succeeded.push(notifier.name);
    } catch (error) {
      failed.push(notifier.name);
      log(`alerts: ${notification.kind} (${notification.health}) for pool ${pool} not delivered to ${notifier.name}: ${ensureError(error).message}`);
    }
  }
  const delivered = failed.length === 0;
  if (succeeded.length > 0) log(`alerts: ${notification.kind} (${notification.health}) for pool ${pool} delivered to ${succeeded.join(', ')}`);
  await store.appendLog({ ...notification, delivered, channels: succeeded });

  // Settle `pending` on whatever the state is now (another run may have written meanwhile), if it is still ours.
  let final: AlertState = claimed;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await store.read(pool);
    if (!current || !isSameNotification(current.state.pending, notification)) {
      final = current?.state ?? claimed;
      break;
    }
    const settled: AlertState = delivered
      ? { ...current.state, pending: null, pendingChannels: null, pendingAttemptedAt: null }
      : { ...current.state, pendingChannels: failed, pendingAttemptedAt: now };
    if (await store.write(settled, current.etag)) {
      final = settled;
      break;
    }
  }
  return { state: final, sent: notification, delivered, pending: final.pending !== null };
}

function isLeaseExpired(attemptedAt: string | null | undefined, nowMs: number, leaseMs: number): boolean {
  if (!attemptedAt) return true;
  const atMs = Date.parse(attemptedAt);
  return !Number.isFinite(atMs) || nowMs - atMs >= leaseMs;
}

function isSameNotification(a: AlertNotification | null, b: AlertNotification): boolean {
  return a !== null && a.kind === b.kind && a.at === b.at && a.health === b.health && a.pool === b.pool;
}
