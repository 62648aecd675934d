/**
 * A telemetry adapter cannot be set up from the given options. Names the option, never echoes its value
 * (a connection string carries the instrumentation key).
 */
export class TelemetrySetupError extends Error {
  override readonly name = 'TelemetrySetupError';
  constructor(
    readonly option: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Invalid telemetry option ${option}: ${reason}`, options);
  }
}
