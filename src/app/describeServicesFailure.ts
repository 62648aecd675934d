import { ConfigError } from '../lib/config/ConfigError';
import { DefinitionError } from '../lib/pool/DefinitionError';
import { ensureError } from '../lib/util/errors';

/** Why the services could not be built, as one line that names settings but never their values. */
export interface ServicesFailure {
  /** e.g. `misconfigured: missing or invalid settings APIM_GATEWAY_URL, LOGS_SOURCE (see the logs for each problem)`. */
  readonly line: string;
  /** The settings at fault (empty when the failure is not a setting's). */
  readonly settings: readonly string[];
}

/**
 * The same line for `/api/health` (anonymous: names only, no values, nothing about backends) and the timer's log.
 * A `ConfigError` names its keys; a `DefinitionError` names POOL_DEFINITION_PATH; anything else only its class.
 */
export function describeServicesFailure(error: unknown): ServicesFailure {
  if (error instanceof ConfigError) {
    const settings = [...new Set(error.issues.map((issue) => issue.key))];
    return { line: `misconfigured: missing or invalid settings ${settings.join(', ')}`, settings };
  }
  if (error instanceof DefinitionError) {
    return { line: 'misconfigured: the pool definition at POOL_DEFINITION_PATH cannot be used', settings: ['POOL_DEFINITION_PATH'] };
  }
  return { line: `misconfigured: the app could not start (${ensureError(error).name})`, settings: [] };
}
