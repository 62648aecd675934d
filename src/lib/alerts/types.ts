/** Alerting state machine types: one page per incident, a reminder while it lasts, a recovery notice. */

export type PoolHealth = 'ok' | 'drift' | 'failover' | 'config-drift';

export interface AlertState {
  readonly pool: string;
  readonly health: PoolHealth;
  /** When the current health began, ISO 8601. */
  readonly since: string;
  /** Last time a notification for the current incident was delivered (alert or reminder), ISO 8601. */
  readonly lastNotifiedAt: string | null;
  /** A notification that could not be delivered yet (webhook down); retried next run. */
  readonly pending: AlertNotification | null;
}

export interface AlertNotification {
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
