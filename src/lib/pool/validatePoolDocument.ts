import { describeValue, jsonPath } from './jsonPath';
import { normalizeRegion } from './normalizeRegion';
import type { DefinitionIssue } from './types';

/**
 * Limits of the pool definition. Service facts (Microsoft.ApiManagement 2024-05-01): backend id 1–80
 * characters, at most 30 members, priority/weight integers 0–100, service name 1–50 characters, at most 10
 * status-code ranges (200–599) and 10 error reasons (≤ 200 characters) per circuit-breaker rule, URL ≤ 2000.
 */
export const POOL_LIMITS = Object.freeze({
  maxBackends: 30,
  maxNameLength: 80,
  maxUrlLength: 2000,
  maxPriority: 100,
  maxWeight: 100,
  maxStatusCodeRanges: 10,
  maxErrorReasons: 10,
  maxErrorReasonLength: 200,
  minStatusCode: 200,
  maxStatusCode: 599,
});

/** Header that Azure OpenAI sets to the region that served the call; the default identifier. */
export const REGION_HEADER = 'x-ms-region';

/** ISO 8601 duration as ARM accepts it (`PT1M`, `P1D`, `PT0.5S`); `P` or `PT` alone is rejected. */
export const ISO_DURATION_PATTERN =
  /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
/** APIM service name (ARM parameter `serviceName`). */
export const SERVICE_NAME_PATTERN = /^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
/** Characters ARM refuses in resource names, plus whitespace (a backend id goes into the URL path). */
const BACKEND_NAME_PATTERN = /^[^<>*%&:\\?/+#\s]+$/;
const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RESOURCE_GROUP_PATTERN = /^[-\w.()]*[-\w()]$/;
const API_VERSION_PATTERN = /^\d{4}-\d{2}-\d{2}(-preview)?$/;
const DEPLOYMENT_PATTERN = /^[A-Za-z0-9._-]+$/;
/** RFC 9110 `token`: what a header name may contain. */
const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const ROOT_KEYS = ['$schema', 'pool', 'apim', 'probe'] as const;
const POOL_KEYS = ['name', 'description', 'backends'] as const;
const BACKEND_KEYS = [
  'name',
  'url',
  'region',
  'priority',
  'weight',
  'identifier',
  'description',
  'circuitBreaker',
] as const;
const BREAKER_KEYS = ['name', 'failureCondition', 'tripDuration', 'acceptRetryAfter'] as const;
const CONDITION_KEYS = ['count', 'percentage', 'interval', 'statusCodeRanges', 'errorReasons'] as const;
const RANGE_KEYS = ['min', 'max'] as const;
const APIM_KEYS = ['subscriptionId', 'resourceGroup', 'serviceName', 'armApiVersion', 'apiId'] as const;
const PROBE_KEYS = ['deployment', 'apiVersion', 'subscriptionKeyHeader', 'identify'] as const;
const IDENTIFY_KEYS = ['header'] as const;
const SUBSCRIPTION_KEY_HEADERS = ['api-key', 'Ocp-Apim-Subscription-Key'] as const;

/** Keys that mark a member as a pool: a pool inside a pool is not supported. */
const NESTED_POOL_KEYS = new Set(['type', 'pool', 'backends']);
const NESTED_POOL_MESSAGE =
  'pools cannot contain pools: every member must be a single backend with its own url (list the inner pool\'s backends here instead)';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function has(object: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** How a probe tells backends apart, derived from `probe.identify.header`. */
export interface IdentifyChoice {
  readonly mode: 'region' | 'header';
  readonly header: string;
}

/** Region mode unless `probe.identify.header` names another (valid) header. */
export function chooseIdentification(document: unknown): IdentifyChoice {
  const probe = isObject(document) ? document['probe'] : undefined;
  const identify = isObject(probe) ? probe['identify'] : undefined;
  const header = isObject(identify) ? identify['header'] : undefined;
  if (typeof header !== 'string' || !HEADER_NAME_PATTERN.test(header) || header.toLowerCase() === REGION_HEADER) {
    return { mode: 'region', header: REGION_HEADER };
  }
  return { mode: 'header', header };
}

function hasInvalidIdentifyHeader(document: JsonObject): boolean {
  const probe = document['probe'];
  const identify = isObject(probe) ? probe['identify'] : undefined;
  if (!isObject(probe) || !has(probe, 'identify')) {
    return false;
  }
  if (!isObject(identify)) {
    return true;
  }
  const header = identify['header'];
  return has(identify, 'header') && (typeof header !== 'string' || !HEADER_NAME_PATTERN.test(header));
}

/**
 * Every problem of an already-parsed pool definition, each with its JSON path. Empty = valid.
 * Structural rules mirror `schema/pool-definition.schema.json`; cross-field rules (unique names, telling
 * backends apart, weights inside a priority group, min ≤ max) exist only here.
 */
export function validatePoolDocument(document: unknown): DefinitionIssue[] {
  return new Validator().run(document);
}

class Validator {
  private readonly issues: DefinitionIssue[] = [];

  run(document: unknown): DefinitionIssue[] {
    if (!isObject(document)) {
      this.add('$', `must be a JSON object with a "pool" member, got ${describeValue(document)}`);
      return this.issues;
    }
    this.checkKeys(document, '$', ROOT_KEYS);
    this.optionalString(document, '$schema', '$', { min: 1, max: 2000 });
    this.checkPool(document);
    if (has(document, 'apim')) {
      this.checkApim(document['apim'], '$.apim');
    }
    if (has(document, 'probe')) {
      this.checkProbe(document['probe'], '$.probe');
    }
    return this.issues;
  }

  private add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  private checkKeys(object: JsonObject, path: string, allowed: readonly string[], ignore?: ReadonlySet<string>): void {
    for (const key of Object.keys(object)) {
      if (allowed.includes(key) || ignore?.has(key) === true) {
        continue;
      }
      const suggestion = closestKey(key, allowed);
      this.add(
        jsonPath(path, key),
        suggestion === undefined
          ? `unknown key (allowed here: ${allowed.join(', ')})`
          : `unknown key (did you mean "${suggestion}"?)`,
      );
    }
  }

  private requiredObject(parent: JsonObject, key: string, parentPath: string): JsonObject | undefined {
    const path = jsonPath(parentPath, key);
    if (!has(parent, key)) {
      this.add(path, 'is required');
      return undefined;
    }
    const value = parent[key];
    if (!isObject(value)) {
      this.add(path, `must be an object, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  /** Checks a string member if present (or reports it missing when `required`); returns it when valid. */
  private optionalString(
    parent: JsonObject,
    key: string,
    parentPath: string,
    rule: { min: number; max: number; pattern?: RegExp; patternText?: string; required?: boolean },
  ): string | undefined {
    const path = jsonPath(parentPath, key);
    if (!has(parent, key)) {
      if (rule.required === true) {
        this.add(path, 'is required');
      }
      return undefined;
    }
    const value = parent[key];
    if (typeof value !== 'string') {
      this.add(path, `must be a string, got ${describeValue(value)}`);
      return undefined;
    }
    if (value.trim().length === 0 && rule.min > 0) {
      this.add(path, 'must not be empty');
      return undefined;
    }
    // The pattern first: "not a GUID" says more than "must be 36 characters".
    if (rule.pattern !== undefined && !rule.pattern.test(value)) {
      this.add(path, `${rule.patternText ?? `must match ${rule.pattern.source}`}, got ${describeValue(value)}`);
      return undefined;
    }
    if (value.length < rule.min || value.length > rule.max) {
      this.add(
        path,
        rule.min === rule.max
          ? `must be exactly ${rule.min} characters long, got ${value.length}`
          : `must be ${rule.min}–${rule.max} characters long, got ${value.length}`,
      );
      return undefined;
    }
    return value;
  }

  private optionalInteger(
    parent: JsonObject,
    key: string,
    parentPath: string,
    min: number,
    max: number,
    required = false,
  ): number | undefined | 'invalid' {
    const path = jsonPath(parentPath, key);
    if (!has(parent, key)) {
      if (required) {
        this.add(path, 'is required');
        return 'invalid';
      }
      return undefined;
    }
    const value = parent[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.add(path, `must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
      return 'invalid';
    }
    return value;
  }

  private optionalBoolean(parent: JsonObject, key: string, parentPath: string): void {
    if (has(parent, key) && typeof parent[key] !== 'boolean') {
      this.add(jsonPath(parentPath, key), `must be true or false, got ${describeValue(parent[key])}`);
    }
  }

  private checkPool(document: JsonObject): void {
    const pool = this.requiredObject(document, 'pool', '$');
    if (pool === undefined) {
      return;
    }
    const path = '$.pool';
    this.checkKeys(pool, path, POOL_KEYS);
    const poolName = this.optionalString(pool, 'name', path, {
      min: 1,
      max: POOL_LIMITS.maxNameLength,
      pattern: BACKEND_NAME_PATTERN,
      patternText: 'must not contain whitespace or any of < > * % & : \\ ? / + #',
      required: true,
    });
    this.optionalString(pool, 'description', path, { min: 0, max: 2000 });
    const backendsPath = jsonPath(path, 'backends');
    if (!has(pool, 'backends')) {
      this.add(backendsPath, 'is required: list 1 to 30 backends');
      return;
    }
    const backends = pool['backends'];
    if (!Array.isArray(backends)) {
      this.add(backendsPath, `must be an array of backends, got ${describeValue(backends)}`);
      return;
    }
    if (backends.length === 0) {
      this.add(backendsPath, 'must list at least 1 backend');
    } else if (backends.length > POOL_LIMITS.maxBackends) {
      this.add(backendsPath, `has ${backends.length} backends; a pool holds at most ${POOL_LIMITS.maxBackends}`);
    }
    // Array.from visits holes of a sparse array too (as undefined), which map/forEach would skip.
    const members = Array.from(backends, (backend: unknown, index) => this.checkBackend(backend, jsonPath(backendsPath, index)));
    this.checkNames(members, poolName);
    // An invalid identify header is reported on its own; checking backends against a guessed mode would
    // only add confusing issues.
    if (!hasInvalidIdentifyHeader(document)) {
      this.checkIdentification(members, chooseIdentification(document));
    }
    this.checkPriorityGroups(members);
  }

  private checkBackend(backend: unknown, path: string): Member {
    const member: Member = { path, valid: false };
    if (!isObject(backend)) {
      this.add(path, `must be an object describing a single backend, got ${describeValue(backend)}`);
      return member;
    }
    const type = backend['type'];
    const looksLikePool =
      has(backend, 'pool') || has(backend, 'backends') || (typeof type === 'string' && type.toLowerCase() === 'pool');
    if (looksLikePool) {
      this.add(path, NESTED_POOL_MESSAGE);
    }
    this.checkKeys(backend, path, BACKEND_KEYS, looksLikePool ? NESTED_POOL_KEYS : undefined);
    member.valid = true;
    member.name = this.optionalString(backend, 'name', path, {
      min: 1,
      max: POOL_LIMITS.maxNameLength,
      pattern: BACKEND_NAME_PATTERN,
      patternText: 'must not contain whitespace or any of < > * % & : \\ ? / + #',
      required: true,
    });
    this.checkUrl(backend, path, looksLikePool);
    member.region = this.optionalString(backend, 'region', path, { min: 1, max: 100 });
    member.hasRegion = has(backend, 'region');
    member.priority = this.optionalInteger(backend, 'priority', path, 0, POOL_LIMITS.maxPriority);
    member.weight = this.optionalInteger(backend, 'weight', path, 0, POOL_LIMITS.maxWeight);
    member.identifier = this.optionalString(backend, 'identifier', path, { min: 1, max: 500 });
    member.hasIdentifier = has(backend, 'identifier');
    this.optionalString(backend, 'description', path, { min: 0, max: 2000 });
    if (has(backend, 'circuitBreaker')) {
      this.checkCircuitBreaker(backend['circuitBreaker'], jsonPath(path, 'circuitBreaker'));
    }
    return member;
  }

  private checkUrl(backend: JsonObject, backendPath: string, nestedReported: boolean): void {
    const path = jsonPath(backendPath, 'url');
    if (!has(backend, 'url')) {
      if (!nestedReported) {
        this.add(path, 'is required: every member is a single backend with a runtime URL (pools cannot contain pools)');
      }
      return;
    }
    const value = backend['url'];
    if (typeof value !== 'string') {
      this.add(path, `must be an absolute http(s) URL string, got ${describeValue(value)}`);
      return;
    }
    if (value.length > POOL_LIMITS.maxUrlLength) {
      this.add(path, `must be at most ${POOL_LIMITS.maxUrlLength} characters long, got ${value.length}`);
      return;
    }
    const problem = urlProblem(value);
    if (problem !== undefined) {
      this.add(path, problem);
    }
  }

  private checkCircuitBreaker(value: unknown, path: string): void {
    if (!isObject(value)) {
      this.add(path, `must be one circuit-breaker rule (an object), got ${describeValue(value)}`);
      return;
    }
    if (has(value, 'rules')) {
      this.add(
        jsonPath(path, 'rules'),
        'unknown key: write the one rule directly under circuitBreaker (the service accepts one rule per backend)',
      );
    }
    this.checkKeys(value, path, BREAKER_KEYS, new Set(['rules']));
    this.optionalString(value, 'name', path, { min: 1, max: 80, required: true });
    this.duration(value, 'tripDuration', path);
    this.optionalBoolean(value, 'acceptRetryAfter', path);
    const condition = this.requiredObject(value, 'failureCondition', path);
    if (condition === undefined) {
      return;
    }
    const conditionPath = jsonPath(path, 'failureCondition');
    this.checkKeys(condition, conditionPath, CONDITION_KEYS);
    const hasCount = has(condition, 'count');
    const hasPercentage = has(condition, 'percentage');
    if (hasCount && hasPercentage) {
      this.add(conditionPath, 'set either count or percentage, not both');
    } else if (!hasCount && !hasPercentage) {
      this.add(conditionPath, 'needs count (failures) or percentage (of calls) to trip the breaker');
    }
    this.optionalInteger(condition, 'count', conditionPath, 1, 1_000_000);
    this.optionalInteger(condition, 'percentage', conditionPath, 1, 100);
    this.duration(condition, 'interval', conditionPath);
    this.checkStatusCodeRanges(condition, conditionPath);
    this.checkErrorReasons(condition, conditionPath);
  }

  private duration(parent: JsonObject, key: string, parentPath: string): void {
    this.optionalString(parent, key, parentPath, {
      min: 2,
      max: 64,
      pattern: ISO_DURATION_PATTERN,
      patternText: 'must be an ISO 8601 duration such as "PT1M" or "PT30S"',
      required: true,
    });
  }

  private checkStatusCodeRanges(condition: JsonObject, conditionPath: string): void {
    if (!has(condition, 'statusCodeRanges')) {
      return;
    }
    const path = jsonPath(conditionPath, 'statusCodeRanges');
    const ranges = condition['statusCodeRanges'];
    if (!Array.isArray(ranges)) {
      this.add(path, `must be an array of {min, max}, got ${describeValue(ranges)}`);
      return;
    }
    if (ranges.length > POOL_LIMITS.maxStatusCodeRanges) {
      this.add(path, `has ${ranges.length} ranges; at most ${POOL_LIMITS.maxStatusCodeRanges} are allowed`);
    }
    Array.from(ranges, (range: unknown, index) => {
      const rangePath = jsonPath(path, index);
      if (!isObject(range)) {
        this.add(rangePath, `must be an object {min, max}, got ${describeValue(range)}`);
        return;
      }
      this.checkKeys(range, rangePath, RANGE_KEYS);
      const min = this.optionalInteger(range, 'min', rangePath, POOL_LIMITS.minStatusCode, POOL_LIMITS.maxStatusCode, true);
      const max = this.optionalInteger(range, 'max', rangePath, POOL_LIMITS.minStatusCode, POOL_LIMITS.maxStatusCode, true);
      if (typeof min === 'number' && typeof max === 'number' && min > max) {
        this.add(jsonPath(rangePath, 'min'), `must not exceed max (${min} > ${max})`);
      }
    });
  }

  private checkErrorReasons(condition: JsonObject, conditionPath: string): void {
    if (!has(condition, 'errorReasons')) {
      return;
    }
    const path = jsonPath(conditionPath, 'errorReasons');
    const reasons = condition['errorReasons'];
    if (!Array.isArray(reasons)) {
      this.add(path, `must be an array of strings, got ${describeValue(reasons)}`);
      return;
    }
    if (reasons.length > POOL_LIMITS.maxErrorReasons) {
      this.add(path, `has ${reasons.length} reasons; at most ${POOL_LIMITS.maxErrorReasons} are allowed`);
    }
    Array.from(reasons, (reason: unknown, index) => {
      if (typeof reason !== 'string' || reason.length < 1 || reason.length > POOL_LIMITS.maxErrorReasonLength) {
        this.add(
          jsonPath(path, index),
          `must be a string of 1–${POOL_LIMITS.maxErrorReasonLength} characters, got ${describeValue(reason)}`,
        );
      }
    });
  }

  private checkApim(value: unknown, path: string): void {
    if (!isObject(value)) {
      this.add(path, `must be an object, got ${describeValue(value)}`);
      return;
    }
    this.checkKeys(value, path, APIM_KEYS);
    this.optionalString(value, 'subscriptionId', path, {
      min: 36,
      max: 36,
      pattern: GUID_PATTERN,
      patternText: 'must be a subscription GUID like 00000000-0000-0000-0000-000000000000',
    });
    this.optionalString(value, 'resourceGroup', path, {
      min: 1,
      max: 90,
      pattern: RESOURCE_GROUP_PATTERN,
      patternText: 'must contain only letters, digits, - _ . ( ) and not end with a period',
    });
    this.optionalString(value, 'serviceName', path, {
      min: 1,
      max: 50,
      pattern: SERVICE_NAME_PATTERN,
      patternText: 'must start with a letter, end with a letter or digit, and contain only letters, digits and -',
    });
    this.optionalString(value, 'armApiVersion', path, {
      min: 10,
      max: 20,
      pattern: API_VERSION_PATTERN,
      patternText: 'must be an api-version like 2024-05-01 or 2023-09-01-preview',
    });
    this.optionalString(value, 'apiId', path, {
      min: 1,
      max: 256,
      pattern: BACKEND_NAME_PATTERN,
      patternText: 'must not contain whitespace or any of < > * % & : \\ ? / + #',
    });
  }

  private checkProbe(value: unknown, path: string): void {
    if (!isObject(value)) {
      this.add(path, `must be an object, got ${describeValue(value)}`);
      return;
    }
    this.checkKeys(value, path, PROBE_KEYS);
    this.optionalString(value, 'deployment', path, {
      min: 1,
      max: 64,
      pattern: DEPLOYMENT_PATTERN,
      patternText: 'must be an Azure OpenAI deployment name (letters, digits, . _ -)',
    });
    this.optionalString(value, 'apiVersion', path, {
      min: 10,
      max: 20,
      pattern: API_VERSION_PATTERN,
      patternText: 'must be an api-version like 2024-02-01 or 2024-05-01-preview',
    });
    if (has(value, 'subscriptionKeyHeader')) {
      const header = value['subscriptionKeyHeader'];
      if (typeof header !== 'string' || !(SUBSCRIPTION_KEY_HEADERS as readonly string[]).includes(header)) {
        this.add(
          jsonPath(path, 'subscriptionKeyHeader'),
          `must be "api-key" or "Ocp-Apim-Subscription-Key", got ${describeValue(header)}`,
        );
      }
    }
    if (has(value, 'identify')) {
      const identifyPath = jsonPath(path, 'identify');
      const identify = value['identify'];
      if (!isObject(identify)) {
        this.add(identifyPath, `must be an object like {"header": "x-backend-host"}, got ${describeValue(identify)}`);
        return;
      }
      this.checkKeys(identify, identifyPath, IDENTIFY_KEYS);
      this.optionalString(identify, 'header', identifyPath, {
        min: 1,
        max: 100,
        pattern: HEADER_NAME_PATTERN,
        patternText: 'must be an HTTP header name',
      });
    }
  }

  private checkNames(members: readonly Member[], poolName: string | undefined): void {
    const seen = new Map<string, Member>();
    for (const member of members) {
      if (member.name === undefined) {
        continue;
      }
      const key = member.name.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        this.add(
          jsonPath(member.path, 'name'),
          `duplicates the name of ${first.path} ("${first.name ?? ''}"); backend names are unique, ignoring case`,
        );
      } else {
        seen.set(key, member);
      }
      if (poolName !== undefined && key === poolName.toLowerCase()) {
        this.add(
          jsonPath(member.path, 'name'),
          'equals the pool name; the pool and its members are all backends of one APIM service and need distinct names',
        );
      }
    }
  }

  private checkIdentification(members: readonly Member[], choice: IdentifyChoice): void {
    const seen = new Map<string, Member>();
    for (const member of members) {
      if (!member.valid) {
        continue;
      }
      if (choice.mode === 'region') {
        if (!member.hasRegion) {
          this.add(
            jsonPath(member.path, 'region'),
            `is required: answers are told apart by the ${REGION_HEADER} header (or set probe.identify.header and give every backend an identifier)`,
          );
          continue;
        }
        if (member.region === undefined) {
          continue;
        }
        const key = normalizeRegion(member.region);
        const first = seen.get(key);
        if (first !== undefined) {
          this.add(
            jsonPath(member.path, 'region'),
            `is the same region as ${first.path} ("${first.region ?? ''}"): ${REGION_HEADER} cannot tell these backends apart; ` +
              'add an outbound header that names the backend, set probe.identify.header to it and give every backend an identifier',
          );
        } else {
          seen.set(key, member);
        }
      } else {
        if (!member.hasIdentifier) {
          this.add(
            jsonPath(member.path, 'identifier'),
            `is required: probe.identify.header is "${choice.header}", whose value must name each backend`,
          );
          continue;
        }
        if (member.identifier === undefined) {
          continue;
        }
        const key = member.identifier.trim();
        const first = seen.get(key);
        if (first !== undefined) {
          this.add(
            jsonPath(member.path, 'identifier'),
            `duplicates the identifier of ${first.path}: the "${choice.header}" header could not tell these backends apart`,
          );
        } else {
          seen.set(key, member);
        }
      }
    }
  }

  private checkPriorityGroups(members: readonly Member[]): void {
    const groups = new Map<number, Member[]>();
    for (const member of members) {
      if (!member.valid || member.priority === 'invalid') {
        continue;
      }
      const priority = member.priority ?? 0;
      const group = groups.get(priority) ?? [];
      group.push(member);
      groups.set(priority, group);
    }
    for (const [priority, group] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
      const weighted = group.filter((member) => member.weight !== undefined);
      const label = `priority group ${priority} (${group.map((member) => member.name ?? member.path).join(', ')})`;
      if (weighted.length > 0 && weighted.length < group.length) {
        for (const member of group.filter((candidate) => candidate.weight === undefined)) {
          this.add(
            jsonPath(member.path, 'weight'),
            `is absent while other members of ${label} have weights; APIM's handling of a mix is undocumented, so give every member of a group a weight, or none (equal split)`,
          );
        }
        continue;
      }
      if (weighted.length === group.length && group.every((member) => member.weight === 0)) {
        const first = group[0];
        if (first !== undefined) {
          this.add(
            jsonPath(first.path, 'weight'),
            `every weight in ${label} is 0, so no member of the group would get traffic; give at least one a positive weight`,
          );
        }
      }
    }
  }
}

/** What the validator learnt about one backend, for the cross-field rules. */
interface Member {
  readonly path: string;
  /** False when the entry is not an object at all. */
  valid: boolean;
  name?: string | undefined;
  region?: string | undefined;
  hasRegion?: boolean;
  identifier?: string | undefined;
  hasIdentifier?: boolean;
  priority?: number | undefined | 'invalid';
  weight?: number | undefined | 'invalid';
}

/** Why a string is not an absolute http(s) URL (never echoes credentials), or undefined when it is one. */
function urlProblem(value: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value)) {
    return 'must not contain credentials (user:password@); APIM authenticates with its managed identity';
  }
  if (!/^https?:\/\//i.test(value)) {
    return `must be an absolute http(s) URL starting with https:// or http://, got ${describeValue(value)}`;
  }
  if (/\s/.test(value)) {
    return 'must not contain whitespace';
  }
  try {
    if (new URL(value).hostname === '') {
      return 'must name a host';
    }
  } catch {
    return `must be an absolute http(s) URL, got ${describeValue(value)}`;
  }
  return undefined;
}

/** The allowed key closest to a misspelt one (edit distance ≤ 2, ignoring case), if any. */
function closestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Damerau–Levenshtein (optimal string alignment) distance, so "wieght" is one step from "weight". */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) {
    return 3;
  }
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i += 1) {
    const row: number[] = [];
    for (let j = 0; j <= b.length; j += 1) {
      if (i === 0 || j === 0) {
        row.push(i + j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const above = rows[i - 1] ?? [];
      let value = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, ((rows[i - 2] ?? [])[j - 2] ?? 0) + 1);
      }
      row.push(value);
    }
    rows.push(row);
  }
  return (rows[a.length] ?? [])[b.length] ?? 3;
}
