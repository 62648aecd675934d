import { computeExpectedShares } from '../pool/computeExpectedShares';
import type { ApimLocation, CircuitBreakerRule, ResolvedBackend, ResolvedPool } from '../pool/types';
import type { ArmBackendResource, ArmCircuitBreakerRule, ArmClient } from './armClient';
import { memberKey, memberName } from './backendArmId';
import { DeployedPoolError } from './DeployedPoolError';

/** What ARM holds for the pool, as a ResolvedPool (the expectation in `verify-only` mode) plus the raw resources. */
export interface DeployedPool {
  /**
   * Deployed members, priorities, weights, URLs and breaker rules; expected shares computed from the
   * deployed weights. ARM has no region: `region`/`identifier` (and the probe settings) come from the
   * declared definition, matched by backend name, when given.
   */
  readonly pool: ResolvedPool;
  readonly raw: {
    readonly pool: ArmBackendResource;
    /** Member backends read, keyed by name as the pool references them. */
    readonly backends: Readonly<Record<string, ArmBackendResource>>;
    /** Members the pool references that do not exist (their URL is empty). */
    readonly missingMembers: readonly string[];
    /** Members referenced by the ARM id of another service (not read; URL empty). */
    readonly foreignMembers: readonly string[];
  };
}

/** Options of {@link readDeployedPool}. */
export interface ReadDeployedPoolOptions {
  client: ArmClient;
  location: ApimLocation;
  poolName: string;
  /** The declared definition: source of regions, identifiers and probe settings. */
  declared?: ResolvedPool | undefined;
  signal?: AbortSignal | undefined;
}

const DEFAULT_PROBE: ResolvedPool['probe'] = {
  deployment: 'gpt-4o',
  apiVersion: '2024-02-01',
  subscriptionKeyHeader: 'api-key',
  identify: { mode: 'region', header: 'x-ms-region' },
  headers: {},
};

/**
 * Reads the pool backend and each member backend from ARM (reads only).
 *
 * @throws DeployedPoolError when the pool does not exist or is not of type Pool.
 * @throws ArmRequestError when ARM cannot be read (403 names the Reader role).
 */
export async function readDeployedPool(options: ReadDeployedPoolOptions): Promise<DeployedPool> {
  const { client, location, poolName, declared, signal } = options;
  const poolResource = await client.getBackend(location, poolName, signal);
  if (poolResource === null) {
    throw new DeployedPoolError(`The pool backend "${poolName}" does not exist on APIM service "${location.serviceName}".`, {
      code: 'PoolNotFound',
      resource: poolName,
    });
  }
  const properties = poolResource.body.properties ?? {};
  if (typeof properties.type !== 'string' || properties.type.toLowerCase() !== 'pool') {
    throw new DeployedPoolError(
      `The backend "${poolName}" on APIM service "${location.serviceName}" is not a pool (type ${String(properties.type ?? 'Single')}).`,
      { code: 'NotAPool', resource: poolName },
    );
  }

  const declaredByName = new Map((declared?.backends ?? []).map((backend) => [backend.name.toLowerCase(), backend]));
  const backends: Record<string, ArmBackendResource> = {};
  const missingMembers: string[] = [];
  const foreignMembers: string[] = [];
  const members: Omit<ResolvedBackend, 'expectedShare' | 'isPrimary'>[] = [];
  for (const item of properties.pool?.services ?? []) {
    const key = memberKey(item.id, location);
    const referenced = memberName(item.id);
    const known = declaredByName.get(referenced.toLowerCase());
    const name = known?.name ?? referenced;
    let url = '';
    let circuitBreaker: CircuitBreakerRule | undefined;
    if (key.startsWith('/')) {
      foreignMembers.push(item.id);
    } else {
      const member = await client.getBackend(location, referenced, signal);
      if (member === null) {
        missingMembers.push(name);
      } else {
        backends[name] = member.body;
        url = typeof member.body.properties.url === 'string' ? member.body.properties.url : '';
        circuitBreaker = fromArmRule(member.body.properties.circuitBreaker?.rules?.[0]);
      }
    }
    members.push({
      name,
      url,
      region: known?.region,
      priority: typeof item.priority === 'number' ? item.priority : 0,
      weight: typeof item.weight === 'number' ? item.weight : undefined,
      identifier: known?.identifier,
      circuitBreaker,
    });
  }

  const shares = computeExpectedShares(members);
  const bestPriority = Math.min(...members.map((member) => member.priority));
  const pool: ResolvedPool = {
    name: typeof poolResource.body.name === 'string' && poolResource.body.name !== '' ? poolResource.body.name : poolName,
    description: typeof properties.description === 'string' ? properties.description : undefined,
    backends: members.map((member) => ({
      ...member,
      expectedShare: shares.get(member.name) ?? 0,
      isPrimary: member.priority === bestPriority,
    })),
    apim: location,
    probe: declared?.probe ?? DEFAULT_PROBE,
    // Not ARM resources: where the API is reached and which settings hold its secrets come from the definition.
    gateway: declared?.gateway ?? { url: undefined, subscriptionKeySetting: undefined },
    alerts: declared?.alerts ?? { webhookUrlSetting: undefined },
  };
  return { pool, raw: { pool: poolResource.body, backends, missingMembers, foreignMembers } };
}

function fromArmRule(rule: ArmCircuitBreakerRule | undefined): CircuitBreakerRule | undefined {
  if (!rule) {
    return undefined;
  }
  const condition = rule.failureCondition ?? {};
  const failureCondition: {
    count?: number;
    percentage?: number;
    interval: string;
    statusCodeRanges?: { min: number; max: number }[];
    errorReasons?: string[];
  } = { interval: condition.interval ?? '' };
  if (typeof condition.count === 'number') {
    failureCondition.count = condition.count;
  }
  if (typeof condition.percentage === 'number') {
    failureCondition.percentage = condition.percentage;
  }
  if (Array.isArray(condition.statusCodeRanges)) {
    failureCondition.statusCodeRanges = condition.statusCodeRanges.map((range) => ({ min: range.min ?? 0, max: range.max ?? 0 }));
  }
  if (Array.isArray(condition.errorReasons)) {
    failureCondition.errorReasons = [...condition.errorReasons];
  }
  return {
    name: rule.name ?? '',
    failureCondition,
    tripDuration: rule.tripDuration ?? '',
    ...(typeof rule.acceptRetryAfter === 'boolean' ? { acceptRetryAfter: rule.acceptRetryAfter } : {}),
  };
}
