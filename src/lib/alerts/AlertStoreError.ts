/** A state store operation failed for a reason other than a lost race. Never carries a connection string. */
export class AlertStoreError extends Error {
  override readonly name = 'AlertStoreError';
  constructor(
    message: string,
    readonly store: 'sqlite' | 'table' | 'unknown',
    readonly operation: 'read' | 'write' | 'appendLog' | 'recent' | 'createTable',
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
