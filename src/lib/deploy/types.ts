/** Outcomes of deploying the pool definition through ARM and of comparing deployed with declared. */

export type DeployMode = 'deploy' | 'verify-only';

/** One resource the deployer touched or would touch. */
export interface DeployAction {
  /** Backend id, e.g. `openai-instance1`. */
  readonly resource: string;
  readonly kind: 'backend' | 'pool';
  /** What the plan said: create (absent), update (differs), none (identical). */
  readonly plan: 'create' | 'update' | 'none';
  /** What happened: written, unchanged, failed, not-attempted (an earlier write failed), planned (dry run). */
  readonly result: 'written' | 'unchanged' | 'failed' | 'not-attempted' | 'planned';
  /** Fields that differ, for `update`. */
  readonly changedFields: readonly string[];
  readonly error?: DeployError;
  /** The differences behind `update` (declared = what the definition wants, deployed = what ARM held). */
  readonly differences?: readonly ConfigDifference[];
  /** Where a `failed` action failed: reading the current state, or writing. */
  readonly phase?: 'read' | 'write';
}

/** Error details safe to show: never a token. */
export interface DeployError {
  readonly message: string;
  /** ARM `error.code`, e.g. `AuthorizationFailed`. */
  readonly code?: string;
  readonly status?: number;
  /** e.g. `PUT backends/openai-instance1`. */
  readonly operation?: string;
}

export interface DeployOutcome {
  readonly mode: DeployMode;
  /** `succeeded` (all written or unchanged), `failed` (see actions), `skipped` (nothing to do: no APIM set, verify-only). */
  readonly status: 'succeeded' | 'failed' | 'skipped';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly actions: readonly DeployAction[];
  readonly error?: DeployError;
  /** Human summary, e.g. "2 backends unchanged, pool updated (weight of openai-instance2)". */
  readonly summary: string;
}

/** One field where what is deployed differs from what is declared. */
export interface ConfigDifference {
  /** Backend id or the pool name. */
  readonly resource: string;
  /** e.g. `pool.members[openai-instance2].weight`, `url`, `circuitBreaker.tripDuration`, `members`. */
  readonly field: string;
  readonly declared: string | number | boolean | null;
  readonly deployed: string | number | boolean | null;
}

export interface ConfigDriftReport {
  readonly checkedAt: string;
  readonly differences: readonly ConfigDifference[];
  /** Set when the deployed definition could not be read (no difference is claimed then). */
  readonly error?: DeployError;
}

/** A warning about the API policy (never a failure). */
export interface PolicyFinding {
  readonly code: 'no-set-backend-service' | 'retry-matches-reason-text' | 'retry-count-too-low' | 'no-buffer-request-body' | string;
  readonly message: string;
}
