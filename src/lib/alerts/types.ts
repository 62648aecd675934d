/** Alerting state machine types: one page per incident, a reminder while it lasts, a recovery notice. */

/**
 * `outage`: every probe failed — the pool answered nothing (the worst state: no traffic is served at all).
 * `auth-failure`: a backend rejects the gateway's managed identity (401/403), so its share of calls fails.
 * `blind`: the verifier itself cannot probe (connection refused, DNS, TLS, the gateway refusing its key or URL): its
 * own incident — nothing is known about the pool, which is never reported as answering nothing.
 */
export type PoolHealth = 'ok' | 'drift' | 'failover' | 'config-drift' | 'auth-failure' | 'outage' | 'blind';

export interface AlertState {
  readonly pool: string;
  readonly health: PoolHealth;
  /** When the current health began, ISO 8601. */
  readonly since: string;
  /**
   * Last time a notification for the current incident was sent (alert or reminder), ISO 8601. Set when the
   * notification is emitted; if its delivery fails it stays in `pending` and is retried, so reminders keep their
   * rhythm instead of piling up behind a dead webhook.
   */
  readonly lastNotifiedAt: string | null;
  /** A notification that could not be delivered yet (webhook down); retried next run. */
  readonly pending: AlertNotification | null;
  /**
   * Damping: consecutive observations milder than `health` while an incident is open. The incident recovers (or
   * steps down to a milder bad state, the worst one seen in the streak) only after `recoveryObservations` of them in
   * a row; any observation as bad as `health` resets it. Absent/null = no streak.
   */
  readonly improving?: { readonly toward: PoolHealth; readonly observations: number; readonly since: string } | null;
  /** When delivery of `pending` was last attempted, ISO 8601: a lease so two concurrent runs never deliver it twice. */
  readonly pendingAttemptedAt?: string | null;
  /** Delivery attempts of `pending` so far (bounded, see `processAlerts`). */
  readonly pendingAttempts?: number | null;
  /** No new attempt before this time, ISO 8601: the lease, or the channel's `Retry-After` (up to the reminder interval). */
  readonly pendingNotBefore?: string | null;
  /** The current (or last) incident's id: the pool and when it began. Absent in state written by older versions. */
  readonly incidentId?: string | null;
  /** Notifications emitted for `incidentId` so far (alert = 1, then reminders, steps and the recovery). */
  readonly sequence?: number | null;
  /** Notifier names that still owe `pending` (absent/null = all notifiers). */
  readonly pendingChannels?: readonly string[] | null;
}

export interface AlertNotification {
  /**
   * Stable id of this notification, `<incidentId>#<sequence>`: the same on every delivery attempt (payload and the
   * `X-Alert-Id` / `Idempotency-Key` headers), so a channel that got it twice can tell. Absent in old state.
   */
  readonly id?: string;
  readonly incidentId?: string;
  readonly sequence?: number;
  readonly kind: 'alert' | 'reminder' | 'recovery';
  readonly pool: string;
  readonly health: PoolHealth;
  readonly previousHealth: PoolHealth;
  readonly at: string;
  /** One sentence with numbers, safe to show (no secrets). */
  readonly message: string;
}

/** A record of a notification for the report's "recent alerts". */
export interface AlertLogEntry extends AlertNotification {
  readonly delivered: boolean;
  readonly channels: readonly string[];
}

/** A channel a notification is delivered to (webhook, App Insights event …). `send` throws when delivery failed. */
export interface Notifier {
  /** Shown in logs and in `AlertLogEntry.channels`, e.g. `webhook (teams)`. Never contains a URL or key. */
  readonly name: string;
  send(notification: AlertNotification): Promise<void>;
}
