/**
 * A failed ARM management call, safe to log and show: it carries the ARM `error.code` and message, the
 * operation and the resource, and never a token or a request header (the cause is rebuilt from the
 * transport error's message only, because axios errors carry `config.headers` with the bearer token).
 */
export class ArmRequestError extends Error {
  /** HTTP status, or undefined when no response arrived (network error, timeout, abort, credential failure). */
  readonly status: number | undefined;
  /** ARM `error.code` (e.g. `AuthorizationFailed`), or a local code: `NetworkError`, `Timeout`, `Aborted`, `CredentialUnavailable`, `InvalidResponse`. */
  readonly code: string;
  /** e.g. `PUT backends/openai-instance1`. */
  readonly operation: string;
  /** The full ARM resource id the call addressed. */
  readonly resource: string;
  /** The request URL (ARM host, path and api-version; it never holds a secret). */
  readonly url: string;

  constructor(
    message: string,
    fields: { status: number | undefined; code: string; operation: string; resource: string; url: string },
    options?: { cause?: Error },
  ) {
    super(message, options);
    this.name = 'ArmRequestError';
    this.status = fields.status;
    this.code = fields.code;
    this.operation = fields.operation;
    this.resource = fields.resource;
    this.url = fields.url;
  }
}
