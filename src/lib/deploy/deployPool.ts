import type { ApimLocation, ResolvedPool } from '../pool/types';
import type { ArmBackendProperties, ArmBackendResource, ArmClient } from './armClient';
import { ArmRequestError } from './ArmRequestError';
import { diffBackendProperties, diffPoolProperties, durationInSeconds } from './diffArmProperties';
import { toBackendProperties, toPoolProperties } from './toArmBodies';
import type { ConfigDifference, DeployAction, DeployError, DeployMode, DeployOutcome } from './types';

/** Options of {@link deployPool}. */
export interface DeployPoolOptions {
  client: ArmClient;
  /** The APIM service; absent → the pool's own `apim`; neither → status `skipped`. */
  location?: ApimLocation | undefined;
  mode: DeployMode;
  /** Plan only: read and compare, never write (actions end `planned`). */
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Epoch milliseconds for `startedAt`/`finishedAt`; default `Date.now`. */
  now?: () => number;
  /**
   * Overall deadline of this deploy, reads, retries and writes together (DEPLOY_DEADLINE_SECONDS); default
   * {@link DEFAULT_DEPLOY_DEADLINE_IN_MS}. Past it the call in flight is aborted and the outcome says what was and
   * was not written. Without it, an ARM endpoint that never answers held one deploy for 375 s (issue 15).
   */
  deadlineInMs?: number;
}

/** Default overall deadline of one deploy. */
export const DEFAULT_DEPLOY_DEADLINE_IN_MS = 120_000;

/** How many times a 412 (changed since read) leads to re-read and re-compare before giving up. */
const MAX_CONFLICT_ROUNDS = 3;

interface PlannedItem {
  readonly name: string;
  readonly kind: 'backend' | 'pool';
  readonly desired: ArmBackendProperties;
  current: { body: ArmBackendResource; etag: string | undefined } | null;
  plan: 'create' | 'update' | 'none';
  differences: ConfigDifference[];
  readError?: DeployError;
}

/**
 * Makes ARM hold the pool definition: every single backend first, then the pool (members must exist).
 *
 * Each resource is read, compared field by field (ARM's extra fields and defaults are normalised away)
 * and written only when it differs; an update carries `If-Match: <etag>` and keeps the fields the
 * definition does not manage (`credentials`, `tls` …). A 412 means someone changed the resource since
 * it was read: it is re-read and re-compared (at most 3 rounds), never overwritten blindly.
 *
 * `dryRun` or mode `verify-only` → reads only, no write (status `skipped`, actions = the plan).
 * No APIM location → `skipped`. Problems detectable before writing (bad ids, a member that is itself a
 * pool, a single backend already named like the pool) → `failed` with nothing written. The first failed
 * write stops the run; the outcome says per resource `written` / `unchanged` / `failed` / `not-attempted`.
 *
 * Expected failures (ArmRequestError) become data; only programmer errors throw.
 */
export async function deployPool(pool: ResolvedPool, options: DeployPoolOptions): Promise<DeployOutcome> {
  const deadlineInMs = options.deadlineInMs ?? DEFAULT_DEPLOY_DEADLINE_IN_MS;
  if (!(deadlineInMs > 0)) throw new RangeError(`deadlineInMs must be a positive number of ms, got ${deadlineInMs}`);
  const controller = new AbortController();
  let overdue = false;
  const timer = setTimeout(() => {
    overdue = true;
    controller.abort();
  }, deadlineInMs);
  const forward = (): void => controller.abort();
  if (options.signal?.aborted) controller.abort();
  options.signal?.addEventListener('abort', forward, { once: true });
  try {
    const outcome = await deployUntilAborted(pool, { ...options, signal: controller.signal });
    return overdue && outcome.status === 'failed' ? withDeadlineExceeded(outcome, deadlineInMs) : outcome;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', forward);
  }
}

/** The outcome of a deploy stopped by its deadline: what was written, what was not, and the write left in doubt. */
function withDeadlineExceeded(outcome: DeployOutcome, deadlineInMs: number): DeployOutcome {
  const label = (a: DeployAction): string => `${a.kind} ${a.resource}`;
  const written = outcome.actions.filter((a) => a.result === 'written');
  const unchanged = outcome.actions.filter((a) => a.result === 'unchanged');
  const notWritten = outcome.actions.filter((a) => a.result !== 'written' && a.result !== 'unchanged');
  const inFlight = outcome.actions.find((a) => a.result === 'failed' && a.phase === 'write');
  const message =
    `The deploy did not finish within ${deadlineInMs / 1000} s (DEPLOY_DEADLINE_SECONDS) and was stopped` +
    (inFlight ? `; the write of ${label(inFlight)} was in flight, so ARM may or may not have applied it.` : '.');
  const parts = [
    message,
    written.length > 0 ? `Written: ${written.map(label).join(', ')}.` : 'Nothing was written.',
    ...(unchanged.length > 0 ? [`Already as declared: ${unchanged.map(label).join(', ')}.`] : []),
    ...(notWritten.length > 0 ? [`Not written: ${notWritten.map(label).join(', ')}.`] : []),
  ];
  return { ...outcome, error: { message, code: 'DeployDeadlineExceeded', ...(outcome.error?.operation ? { operation: outcome.error.operation } : {}) }, summary: parts.join(' ') };
}

async function deployUntilAborted(pool: ResolvedPool, options: DeployPoolOptions): Promise<DeployOutcome> {
  const now = options.now ?? Date.now;
  const startedAt = new Date(now()).toISOString();
  const mode = options.mode;
  const writes = mode === 'deploy' && options.dryRun !== true;
  const finish = (
    status: DeployOutcome['status'],
    actions: DeployAction[],
    summary: string,
    error?: DeployError,
  ): DeployOutcome => ({
    mode,
    status,
    startedAt,
    finishedAt: new Date(now()).toISOString(),
    actions,
    ...(error ? { error } : {}),
    summary,
  });

  const location = options.location ?? pool.apim;
  if (location === undefined) {
    return finish(
      'skipped',
      [],
      'No APIM service is set (apim.subscriptionId, apim.resourceGroup and apim.serviceName in the definition, ' +
        'or APIM_SUBSCRIPTION_ID / APIM_RESOURCE_GROUP / APIM_SERVICE_NAME): nothing was read or deployed.',
    );
  }

  const problems = findDefinitionProblems(pool, location);
  if (problems.length > 0) {
    const message = `The definition cannot be deployed: ${problems.join('; ')}.`;
    return finish('failed', [], `${message} Nothing was read or written.`, { message, code: 'InvalidDefinition' });
  }

  const items: PlannedItem[] = [
    ...pool.backends.map(
      (backend): PlannedItem => ({
        name: backend.name,
        kind: 'backend',
        desired: toBackendProperties(backend),
        current: null,
        plan: 'create',
        differences: [],
      }),
    ),
    { name: pool.name, kind: 'pool', desired: toPoolProperties(pool, location), current: null, plan: 'create', differences: [] },
  ];

  // Read everything first: the plan is complete before the first write.
  for (const item of items) {
    try {
      item.current = await options.client.getBackend(location, item.name, options.signal);
      replan(item, location);
    } catch (error) {
      item.readError = toDeployError(error);
    }
  }

  const readFailures = items.filter((item) => item.readError !== undefined);
  if (readFailures.length > 0) {
    const actions = items.map((item) => toAction(item, item.readError ? 'failed' : 'not-attempted'));
    const first = readFailures[0]!.readError!;
    return finish(
      'failed',
      actions,
      `Could not read ${readFailures.map((item) => `${item.kind} ${item.name}`).join(', ')}: ${first.message} Nothing was written.`,
      first,
    );
  }

  const stateProblems = findStateProblems(items);
  if (stateProblems.length > 0) {
    const message = `Refusing to deploy: ${stateProblems.join('; ')}.`;
    return finish('failed', items.map((item) => toAction(item, 'not-attempted')), `${message} Nothing was written.`, {
      message,
      code: 'ConflictingResource',
    });
  }

  if (!writes) {
    const actions = items.map((item) => toAction(item, item.plan === 'none' ? 'unchanged' : 'planned'));
    const prefix = mode === 'verify-only' ? 'Verify-only, nothing written' : 'Dry run, nothing written';
    return finish('skipped', actions, `${prefix}: ${summarise(actions)}.`);
  }

  const actions: DeployAction[] = [];
  let failure: DeployError | undefined;
  for (const item of items) {
    if (failure !== undefined) {
      actions.push(toAction(item, 'not-attempted'));
      continue;
    }
    if (item.plan === 'none') {
      actions.push(toAction(item, 'unchanged'));
      continue;
    }
    const result = await write(item, location, options);
    if (result.ok) {
      actions.push(toAction(item, result.wrote ? 'written' : 'unchanged'));
    } else {
      failure = result.error;
      actions.push(toAction(item, 'failed', result.error, 'write'));
    }
  }
  const summary = summarise(actions);
  return failure
    ? finish('failed', actions, `Deployment failed: ${summary}.`, failure)
    : finish('succeeded', actions, `${capitalise(summary)}.`);
}

async function write(
  item: PlannedItem,
  location: ApimLocation,
  options: DeployPoolOptions,
): Promise<{ ok: true; wrote: boolean } | { ok: false; error: DeployError }> {
  for (let round = 0; ; round += 1) {
    const body = item.current ? mergeForUpdate(item.current.body.properties, item.desired, item.kind) : item.desired;
    const ifMatch = item.current?.etag;
    try {
      await options.client.putBackend(location, item.name, body, ifMatch ? { ifMatch } : {}, options.signal);
      return { ok: true, wrote: true };
    } catch (error) {
      if (!(error instanceof ArmRequestError) || error.status !== 412) {
        return { ok: false, error: toDeployError(error) };
      }
      if (round + 1 >= MAX_CONFLICT_ROUNDS) {
        return {
          ok: false,
          error: {
            message:
              `${error.operation}: the resource changed ${MAX_CONFLICT_ROUNDS} times between read and write (412); ` +
              'not overwritten. Run the deployment again once nobody else is editing it.',
            code: error.code,
            status: 412,
            operation: error.operation,
          },
        };
      }
    }
    // Someone changed it since we read it: look again, and write only if it still differs.
    try {
      item.current = await options.client.getBackend(location, item.name, options.signal);
    } catch (error) {
      return { ok: false, error: toDeployError(error) };
    }
    replan(item, location);
    if (item.plan === 'none') {
      return { ok: true, wrote: false };
    }
  }
}

function replan(item: PlannedItem, location: ApimLocation): void {
  if (item.current === null) {
    item.plan = 'create';
    item.differences = [];
    return;
  }
  const actual = item.current.body.properties ?? {};
  item.differences =
    item.kind === 'pool'
      ? diffPoolProperties(item.name, item.desired, actual, location)
      : diffBackendProperties(item.name, item.desired, actual);
  item.plan = item.differences.length > 0 ? 'update' : 'none';
}

/**
 * Managed fields come from the definition; everything else ARM holds is kept, because PUT replaces the whole
 * resource and a 2024-05-01 body knows nothing of fields set with newer api-versions or in the portal: a single
 * backend's `credentials`/`tls`/`proxy`, a pool's `pool.sessionAffinity` / `pool.failureResponse`, a member's
 * `preferredCarbonEmission`, a rule's `failureResponse` (2025-03-01-preview). The merge is field-deep inside
 * the managed objects: within `pool`, only `services` is managed (members matched by id keep their unknown
 * fields); within `circuitBreaker.rules`, rules matched by name keep theirs.
 */
function mergeForUpdate(existing: ArmBackendProperties, desired: ArmBackendProperties, kind: 'backend' | 'pool'): ArmBackendProperties {
  const managed = new Set(['type', 'pool', 'url', 'protocol', 'circuitBreaker']);
  // Connection settings of a single backend make no sense on a pool; ARM may echo defaults (e.g. tls) for any backend.
  const singleOnly = new Set(['credentials', 'tls', 'proxy', 'properties', 'resourceId']);
  const merged: ArmBackendProperties = {};
  for (const [key, value] of Object.entries(existing ?? {})) {
    if (value === null || value === undefined || managed.has(key) || (kind === 'pool' && singleOnly.has(key))) {
      continue;
    }
    merged[key] = value;
  }
  const result: ArmBackendProperties = { ...merged, ...desired };
  const existingPool = asRecord(existing?.pool);
  const desiredPool = asRecord(desired.pool);
  if (kind === 'pool' && existingPool !== undefined && desiredPool !== undefined) {
    const services = mergeListBy(existingPool.services, desiredPool.services, (item) => String(item.id ?? '').toLowerCase());
    result.pool = { ...withoutNulls(existingPool), ...desiredPool, ...(services === undefined ? {} : { services }) } as ArmBackendProperties['pool'];
  }
  const existingBreaker = asRecord(existing?.circuitBreaker);
  const desiredBreaker = asRecord(desired.circuitBreaker);
  if (existingBreaker !== undefined && desiredBreaker !== undefined) {
    const rules = mergeListBy(existingBreaker.rules, desiredBreaker.rules, (rule) => String(rule.name ?? ''));
    result.circuitBreaker = { ...withoutNulls(existingBreaker), ...desiredBreaker, ...(rules === undefined ? {} : { rules }) } as ArmBackendProperties['circuitBreaker'];
  }
  return result;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function withoutNulls(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null && value !== undefined));
}

/** The desired list, each item over the unknown fields of the existing item with the same key. */
function mergeListBy(existing: unknown, desired: unknown, keyOf: (item: Record<string, unknown>) => string): Record<string, unknown>[] | undefined {
  if (!Array.isArray(desired)) return undefined;
  const previous = new Map<string, Record<string, unknown>>();
  if (Array.isArray(existing)) {
    for (const item of existing) {
      const record = asRecord(item);
      if (record !== undefined) previous.set(keyOf(record), record);
    }
  }
  return desired.map((item) => {
    const record = asRecord(item) ?? {};
    const before = previous.get(keyOf(record));
    return before === undefined ? record : { ...withoutNulls(before), ...record };
  });
}

function toAction(
  item: PlannedItem,
  result: DeployAction['result'],
  error?: DeployError,
  phase?: 'read' | 'write',
): DeployAction {
  const readFailed = item.readError !== undefined;
  return {
    resource: item.name,
    kind: item.kind,
    // An unread resource has no known plan; `none` with phase `read` says so.
    plan: readFailed ? 'none' : item.plan,
    result,
    changedFields: item.differences.map((difference) => difference.field),
    ...(item.differences.length > 0 ? { differences: item.differences } : {}),
    ...(readFailed ? { error: item.readError, phase: 'read' as const } : {}),
    ...(error ? { error } : {}),
    ...(phase ? { phase } : {}),
  };
}

function toDeployError(error: unknown): DeployError {
  if (error instanceof ArmRequestError) {
    return {
      message: error.message,
      code: error.code,
      ...(error.status !== undefined ? { status: error.status } : {}),
      operation: error.operation,
    };
  }
  // Anything else is a programmer error (a bug in a client), not an outcome.
  throw error;
}

const BACKEND_ID = /^[^\s/\\?#%]{1,80}$/;
const SERVICE_NAME = /^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** Problems that would make ARM ids or bodies wrong; checked before any request. */
function findDefinitionProblems(pool: ResolvedPool, location: ApimLocation): string[] {
  const problems: string[] = [];
  if (!/^[^/\s?#]+$/.test(location.subscriptionId)) {
    problems.push(`apim.subscriptionId "${location.subscriptionId}" is not a subscription id`);
  }
  if (!/^[-\w._()]{1,90}$/.test(location.resourceGroup) || location.resourceGroup.endsWith('.')) {
    problems.push(`apim.resourceGroup "${location.resourceGroup}" is not a resource group name`);
  }
  if (location.serviceName.length > 50 || !SERVICE_NAME.test(location.serviceName)) {
    problems.push(`apim.serviceName "${location.serviceName}" is not an API Management service name (1–50 letters, digits, hyphens)`);
  }
  if (!BACKEND_ID.test(pool.name)) {
    problems.push(`pool.name "${pool.name}" is not a backend id (1–80 characters, no spaces, / \\ ? # %)`);
  }
  if (pool.backends.length < 1 || pool.backends.length > 30) {
    problems.push(`the pool has ${pool.backends.length} members; APIM accepts 1–30`);
  }
  const seen = new Set<string>([pool.name.toLowerCase()]);
  pool.backends.forEach((backend, index) => {
    const where = `pool.backends[${index}]`;
    if (!BACKEND_ID.test(backend.name)) {
      problems.push(`${where}.name "${backend.name}" is not a backend id (1–80 characters, no spaces, / \\ ? # %)`);
    }
    if (seen.has(backend.name.toLowerCase())) {
      problems.push(`${where}.name "${backend.name}" is used twice (backend ids are case-insensitive, and the pool has its own id)`);
    }
    seen.add(backend.name.toLowerCase());
    if (!isIntegerIn(backend.priority, 0, 100)) {
      problems.push(`${where}.priority ${backend.priority} is not an integer 0–100`);
    }
    if (backend.weight !== undefined && !isIntegerIn(backend.weight, 0, 100)) {
      problems.push(`${where}.weight ${backend.weight} is not an integer 0–100`);
    }
    if (!isHttpUrl(backend.url) || backend.url.length > 2000) {
      problems.push(`${where}.url "${backend.url}" is not an http(s) URL of at most 2000 characters`);
    }
    const breaker = backend.circuitBreaker;
    if (breaker) {
      for (const [field, value] of [
        ['failureCondition.interval', breaker.failureCondition.interval],
        ['tripDuration', breaker.tripDuration],
      ] as const) {
        if (durationInSeconds(value) === undefined) {
          problems.push(`${where}.circuitBreaker.${field} "${value}" is not an ISO 8601 duration`);
        }
      }
      for (const range of breaker.failureCondition.statusCodeRanges ?? []) {
        if (!isIntegerIn(range.min, 200, 599) || !isIntegerIn(range.max, 200, 599) || range.min > range.max) {
          problems.push(`${where}.circuitBreaker.failureCondition.statusCodeRanges ${range.min}-${range.max} is not a range within 200–599`);
        }
      }
    }
  });
  return problems;
}

/** Problems only the current ARM state reveals. */
function findStateProblems(items: readonly PlannedItem[]): string[] {
  const problems: string[] = [];
  for (const item of items) {
    if (item.current === null) {
      continue;
    }
    // ARM may omit `type` (or send null) for a single backend.
    const rawType = item.current.body.properties?.type;
    const type = typeof rawType === 'string' && rawType !== '' ? rawType : 'Single';
    if (item.kind === 'backend' && type.toLowerCase() === 'pool') {
      problems.push(`member ${item.name} already exists as a pool; a pool cannot contain a pool`);
    }
    if (item.kind === 'pool' && type.toLowerCase() !== 'pool') {
      problems.push(`${item.name} already exists as a ${type} backend; it will not be turned into a pool`);
    }
  }
  return problems;
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function describeChange(difference: ConfigDifference): string {
  return `${difference.field} ${difference.deployed ?? 'absent'} → ${difference.declared ?? 'absent'}`;
}

/** E.g. "2 backends unchanged, pool openai-instance-backend-pool updated (pool.members[openai-instance2].weight 3 → 1)". */
function summarise(actions: readonly DeployAction[]): string {
  const parts: string[] = [];
  const unchangedBackends = actions.filter((action) => action.kind === 'backend' && action.result === 'unchanged');
  if (unchangedBackends.length > 0) {
    parts.push(`${unchangedBackends.length} backend${unchangedBackends.length === 1 ? '' : 's'} unchanged`);
  }
  for (const action of actions) {
    if (action.kind === 'backend' && action.result === 'unchanged') {
      continue;
    }
    const label = `${action.kind} ${action.resource}`;
    const changes = action.differences?.length ? ` (${action.differences.map(describeChange).join(', ')})` : '';
    switch (action.result) {
      case 'written':
        parts.push(`${label} ${action.plan === 'create' ? 'created' : `updated${changes}`}`);
        break;
      case 'unchanged':
        parts.push(`${label} unchanged`);
        break;
      case 'planned':
        parts.push(`${label} would be ${action.plan === 'create' ? 'created (absent)' : `updated${changes}`}`);
        break;
      case 'failed':
        parts.push(`${label} failed${action.phase === 'read' ? ' to read' : ''} (${action.error?.code ?? 'error'}: ${action.error?.message ?? ''})`);
        break;
      case 'not-attempted':
        parts.push(`${label} not attempted`);
        break;
    }
  }
  return parts.join(', ');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
