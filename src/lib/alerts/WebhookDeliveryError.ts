/** A webhook did not accept a notification. The message names the format and status, never the URL (a secret). */
export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
  constructor(
    message: string,
    readonly format: string,
    /** HTTP status of the last attempt, or undefined for timeout/network failures. */
    readonly status: number | undefined,
    readonly attempts: number,
    options?: { cause?: unknown; retryAfterMs?: number | undefined },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** The channel's `Retry-After` of the last attempt, in ms (honoured by `processAlerts` up to the reminder interval). */
  readonly retryAfterMs: number | undefined;
}
