import type { AlertNotification, AlertState, PoolHealth } from './types';

/** Options of the alert state machine. */
export interface NextAlertStateOptions {
  /** While an incident lasts, remind after this long without a notification (ms). */
  readonly reminderAfterMs: number;
  /**
   * Damping: consecutive milder observations needed before an open incident recovers or steps down. Default 2:
   * a pool hovering at the threshold (bad, ok, bad, ok …) keeps one incident open instead of paging every run.
   */
  readonly recoveryObservations?: number;
}

/** What the latest run observed. `message` is one sentence with numbers (the report headline), safe to show. */
export interface AlertObservation {
  readonly pool: string;
  readonly health: PoolHealth;
  readonly message: string;
  /**
   * False when an `ok` health only means "too little data" (the report was `inconclusive` or `no-data`, e.g. every
   * probe failed in a total outage). Such a run neither counts toward recovery nor resets a recovery streak; an open
   * incident stays open and keeps its reminders. Default true. See `isConclusive(report)`.
   */
  readonly conclusive?: boolean;
}

/** Severity order: a worse health escalates at once, a milder one must persist (damping). */
// A failover still serves every call; a backend rejecting the gateway's identity fails its share of them.
// Blind ranks above outage: while the verifier cannot probe, nothing it knew about the pool still holds.
const SEVERITY: Readonly<Record<PoolHealth, number>> = { ok: 0, 'config-drift': 1, drift: 2, failover: 3, 'auth-failure': 4, outage: 5, blind: 6 };

export const DEFAULT_RECOVERY_OBSERVATIONS = 2;

/**
 * The alerting state machine: one page per incident, a reminder while it lasts, a recovery notice. Pure.
 *
 * - `ok` → bad (`drift` | `failover` | `config-drift`): an `alert` at once. Each verdict already has a tiny
 *   false-alarm budget (α ≤ 1e-4 per run), so entering needs no confirmation.
 * - bad → worse bad (e.g. `drift` → `failover`): an `alert` at once (escalation).
 * - bad → milder (including `ok`): only after `recoveryObservations` consecutive milder observations (default 2);
 *   then a `recovery` (to `ok`) or an `alert` naming the milder state (step-down to the worst health seen in the
 *   streak). One bad observation resets the streak. This is the flapping damper.
 * - still bad, no streak in progress, `reminderAfterMs` since the last notification: a `reminder`.
 * - an inconclusive run (`conclusive: false`, health `ok` for lack of data) changes nothing: it is not a recovery.
 * - Never more than one notification per call.
 *
 * `pending`/`pendingChannels`/`pendingAttemptedAt` are carried over untouched; `processAlerts` owns delivery.
 * @throws RangeError when `reminderAfterMs` or `recoveryObservations` is not a positive number.
 */
export function nextAlertState(
  previous: AlertState | null,
  observed: AlertObservation,
  nowMs: number,
  options: NextAlertStateOptions,
): { state: AlertState; notification: AlertNotification | null } {
  const recoveryObservations = options.recoveryObservations ?? DEFAULT_RECOVERY_OBSERVATIONS;
  if (!(options.reminderAfterMs > 0)) throw new RangeError(`reminderAfterMs must be a positive number of ms, got ${options.reminderAfterMs}`);
  if (!Number.isInteger(recoveryObservations) || recoveryObservations < 1) {
    throw new RangeError(`recoveryObservations must be a positive integer, got ${recoveryObservations}`);
  }
  const now = new Date(nowMs).toISOString();
  const current: AlertState = previous ?? { pool: observed.pool, health: 'ok', since: now, lastNotifiedAt: null, pending: null };
  // A new incident begins when a bad health follows ok; every notification of it carries the next sequence number.
  const entering = current.health === 'ok' && SEVERITY[observed.health] > 0;
  const incidentId = entering || !current.incidentId ? `${observed.pool}@${now}` : current.incidentId;
  const sequence = (entering || !current.incidentId ? 0 : (current.sequence ?? 0)) + 1;
  const numbered = { incidentId, sequence };
  const notify = (kind: AlertNotification['kind'], health: PoolHealth, message: string): AlertNotification => ({
    id: `${incidentId}#${sequence}`,
    incidentId,
    sequence,
    kind,
    pool: observed.pool,
    health,
    previousHealth: current.health,
    at: now,
    message,
  });

  // Entering or escalating: page at once.
  if (SEVERITY[observed.health] > SEVERITY[current.health]) {
    return {
      state: { ...current, ...numbered, health: observed.health, since: now, lastNotifiedAt: now, improving: null },
      notification: notify('alert', observed.health, observed.message),
    };
  }

  if (current.health === 'ok') {
    return { state: { ...current, improving: null }, notification: null };
  }

  // Same bad state: reset any recovery streak, remind when due. A run without enough data to say "ok" is no
  // evidence of recovery: it keeps the incident (and any streak) as it is, reminders included.
  const inconclusive = observed.conclusive === false && observed.health === 'ok';
  if (observed.health === current.health || inconclusive) {
    const improving = inconclusive ? (current.improving ?? null) : null;
    const lastMs = current.lastNotifiedAt ? Date.parse(current.lastNotifiedAt) : Number.NEGATIVE_INFINITY;
    if (nowMs - lastMs >= options.reminderAfterMs && !improving) {
      return {
        state: { ...current, ...numbered, lastNotifiedAt: now, improving },
        notification: notify('reminder', current.health, `Still ${current.health} since ${current.since}: ${observed.message}`),
      };
    }
    return { state: { ...current, improving }, notification: null };
  }

  // Milder than the open incident: count the streak, keeping the worst health seen in it.
  const streak = current.improving;
  const toward: PoolHealth = streak && SEVERITY[streak.toward] > SEVERITY[observed.health] ? streak.toward : observed.health;
  const improving = { toward, observations: (streak?.observations ?? 0) + 1, since: streak?.since ?? now };
  if (improving.observations < recoveryObservations) {
    return { state: { ...current, improving }, notification: null };
  }
  if (toward === 'ok') {
    return {
      state: { ...current, ...numbered, health: 'ok', since: improving.since, lastNotifiedAt: now, improving: null },
      notification: notify(
        'recovery',
        'ok',
        `Recovered from ${current.health} (since ${current.since}) after ${improving.observations} consecutive ok runs: ${observed.message}`,
      ),
    };
  }
  return {
    state: { ...current, ...numbered, health: toward, since: improving.since, lastNotifiedAt: now, improving: null },
    notification: notify('alert', toward, `Now ${toward} (was ${current.health}): ${observed.message}`),
  };
}
