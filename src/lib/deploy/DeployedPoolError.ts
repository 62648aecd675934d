/** The deployed pool could not be read as a pool (absent, or the resource is not of type Pool). */
export class DeployedPoolError extends Error {
  /** `PoolNotFound` or `NotAPool`. */
  readonly code: 'PoolNotFound' | 'NotAPool';
  /** The pool's backend id. */
  readonly resource: string;

  constructor(message: string, fields: { code: 'PoolNotFound' | 'NotAPool'; resource: string }, options?: { cause?: Error }) {
    super(message, options);
    this.name = 'DeployedPoolError';
    this.code = fields.code;
    this.resource = fields.resource;
  }
}
