import { computeExpectedShares } from './computeExpectedShares';
import { DefinitionError } from './DefinitionError';
import { chooseIdentification, validatePoolDocument } from './validatePoolDocument';
import type {
  ApimLocation,
  DefinitionIssue,
  BackendDefinition,
  CircuitBreakerRule,
  PoolDefinitionDocument,
  ProbeSettings,
  ResolvedBackend,
  ResolvedPool,
} from './types';

/** Defaults of the optional sections, as documented in `types.ts` and the JSON Schema. */
export const POOL_DEFAULTS = Object.freeze({
  armApiVersion: '2024-05-01',
  deployment: 'gpt-4o',
  apiVersion: '2024-02-01',
  subscriptionKeyHeader: 'api-key',
} as const);

/**
 * Validates an already-parsed pool definition (a file's JSON, or a document rebuilt from what ARM returns)
 * and returns it fully defaulted, deeply frozen, with each backend's expected share.
 *
 * Choices (see the JSON Schema's descriptions too):
 * - An absent `priority` is 0, the highest priority; absent and explicit priorities may be mixed.
 * - Inside one priority group either every member has a `weight` or none has (equal split); a mix is
 *   rejected because APIM's handling of it is undocumented. A group whose weights are all 0 is rejected.
 * - `expectedShare`/`isPrimary` assume every backend is available (see `computeExpectedShares`).
 * - `apim` is resolved only when subscriptionId, resourceGroup and serviceName are all given;
 *   `apimDeclared` keeps a partial section for settings to complete.
 *
 * @param document the parsed JSON.
 * @param source file name or origin, used in the error message.
 * @param parseIssues problems the JSON parser found in the text of an otherwise readable document (numbers that
 *   are not exactly representable), reported together with the rest.
 * @throws DefinitionError listing every problem, each with its JSON path.
 */
export function resolvePool(document: unknown, source?: string, parseIssues: readonly DefinitionIssue[] = []): ResolvedPool {
  const issues = validatePoolDocument(document, parseIssues);
  if (issues.length > 0) {
    throw new DefinitionError(issues, source);
  }
  // The validator has checked every member and type the cast below relies on.
  const valid = document as PoolDefinitionDocument;
  const shares = computeExpectedShares(valid.pool.backends);
  const primaryPriority = Math.min(...valid.pool.backends.map((backend) => backend.priority ?? 0));
  const backends = valid.pool.backends.map(
    (backend): ResolvedBackend => ({
      name: backend.name,
      url: backend.url,
      region: backend.region,
      priority: backend.priority ?? 0,
      weight: backend.weight,
      identifier: backend.identifier,
      circuitBreaker: copyBreaker(backend),
      expectedShare: shares.get(backend.name) ?? 0,
      isPrimary: (backend.priority ?? 0) === primaryPriority,
    }),
  );
  const apimDeclared = resolveApimDeclared(valid);
  const resolved: ResolvedPool = {
    name: valid.pool.name,
    description: valid.pool.description,
    backends,
    apim: completeApim(apimDeclared),
    apimDeclared,
    probe: resolveProbe(document),
    gateway: {
      url: valid.gateway?.url?.replace(/\/+$/, ''),
      subscriptionKeySetting: valid.gateway?.subscriptionKeySetting,
    },
    alerts: { webhookUrlSetting: valid.alerts?.webhookUrlSetting },
  };
  return deepFreeze(resolved);
}

function copyBreaker(backend: BackendDefinition): CircuitBreakerRule | undefined {
  const rule = backend.circuitBreaker;
  if (rule === undefined) {
    return undefined;
  }
  const condition = rule.failureCondition;
  return {
    name: rule.name,
    failureCondition: {
      ...(condition.count !== undefined ? { count: condition.count } : {}),
      ...(condition.percentage !== undefined ? { percentage: condition.percentage } : {}),
      interval: condition.interval,
      ...(condition.statusCodeRanges !== undefined
        ? { statusCodeRanges: condition.statusCodeRanges.map((range) => ({ min: range.min, max: range.max })) }
        : {}),
      ...(condition.errorReasons !== undefined ? { errorReasons: [...condition.errorReasons] } : {}),
    },
    tripDuration: rule.tripDuration,
    ...(rule.acceptRetryAfter !== undefined ? { acceptRetryAfter: rule.acceptRetryAfter } : {}),
  };
}

function resolveApimDeclared(document: PoolDefinitionDocument): Partial<ApimLocation> | undefined {
  const apim = document.apim;
  if (apim === undefined) {
    return undefined;
  }
  return {
    ...(apim.subscriptionId !== undefined ? { subscriptionId: apim.subscriptionId } : {}),
    ...(apim.resourceGroup !== undefined ? { resourceGroup: apim.resourceGroup } : {}),
    ...(apim.serviceName !== undefined ? { serviceName: apim.serviceName } : {}),
    armApiVersion: apim.armApiVersion ?? POOL_DEFAULTS.armApiVersion,
    ...(apim.apiId !== undefined ? { apiId: apim.apiId } : {}),
  };
}

function completeApim(declared: Partial<ApimLocation> | undefined): ApimLocation | undefined {
  if (
    declared?.subscriptionId === undefined ||
    declared.resourceGroup === undefined ||
    declared.serviceName === undefined
  ) {
    return undefined;
  }
  return {
    subscriptionId: declared.subscriptionId,
    resourceGroup: declared.resourceGroup,
    serviceName: declared.serviceName,
    armApiVersion: declared.armApiVersion ?? POOL_DEFAULTS.armApiVersion,
    ...(declared.apiId !== undefined ? { apiId: declared.apiId } : {}),
  };
}

function resolveProbe(document: unknown): ProbeSettings {
  const probe = (document as PoolDefinitionDocument).probe;
  return {
    deployment: probe?.deployment ?? POOL_DEFAULTS.deployment,
    apiVersion: probe?.apiVersion ?? POOL_DEFAULTS.apiVersion,
    subscriptionKeyHeader: probe?.subscriptionKeyHeader ?? POOL_DEFAULTS.subscriptionKeyHeader,
    identify: chooseIdentification(document),
    // A null-prototype copy: a header named `__proto__` or `constructor` stays a plain member.
    headers: Object.assign(Object.create(null) as Record<string, string>, probe?.headers ?? {}),
    ...(probe?.tokenLimitPerMinute !== undefined ? { tokenLimitPerMinute: probe.tokenLimitPerMinute } : {}),
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) {
      deepFreeze(member);
    }
  }
  return value;
}
