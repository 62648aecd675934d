import type { ApimLocation, CircuitBreakerRule, ResolvedBackend, ResolvedPool } from '../pool/types';
import type { ArmBackendProperties, ArmCircuitBreakerRule, ArmPoolItem } from './armClient';
import { backendArmId } from './backendArmId';

/** A resolved backend, optionally with the description the definition file may carry. */
export type BackendWithDescription = ResolvedBackend & { readonly description?: string | undefined };

/** ARM `properties` of a single backend. */
export interface SingleBackendProperties extends ArmBackendProperties {
  url: string;
  protocol: 'http';
  description?: string;
  circuitBreaker?: { rules: ArmCircuitBreakerRule[] };
}

/** ARM `properties` of a pool backend: no `url`, no `protocol` ("Url is not supported for backend pool."). */
export interface PoolBackendProperties extends ArmBackendProperties {
  type: 'Pool';
  description?: string;
  pool: { services: ArmPoolItem[] };
}

/**
 * ARM `properties` of a single backend (Microsoft.ApiManagement 2024-05-01): `url`, `protocol: 'http'`,
 * optional description and one circuit-breaker rule (the service accepts one rule per backend).
 */
export function toBackendProperties(backend: BackendWithDescription): SingleBackendProperties {
  const properties: SingleBackendProperties = { url: backend.url, protocol: 'http' };
  if (backend.description !== undefined && backend.description !== '') {
    properties.description = backend.description;
  }
  if (backend.circuitBreaker) {
    properties.circuitBreaker = { rules: [toArmRule(backend.circuitBreaker)] };
  }
  return properties;
}

/**
 * ARM `properties` of the pool backend: `type: 'Pool'`, members by full ARM id with their integer
 * priority and (when declared) weight, and no `url`/`protocol`.
 */
export function toPoolProperties(pool: ResolvedPool, location: ApimLocation): PoolBackendProperties {
  const properties: PoolBackendProperties = {
    type: 'Pool',
    pool: {
      services: pool.backends.map((backend) => {
        const item: ArmPoolItem = { id: backendArmId(location, backend.name), priority: backend.priority };
        if (backend.weight !== undefined) {
          item.weight = backend.weight;
        }
        return item;
      }),
    },
  };
  if (pool.description !== undefined && pool.description !== '') {
    properties.description = pool.description;
  }
  return properties;
}

function toArmRule(rule: CircuitBreakerRule): ArmCircuitBreakerRule {
  const condition = rule.failureCondition;
  const failureCondition: NonNullable<ArmCircuitBreakerRule['failureCondition']> = {};
  if (condition.count !== undefined) {
    failureCondition.count = condition.count;
  }
  if (condition.percentage !== undefined) {
    failureCondition.percentage = condition.percentage;
  }
  failureCondition.interval = condition.interval;
  if (condition.statusCodeRanges !== undefined) {
    failureCondition.statusCodeRanges = condition.statusCodeRanges.map((range) => ({ min: range.min, max: range.max }));
  }
  if (condition.errorReasons !== undefined) {
    failureCondition.errorReasons = [...condition.errorReasons];
  }
  const armRule: ArmCircuitBreakerRule = { name: rule.name, failureCondition, tripDuration: rule.tripDuration };
  if (rule.acceptRetryAfter !== undefined) {
    armRule.acceptRetryAfter = rule.acceptRetryAfter;
  }
  return armRule;
}
