/**
 * A log query failed as a whole (403, 404, bad request, network …). Names the target (workspace id or resource
 * id) and the query, never a token: the SDK's `RestError` keeps the request — with its `Authorization`
 * header — so it is not kept as the cause; the cause is a plain copy of its name, code and message.
 */
export class LogsQueryError extends Error {
  override readonly name = 'LogsQueryError';
  constructor(
    /** e.g. `workspace 0a1b…` or `resource /subscriptions/…/components/x`. */
    readonly target: string,
    /** Which of the verifier's queries failed, e.g. `probeSummary`. */
    readonly queryName: string,
    /** HTTP status, when the service answered. */
    readonly statusCode: number | undefined,
    /** Service or SDK error code, e.g. `InsufficientAccessError`, `ECONNREFUSED`. */
    readonly code: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Log query ${queryName} against ${target} failed${statusCode === undefined ? '' : ` with HTTP ${statusCode}`}${
        code === undefined ? '' : ` (${code})`
      }: ${detail}`,
      options,
    );
  }
}
