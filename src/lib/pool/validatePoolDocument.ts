import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

import schema from '../../../schema/pool-definition.schema.json';
import { httpUrlProblem, redactUrl } from '../util/httpUrl';
import { describeValue, jsonPath } from './jsonPath';
import { normalizeRegion } from './normalizeRegion';
import type { DefinitionIssue } from './types';

/** Header that Azure OpenAI sets to the region that served the call; the default identifier. */
export const REGION_HEADER = 'x-ms-region';

/** RFC 9110 `token`: what a header name may contain (the schema's `probe.identify.header` pattern). */
const HEADER_NAME_PATTERN = new RegExp(schema.properties.probe.properties.identify.properties.header.pattern);

/** Keys that mark a member as a pool: a pool inside a pool is not supported. */
const NESTED_POOL_KEYS = new Set(['type', 'pool', 'backends']);
const NESTED_POOL_MESSAGE =
  'pools cannot contain pools: every member must be a single backend with its own url (list the inner pool\'s backends here instead)';

/** Extra words for a missing member, where "is required" alone would not say what to do. */
const REQUIRED_HINTS: Readonly<Record<string, string>> = {
  backends: 'list 1 to 30 backends',
  url: 'every member is a single backend with a runtime URL (pools cannot contain pools)',
};

/**
 * Characters refused in every string of a definition: C0/C1 controls and DEL (they reach terminals as escape
 * sequences), format characters (zero-width space/joiner, BOM, the bidi embeddings/overrides/isolates that make
 * text print in another order), lone surrogates (`encodeURIComponent` throws "URI malformed" on them), and line or
 * paragraph separators. Descriptions may hold tabs and line breaks.
 */
const UNSAFE_TEXT = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u;
const UNSAFE_TEXT_IN_DESCRIPTION = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\p{Cf}\p{Cs}\u2028\u2029]/u;

/**
 * Members that hold the NAME of an app setting. Their values are never echoed in a message: a user who pasted the
 * secret itself (a key, a webhook URL) must not find it printed in a log.
 */
const SETTING_NAME_MEMBERS = [
  { section: 'gateway', key: 'subscriptionKeySetting', holds: 'subscription key', example: 'APIM_KEY_GPT4O' },
  { section: 'alerts', key: 'webhookUrlSetting', holds: 'webhook URL', example: 'TEAM_A_WEBHOOK_URL' },
] as const;
const SETTING_NAME_PATHS: ReadonlySet<string> = new Set(SETTING_NAME_MEMBERS.map((member) => `$.${member.section}.${member.key}`));

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

const BACKEND_NAME = schema.definitions.backendName;

/**
 * Why `name` cannot be a pool or backend name of a definition (the schema's `backendName` rule and the safe-text
 * rule), or undefined when a definition would accept it. For names that arrive elsewhere, e.g. `?pool=`.
 */
export function backendNameProblem(name: string): string | undefined {
  const valid =
    name.length >= BACKEND_NAME.minLength &&
    name.length <= BACKEND_NAME.maxLength &&
    new RegExp(BACKEND_NAME.pattern, 'u').test(name) &&
    !UNSAFE_TEXT.test(name);
  return valid
    ? undefined
    : `must be ${BACKEND_NAME.minLength}–${BACKEND_NAME.maxLength} printable characters without whitespace or any of < > * % & : \\ ? / + #`;
}

let compiled: ValidateFunction | undefined;

/**
 * The structural validator: `schema/pool-definition.schema.json` itself, compiled by ajv (all errors, strict
 * mode). `patternErrorMessage` is VS Code's annotation for the message of a failed pattern; format `http-url`
 * is `httpUrlProblem`, the one URL rule of the verifier.
 */
function schemaValidator(): ValidateFunction {
  if (compiled === undefined) {
    // strictRequired off: it does not look into the parent's properties from the count-XOR-percentage oneOf.
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false });
    ajv.addKeyword('patternErrorMessage');
    ajv.addFormat('http-url', { type: 'string', validate: (value: string) => httpUrlProblem(value) === undefined });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/**
 * Every problem of an already-parsed pool definition, each with its JSON path. Empty = valid.
 *
 * Structure (types, ranges, patterns, required and unknown keys) is checked by the JSON Schema itself; only what a
 * schema cannot say is written here: safe text in every string, unique names (ignoring case, after Unicode NFC),
 * telling backends apart, weights inside a priority group, statusCodeRanges min ≤ max, and the "pools cannot
 * contain pools" explanation for a member that looks like a pool.
 *
 * @param parseIssues problems the JSON parser found at paths of this document; they take the place of anything
 *   else said about those paths.
 */
export function validatePoolDocument(document: unknown, parseIssues: readonly DefinitionIssue[] = []): DefinitionIssue[] {
  const issues = new IssueList();
  // What the parser saw (a number JavaScript rounds) is said instead of the schema's view of that path.
  for (const issue of parseIssues) {
    issues.replace(issue.path, issue.message);
  }
  const validate = schemaValidator();
  if (!validate(document)) {
    for (const error of validate.errors ?? []) {
      const issue = issueOf(error);
      if (issue !== undefined) {
        issues.add(issue.path, issue.message, issue.rank);
      }
    }
  }
  checkText(document, '$', issues, false);
  checkSettingNames(document, issues);
  if (isObject(document) && isObject(document['pool'])) {
    checkPool(document, document['pool'], issues);
  }
  if (isObject(document) && isObject(document['probe']) && isObject(document['probe']['headers'])) {
    checkProbeHeaders(document['probe'], document['probe']['headers'], issues);
  }
  return inDocumentOrder(issues.list(), document);
}

/**
 * Issues in the order of the file, so a reader can fix them top to bottom: each issue sorts at the position of
 * the deepest part of its path that exists in the document (a missing member sorts with its parent).
 */
function inDocumentOrder(issues: DefinitionIssue[], document: unknown): DefinitionIssue[] {
  const order = new Map<string, number>();
  const walk = (value: unknown, path: string): void => {
    order.set(path, order.size);
    if (Array.isArray(value)) {
      Array.from(value, (item: unknown, index) => walk(item, jsonPath(path, index)));
    } else if (isObject(value)) {
      for (const [key, member] of Object.entries(value)) {
        walk(member, jsonPath(path, key));
      }
    }
  };
  walk(document, '$');
  const positionOf = (path: string): number => {
    let prefix = path;
    while (true) {
      const position = order.get(prefix);
      if (position !== undefined) {
        return position;
      }
      const parent = prefix.replace(/(\.[^.[]+|\[[^\]]*\])$/, '');
      if (parent === prefix) {
        return 0;
      }
      prefix = parent;
    }
  };
  return issues
    .map((issue, index) => ({ issue, index, position: positionOf(issue.path) }))
    .sort((a, b) => a.position - b.position || a.index - b.index)
    .map((entry) => entry.issue);
}

/** Issues keyed by path: the most telling one per path is kept (a wrong type hides a wrong length). */
class IssueList {
  private readonly byPath = new Map<string, { message: string; rank: number }>();
  private readonly suppressed = new Set<string>();

  add(path: string, message: string, rank = 5): void {
    if (this.suppressed.has(path)) {
      return;
    }
    const existing = this.byPath.get(path);
    if (existing === undefined || rank < existing.rank) {
      this.byPath.set(path, { message, rank });
    }
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  /** True when the path or anything below it has an issue. */
  hasWithin(path: string): boolean {
    for (const key of this.byPath.keys()) {
      if (key === path || key.startsWith(`${path}.`) || key.startsWith(`${path}[`)) {
        return true;
      }
    }
    return false;
  }

  /** Replaces what was said at `path` and keeps later issues there out. */
  replace(path: string, message: string): void {
    this.byPath.set(path, { message, rank: 0 });
  }

  drop(path: string): void {
    this.byPath.delete(path);
    this.suppressed.add(path);
  }

  list(): DefinitionIssue[] {
    return [...this.byPath.entries()].map(([path, { message }]) => ({ path, message }));
  }
}

/** The verifier's notation for an ajv instance path (`/pool/backends/0` → `$.pool.backends[0]`). */
function pathOf(instancePath: string): string {
  let path = '$';
  for (const token of instancePath.split('/').slice(1)) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    path = jsonPath(path, /^\d+$/.test(key) ? Number(key) : key);
  }
  return path;
}

interface SchemaNode {
  readonly type?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly patternErrorMessage?: string;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly oneOf?: readonly { readonly required?: readonly string[] }[];
}

/** One ajv error in the verifier's words, with a rank (lower wins when two errors name one path). */
function issueOf(error: ErrorObject): { path: string; message: string; rank: number } | undefined {
  // A oneOf branch's own errors ("must have count") are summed up by the oneOf error itself.
  if (error.schemaPath.includes('/oneOf/')) {
    return undefined;
  }
  if (error.keyword === 'propertyNames') {
    // Summed up by the error of the failing rule itself, which names the member (below).
    return undefined;
  }
  // A member name refused by `propertyNames` (a probe header name): the issue is at that member's path.
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
  const path = propertyName === undefined ? pathOf(error.instancePath) : jsonPath(pathOf(error.instancePath), propertyName);
  const node = (error.parentSchema ?? {}) as SchemaNode;
  const got = describeValue(error.data);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const member = String(params['missingProperty']);
      const hint = REQUIRED_HINTS[member];
      return { path: jsonPath(path, member), message: hint === undefined ? 'is required' : `is required: ${hint}`, rank: 1 };
    }
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const allowed = Object.keys(node.properties ?? {});
      const suggestion = closestKey(key, allowed);
      return {
        path: jsonPath(path, key),
        message:
          suggestion === undefined ? `unknown key (allowed here: ${allowed.join(', ')})` : `unknown key (did you mean "${suggestion}"?)`,
        rank: 1,
      };
    }
    case 'type':
      return { path, message: `${typeMessage(path, node)}, got ${got}`, rank: 1 };
    case 'minimum':
    case 'maximum':
      return { path, message: `${typeMessage(path, node)}, got ${got}`, rank: 2 };
    case 'format': {
      const text = typeof error.data === 'string' ? error.data : '';
      const problem = httpUrlProblem(text) ?? 'is not an absolute http(s) URL';
      // Never echo a URL with credentials; any other is shown without its userinfo anyway.
      return { path, message: problem.includes('credentials') ? problem : `${problem}, got ${describeUrl(text)}`, rank: 2 };
    }
    case 'pattern': {
      const text = typeof error.data === 'string' ? error.data : '';
      if (text.trim() === '') {
        return { path, message: 'must not be empty', rank: 2 };
      }
      const message = node.patternErrorMessage ?? `must match ${String(params['pattern'])}`;
      if (SETTING_NAME_PATHS.has(path)) {
        return { path, message: `${message} (the value is not shown)`, rank: 3 };
      }
      return { path, message: `${message}, got ${path.endsWith('.url') ? describeUrl(text) : describeValue(text)}`, rank: 3 };
    }
    case 'minLength':
    case 'maxLength': {
      const length = typeof error.data === 'string' ? error.data.length : 0;
      if (length === 0) {
        return { path, message: 'must not be empty', rank: 2 };
      }
      const min = node.minLength ?? 0;
      const max = node.maxLength ?? Number.POSITIVE_INFINITY;
      return {
        path,
        message: min === max ? `must be exactly ${min} characters long, got ${length}` : `must be ${min}–${max} characters long, got ${length}`,
        rank: 4,
      };
    }
    case 'minItems': {
      const limit = Number(params['limit']);
      const noun = limit === 1 ? lastKey(path).replace(/s$/, '') : lastKey(path);
      return { path, message: `must list at least ${limit} ${noun}`, rank: 2 };
    }
    case 'maxItems': {
      const count = Array.isArray(error.data) ? error.data.length : 0;
      return { path, message: `has ${count} ${lastKey(path)}; at most ${String(params['limit'])} are allowed`, rank: 2 };
    }
    case 'maxProperties': {
      const count = isObject(error.data) ? Object.keys(error.data).length : 0;
      return { path, message: `has ${count} ${lastKey(path)}; at most ${String(params['limit'])} are allowed`, rank: 2 };
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map((value) => JSON.stringify(value));
      return { path, message: `must be ${allowed.join(' or ')}, got ${got}`, rank: 2 };
    }
    case 'oneOf': {
      const names = (node.oneOf ?? []).map((branch) => branch.required?.[0] ?? '?');
      const passing = params['passingSchemas'];
      return {
        path,
        message: Array.isArray(passing) ? `set either ${names.join(' or ')}, not both` : `needs one of ${names.join(' or ')}`,
        rank: 2,
      };
    }
    default:
      return { path, message: error.message ?? 'is invalid', rank: 5 };
  }
}

/**
 * A URL as echoed in a message: without userinfo and without its query or fragment, which may carry a key
 * (APIM accepts `?subscription-key=`).
 */
function describeUrl(text: string): string {
  return describeValue(redactUrl(text.replace(/[?#][\s\S]*$/, '?...')));
}

/** What a value of this schema node must be, e.g. "must be an integer from 0 to 100". */
function typeMessage(path: string, node: SchemaNode): string {
  switch (node.type) {
    case 'integer':
      return node.minimum !== undefined && node.maximum !== undefined
        ? `must be an integer from ${node.minimum} to ${node.maximum}`
        : 'must be an integer';
    case 'string':
      return 'must be a string';
    case 'boolean':
      return 'must be true or false';
    case 'array':
      return `must be an array of ${lastKey(path)}`;
    case 'object':
      if (path === '$') {
        return 'must be a JSON object with a "pool" member';
      }
      return /\.backends\[\d+\]$/.test(path) ? 'must be an object describing a single backend' : 'must be an object';
    default:
      return `must be of type ${String(node.type)}`;
  }
}

/** The member name at the end of a path (`$.pool.backends` → `backends`), for "a list of …" wording. */
function lastKey(path: string): string {
  const match = /\.([A-Za-z_$][\w$]*)$/.exec(path);
  return match?.[1] ?? 'items';
}

/** Refuses unsafe characters in every string value and member name, by JSON path. */
function checkText(value: unknown, path: string, issues: IssueList, isDescription: boolean): void {
  if (typeof value === 'string') {
    const match = (isDescription ? UNSAFE_TEXT_IN_DESCRIPTION : UNSAFE_TEXT).exec(value);
    if (match !== null) {
      const code = match[0].codePointAt(0) ?? 0;
      issues.add(
        path,
        `contains ${codePoint(code)} (${kindOf(code)}) at character ${match.index + 1}; use plain printable text (a control, zero-width or bidi character prints differently from what is compared)`,
        0,
      );
    }
    return;
  }
  if (Array.isArray(value)) {
    Array.from(value, (item: unknown, index) => checkText(item, jsonPath(path, index), issues, false));
    return;
  }
  if (isObject(value)) {
    for (const [key, member] of Object.entries(value)) {
      checkText(member, jsonPath(path, key), issues, key === 'description');
    }
  }
}

function codePoint(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function kindOf(code: number): string {
  if (code >= 0xd800 && code <= 0xdfff) {
    return 'a lone surrogate';
  }
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
    return 'a control character';
  }
  if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069) || code === 0x200e || code === 0x200f || code === 0x061c) {
    return 'a bidi control';
  }
  return 'an invisible format character';
}

/** What the cross-field rules need of one backend: the values the schema accepted, nothing else. */
interface Member {
  readonly path: string;
  readonly name: string | undefined;
  readonly region: string | undefined;
  readonly hasRegion: boolean;
  readonly identifier: string | undefined;
  readonly hasIdentifier: boolean;
  /** 'invalid' when present but refused (the member is then left out of the priority groups). */
  readonly priority: number | undefined | 'invalid';
  readonly weight: number | undefined | 'invalid';
}

function checkPool(document: JsonObject, pool: JsonObject, issues: IssueList): void {
  const backends = pool['backends'];
  if (!Array.isArray(backends)) {
    return;
  }
  const backendsPath = '$.pool.backends';
  const members: Member[] = [];
  Array.from(backends, (backend: unknown, index) => {
    const path = jsonPath(backendsPath, index);
    if (!isObject(backend)) {
      return;
    }
    explainNestedPool(backend, path, issues);
    explainBreakerRules(backend, path, issues);
    const valid = <T>(key: string, guard: (value: unknown) => value is T): T | undefined => {
      const value = backend[key];
      return guard(value) && !issues.hasWithin(jsonPath(path, key)) ? value : undefined;
    };
    const isString = (value: unknown): value is string => typeof value === 'string';
    const isNumber = (value: unknown): value is number => typeof value === 'number';
    const numberOrInvalid = (key: string): number | undefined | 'invalid' =>
      !has(backend, key) ? undefined : (valid(key, isNumber) ?? 'invalid');
    members.push({
      path,
      name: valid('name', isString),
      region: valid('region', isString),
      hasRegion: has(backend, 'region'),
      identifier: valid('identifier', isString),
      hasIdentifier: has(backend, 'identifier'),
      priority: numberOrInvalid('priority'),
      weight: numberOrInvalid('weight'),
    });
    checkStatusCodeRanges(backend, path, issues);
  });
  const poolName = typeof pool['name'] === 'string' && !issues.has('$.pool.name') ? pool['name'] : undefined;
  checkNames(members, poolName, issues);
  // An invalid identify header is reported on its own; checking backends against a guessed mode would only add
  // confusing issues.
  if (!issues.hasWithin('$.probe.identify')) {
    checkIdentification(members, chooseIdentification(document), issues);
  }
  checkPriorityGroups(members, issues);
}

/**
 * A setting-name member whose value looks like the secret itself (a key: 32 or more hex characters, or a long run
 * of mixed-case letters and digits; a URL) gets a message that says where the secret belongs. Never echoes it.
 */
function checkSettingNames(document: unknown, issues: IssueList): void {
  if (!isObject(document)) {
    return;
  }
  for (const member of SETTING_NAME_MEMBERS) {
    const section = document[member.section];
    const value = isObject(section) ? section[member.key] : undefined;
    if (typeof value !== 'string') {
      continue;
    }
    const looksLike = looksLikeSecret(value);
    if (looksLike !== undefined) {
      issues.replace(
        `$.${member.section}.${member.key}`,
        `looks like ${looksLike}, not the name of a setting (the value is not shown): put the ${member.holds} in an app setting (or a Key Vault reference) and write that setting's name here, e.g. "${member.example}"`,
      );
    }
  }
}

/** What a would-be setting name looks like when it looks like a secret: 'a key', 'a URL', or undefined. */
function looksLikeSecret(value: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim())) {
    return 'a URL';
  }
  // APIM and Azure OpenAI keys: 32 hex characters. Base62/base64 keys: a long run that mixes lower case, upper case
  // and digits. A run of one letter (AAAA…) or of words joined by _ is a name.
  const isHexKey = (run: string): boolean => /\d/.test(run) && /[a-f]/i.test(run);
  const isMixedKey = (run: string): boolean => /[a-z]/.test(run) && /[A-Z]/.test(run) && /\d/.test(run);
  const runs = [...(value.match(/[0-9a-fA-F]{32,}/g) ?? []).filter(isHexKey), ...(value.match(/[A-Za-z0-9+/=]{32,}/g) ?? []).filter(isMixedKey)];
  return runs.length > 0 ? 'a key' : undefined;
}

/** A member that looks like a pool gets one clear message instead of unknown keys and a missing url. */
function explainNestedPool(backend: JsonObject, path: string, issues: IssueList): void {
  const type = backend['type'];
  const looksLikePool =
    has(backend, 'pool') || has(backend, 'backends') || (typeof type === 'string' && type.toLowerCase() === 'pool');
  if (!looksLikePool) {
    return;
  }
  issues.replace(path, NESTED_POOL_MESSAGE);
  for (const key of NESTED_POOL_KEYS) {
    issues.drop(jsonPath(path, key));
  }
  issues.drop(jsonPath(path, 'url'));
}

/** `circuitBreaker.rules` is ARM's shape; the definition holds the one rule directly. */
function explainBreakerRules(backend: JsonObject, path: string, issues: IssueList): void {
  const breaker = backend['circuitBreaker'];
  if (isObject(breaker) && has(breaker, 'rules')) {
    issues.replace(
      jsonPath(jsonPath(path, 'circuitBreaker'), 'rules'),
      'unknown key: write the one rule directly under circuitBreaker (the service accepts one rule per backend)',
    );
  }
}

function checkStatusCodeRanges(backend: JsonObject, path: string, issues: IssueList): void {
  const breaker = backend['circuitBreaker'];
  const condition = isObject(breaker) ? breaker['failureCondition'] : undefined;
  const ranges = isObject(condition) ? condition['statusCodeRanges'] : undefined;
  if (!Array.isArray(ranges)) {
    return;
  }
  const rangesPath = jsonPath(jsonPath(jsonPath(path, 'circuitBreaker'), 'failureCondition'), 'statusCodeRanges');
  Array.from(ranges, (range: unknown, index) => {
    const rangePath = jsonPath(rangesPath, index);
    if (isObject(range) && !issues.hasWithin(rangePath)) {
      const min = range['min'];
      const max = range['max'];
      if (typeof min === 'number' && typeof max === 'number' && min > max) {
        issues.add(jsonPath(rangePath, 'min'), `must not exceed max (${min} > ${max})`);
      }
    }
  });
}

/** The form two names are compared in: what prints the same compares the same. */
function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

function checkNames(members: readonly Member[], poolName: string | undefined, issues: IssueList): void {
  const seen = new Map<string, Member>();
  for (const member of members) {
    if (member.name === undefined) {
      continue;
    }
    const key = nameKey(member.name);
    const first = seen.get(key);
    if (first !== undefined) {
      issues.add(
        jsonPath(member.path, 'name'),
        `duplicates the name of ${first.path} ("${first.name ?? ''}"); backend names are unique, ignoring case (compared after Unicode NFC normalisation)`,
      );
    } else {
      seen.set(key, member);
    }
    if (poolName !== undefined && key === nameKey(poolName)) {
      issues.add(
        jsonPath(member.path, 'name'),
        'equals the pool name; the pool and its members are all backends of one APIM service and need distinct names',
      );
    }
  }
}

function checkIdentification(members: readonly Member[], choice: IdentifyChoice, issues: IssueList): void {
  const seen = new Map<string, Member>();
  for (const member of members) {
    if (choice.mode === 'region') {
      if (!member.hasRegion) {
        issues.add(
          jsonPath(member.path, 'region'),
          `is required: answers are told apart by the ${REGION_HEADER} header (or set probe.identify.header and give every backend an identifier)`,
        );
        continue;
      }
      if (member.region === undefined) {
        continue;
      }
      const key = normalizeRegion(member.region.normalize('NFC'));
      const first = seen.get(key);
      if (first !== undefined) {
        issues.add(
          jsonPath(member.path, 'region'),
          `is the same region as ${first.path} ("${first.region ?? ''}"): ${REGION_HEADER} cannot tell these backends apart; ` +
            'add an outbound header that names the backend, set probe.identify.header to it and give every backend an identifier',
        );
      } else {
        seen.set(key, member);
      }
    } else {
      if (!member.hasIdentifier) {
        issues.add(
          jsonPath(member.path, 'identifier'),
          `is required: probe.identify.header is "${choice.header}", whose value must name each backend`,
        );
        continue;
      }
      if (member.identifier === undefined) {
        continue;
      }
      const key = member.identifier.trim().normalize('NFC');
      const first = seen.get(key);
      if (first !== undefined) {
        issues.add(
          jsonPath(member.path, 'identifier'),
          `duplicates the identifier of ${first.path}: the "${choice.header}" header could not tell these backends apart`,
        );
      } else {
        seen.set(key, member);
      }
    }
  }
}

function checkPriorityGroups(members: readonly Member[], issues: IssueList): void {
  const groups = new Map<number, Member[]>();
  for (const member of members) {
    if (member.priority === 'invalid') {
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
        issues.add(
          jsonPath(member.path, 'weight'),
          `is absent while other members of ${label} have weights; APIM's handling of a mix is undocumented, so give every member of a group a weight, or none (equal split)`,
        );
      }
      continue;
    }
    if (weighted.length === group.length && group.every((member) => member.weight === 0)) {
      const first = group[0];
      if (first !== undefined) {
        issues.add(
          jsonPath(first.path, 'weight'),
          `every weight in ${label} is 0, so no member of the group would get traffic; give at least one a positive weight`,
        );
      }
    }
  }
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

/**
 * Request headers a definition may not make probes send (compared ignoring case). Credentials: the subscription key
 * is a setting (Key Vault reference), never text in a definition, and a second credential would change who the
 * gateway thinks is calling. Hop-by-hop and framing headers (RFC 9110 §7.6.1, RFC 9112 §6/§9.6, RFC 7230 §6.1): they
 * belong to the connection, not the request, and a wrong one breaks or smuggles the request. Content-Type and
 * Accept-Encoding are set by the verifier itself (the probe body is JSON and is read uncompressed).
 */
const REFUSED_PROBE_HEADERS: ReadonlyMap<string, string> = new Map(Object.entries({
  authorization: 'a credential',
  'proxy-authorization': 'a credential',
  cookie: 'a credential',
  'api-key': 'a credential (the subscription key is a setting, never part of a definition)',
  'ocp-apim-subscription-key': 'a credential (the subscription key is a setting, never part of a definition)',
  connection: 'a hop-by-hop header',
  'keep-alive': 'a hop-by-hop header',
  'proxy-connection': 'a hop-by-hop header',
  te: 'a hop-by-hop header',
  trailer: 'a hop-by-hop header',
  'transfer-encoding': 'a hop-by-hop header',
  upgrade: 'a hop-by-hop header',
  host: 'a framing header (the gateway URL decides it)',
  'content-length': 'a framing header (the verifier sets it from the body)',
  expect: 'a framing header',
  'content-type': 'set by the verifier itself (application/json)',
  'accept-encoding': 'set by the verifier itself (identity: answers are read uncompressed)',
}));

/** `probe.headers`: no credential, no hop-by-hop or framing header, no name twice ignoring case. */
function checkProbeHeaders(probe: JsonObject, headers: JsonObject, issues: IssueList): void {
  const keyHeader = typeof probe['subscriptionKeyHeader'] === 'string' ? probe['subscriptionKeyHeader'].toLowerCase() : 'api-key';
  const seen = new Map<string, string>();
  for (const name of Object.keys(headers)) {
    const path = jsonPath('$.probe.headers', name);
    if (issues.has(path) || !HEADER_NAME_PATTERN.test(name)) continue;
    const lower = name.toLowerCase();
    const refused = lower === keyHeader ? 'the header that carries the subscription key (probe.subscriptionKeyHeader)' : REFUSED_PROBE_HEADERS.get(lower);
    if (refused !== undefined) {
      issues.add(path, `must not be sent by probes: ${name} is ${refused}`, 1);
      continue;
    }
    const first = seen.get(lower);
    if (first !== undefined) {
      issues.add(path, `is the same header as ${JSON.stringify(first)} (header names ignore case)`, 1);
      continue;
    }
    seen.set(lower, name);
  }
}
