/** Errors of the local SQLite store. Messages name the operation and the field, never a secret. */

/** An argument of a store method is invalid (names the field and the bad value). */
export class StoreInputError extends Error {
  override readonly name = 'StoreInputError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`store: "${field}" ${message}`);
    this.field = field;
  }
}

/** A store operation failed (unknown run, duplicate probe, schema newer than this build, SQLite error …). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  /** e.g. `recordProbe`, `open`. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: { cause: Error }) {
    super(`store ${operation}: ${message}`, options);
    this.operation = operation;
  }
}
