import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArmBackendStore, type ArmBackendProperties, type ArmBackendResource, type ArmPoolMember } from './armBackendStore';
import { BodyTooLargeError, headerValue, isRecord, readBody, sendJson, tryParseJson } from './httpUtil';
import { XMLValidator } from 'fast-xml-parser';
import { tryParseIsoDurationInMs } from './parseIsoDuration';

/** One request the ARM endpoint answered (no headers, no bodies: nothing secret). */
export interface ArmLogEntry {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

/** Where the emulated APIM service lives. */
export interface ApimServiceLocation {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly serviceName: string;
}

/** One field-level problem, as APIM lists them in `error.details`. */
interface FieldIssue {
  readonly target: string;
  readonly message: string;
}

/** One API of the emulated service: id, URL suffix and the policy in force until one is PUT. */
export interface ArmApi {
  readonly id: string;
  readonly path: string;
  readonly defaultPolicyXml: string;
}

const MAX_POOL_MEMBERS = 30;
const DEFAULT_POLICY_ETAG = '"default-policy"';
const MAX_RULES = 1;
const BACKEND_TYPE = 'Microsoft.ApiManagement/service/backends';
const API_VERSION_PATTERN = /^\d{4}-\d{2}-\d{2}(-preview)?$/i;

/** Answers in the ARM error shape `{"error":{code,message,target,details}}`. */
function sendArmError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  etag: string,
  details: readonly FieldIssue[] = [],
  target?: string,
): void {
  sendJson(
    response,
    status,
    {
      error: {
        code,
        message,
        ...(target === undefined ? {} : { target }),
        details: details.map((issue) => ({ code: 'ValidationError', target: issue.target, message: issue.message })),
      },
    },
    { etag, 'x-ms-request-id': cryptoRandomId() },
  );
}

function cryptoRandomId(): string {
  return globalThis.crypto.randomUUID();
}

function isIntegerInRange(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * The ARM management endpoint of the emulated APIM service: backends (single and pool) and API policies,
 * validated and answered the way ARM does (shapes from Microsoft.ApiManagement 2024-05-01).
 */
export class ArmEndpoint {
  readonly store: ArmBackendStore;
  readonly log: ArmLogEntry[] = [];

  private readonly apis: readonly ArmApi[];

  /**
   * @param apis the APIs of the service, each with the policy in force until one is PUT. With
   *   `anyApiIdAddressesFirst` (the single-API environment), every `apis/{apiId}` addresses the first API;
   *   otherwise an unknown API id answers 404 as ARM does.
   */
  constructor(
    readonly location: ApimServiceLocation,
    apis: readonly ArmApi[],
    private readonly now: () => number,
    private readonly anyApiIdAddressesFirst = false,
  ) {
    if (apis.length === 0) throw new Error('ArmEndpoint needs at least one API');
    this.apis = apis;
    this.store = new ArmBackendStore(
      `/subscriptions/${location.subscriptionId}/resourceGroups/${location.resourceGroup}/providers/Microsoft.ApiManagement/service/${location.serviceName}`,
    );
  }

  /** True when the path looks like an ARM path this endpoint should answer. */
  static isArmPath(pathname: string): boolean {
    return /^\/+subscriptions(\/|$)/i.test(pathname);
  }

  /** The API an id addresses; undefined for an unknown id. */
  api(apiId: string): ArmApi | undefined {
    if (this.anyApiIdAddressesFirst) return this.apis[0];
    const wanted = apiId.toLowerCase();
    return this.apis.find((api) => api.id.toLowerCase() === wanted);
  }

  /** The policy in force for an API (the default policy until one is PUT) and its entity tag; unknown id → the first API's. */
  policy(apiId: string): { readonly xml: string; readonly etag: string } {
    const api = this.api(apiId) ?? (this.apis[0] as ArmApi);
    const stored = this.store.getPolicy(api.id);
    return stored ? { xml: stored.value, etag: stored.etag } : { xml: api.defaultPolicyXml, etag: DEFAULT_POLICY_ETAG };
  }

  private apiResource(api: ArmApi): unknown {
    return {
      id: `${this.store.serviceId}/apis/${api.id}`,
      type: 'Microsoft.ApiManagement/service/apis',
      name: api.id,
      properties: { displayName: api.id, path: api.path, protocols: ['https'], subscriptionRequired: true, isCurrent: true },
    };
  }

  /** Handles one ARM request; never throws. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    try {
      await this.route(method, request, response, url);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        sendArmError(response, 413, 'RequestEntityTooLarge', error.message, this.store.collectionEtag());
      } else {
        sendArmError(response, 500, 'InternalServerError', `Emulator error: ${(error as Error).message}`, this.store.collectionEtag());
      }
    } finally {
      // writeHead sets statusCode, whichever branch answered.
      this.log.push({ at: this.now(), method, path: url.pathname, status: response.statusCode });
    }
  }

  private async route(method: string, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const etag = this.store.collectionEtag();
    const authorization = headerValue(request, 'authorization');
    if (!authorization) {
      sendArmError(response, 401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", etag);
      return;
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!bearer) {
      sendArmError(response, 401, 'InvalidAuthenticationToken', 'The access token is invalid.', etag);
      return;
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) {
      sendArmError(
        response,
        400,
        'MissingApiVersionParameter',
        "The api-version query parameter (?api-version=) is required for all requests.",
        etag,
      );
      return;
    }
    if (!API_VERSION_PATTERN.test(apiVersion)) {
      sendArmError(
        response,
        400,
        'InvalidApiVersionParameter',
        `The api-version '${apiVersion}' is invalid. The supported versions look like '2024-05-01'.`,
        etag,
      );
      return;
    }
    const segments = url.pathname.split('/').filter((segment) => segment !== '').map(decodeURIComponent);
    const lower = segments.map((segment) => segment.toLowerCase());
    const { subscriptionId, resourceGroup, serviceName } = this.location;
    const isOurService =
      lower.length >= 8 &&
      lower[0] === 'subscriptions' &&
      lower[1] === subscriptionId.toLowerCase() &&
      lower[2] === 'resourcegroups' &&
      lower[3] === resourceGroup.toLowerCase() &&
      lower[4] === 'providers' &&
      lower[5] === 'microsoft.apimanagement' &&
      lower[6] === 'service' &&
      lower[7] === serviceName.toLowerCase();
    if (!isOurService) {
      const named = segments.length >= 8 ? `Microsoft.ApiManagement/service/${segments[7] ?? ''}` : url.pathname;
      sendArmError(
        response,
        404,
        'ResourceNotFound',
        `The Resource '${named}' under resource group '${segments[3] ?? ''}' was not found.`,
        etag,
      );
      return;
    }
    const rest = lower.slice(8);
    const restOriginal = segments.slice(8);
    if (rest.length === 1 && rest[0] === 'backends' && method === 'GET') {
      sendJson(response, 200, { value: this.store.listBackends(), count: this.store.listBackends().length, nextLink: null }, { etag });
      return;
    }
    if (rest.length === 2 && rest[0] === 'backends' && restOriginal[1] !== undefined) {
      await this.handleBackend(method, restOriginal[1], request, response);
      return;
    }
    if (rest.length === 1 && rest[0] === 'apis' && method === 'GET') {
      const apis = this.anyApiIdAddressesFirst ? this.apis.slice(0, 1) : this.apis;
      sendJson(response, 200, { value: apis.map((api) => this.apiResource(api)), count: apis.length, nextLink: null }, { etag });
      return;
    }
    if (rest[0] === 'apis' && restOriginal[1] !== undefined && (rest.length === 2 || (rest.length === 4 && rest[2] === 'policies'))) {
      const api = this.api(restOriginal[1]);
      if (!api) {
        sendArmError(response, 404, 'ResourceNotFound', 'Api not found.', etag);
        return;
      }
      if (rest.length === 2) {
        if (method === 'GET') sendJson(response, 200, this.apiResource(api), { etag });
        else sendArmError(response, 405, 'MethodNotAllowed', `The method '${method}' is not allowed on APIs in this emulator.`, etag);
        return;
      }
      if (rest[3] === 'policy') {
        await this.handlePolicy(method, api, restOriginal[1], request, response, url);
        return;
      }
    }
    sendArmError(response, 404, 'ResourceNotFound', `The requested resource '${url.pathname}' was not found.`, etag);
  }

  private async handleBackend(method: string, name: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const existing = this.store.getBackend(name);
    const ifMatch = headerValue(request, 'if-match');
    const collectionEtag = this.store.collectionEtag();
    if (name.length < 1 || name.length > 80) {
      sendArmError(response, 400, 'ValidationError', 'Backend id must be 1 to 80 characters long.', collectionEtag, [
        { target: 'backendId', message: 'Backend id must be 1 to 80 characters long.' },
      ]);
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      if (!existing) {
        sendArmError(response, 404, 'ResourceNotFound', 'Backend not found.', collectionEtag);
        return;
      }
      if (method === 'HEAD') {
        response.writeHead(200, { etag: existing.etag, 'content-length': 0 });
        response.end();
        return;
      }
      sendJson(response, 200, existing.value, { etag: existing.etag });
      return;
    }
    if (method === 'DELETE') {
      if (!existing) {
        // ARM answers 204 when there was nothing to delete.
        response.writeHead(204, { etag: collectionEtag });
        response.end();
        return;
      }
      if (ifMatch !== undefined && ifMatch.trim() !== '*' && ifMatch.trim() !== existing.etag) {
        sendArmError(response, 412, 'PreconditionFailed', 'Resource was modified since last retrieval. Refresh and try again.', existing.etag);
        return;
      }
      this.store.deleteBackend(name);
      response.writeHead(200, { etag: this.store.collectionEtag(), 'content-length': 0 });
      response.end();
      return;
    }
    if (method !== 'PUT') {
      sendArmError(response, 405, 'MethodNotAllowed', `The method '${method}' is not allowed on backends.`, collectionEtag);
      return;
    }
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && (!existing || ifMatch.trim() !== existing.etag)) {
      sendArmError(
        response,
        412,
        'PreconditionFailed',
        'Resource was modified since last retrieval. Refresh and try again.',
        existing?.etag ?? collectionEtag,
      );
      return;
    }
    const text = (await readBody(request)).toString('utf8');
    const parsed = tryParseJson(text);
    if (!parsed.ok || !isRecord(parsed.value)) {
      sendArmError(response, 400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.', collectionEtag);
      return;
    }
    const properties = parsed.value['properties'];
    if (!isRecord(properties)) {
      sendArmError(response, 400, 'ValidationError', "'properties' is required.", collectionEtag, [
        { target: 'properties', message: "'properties' is required." },
      ]);
      return;
    }
    const validated = this.validateBackendProperties(name, properties);
    if (!validated.ok) {
      const first = validated.issues[0];
      sendArmError(
        response,
        400,
        'ValidationError',
        validated.issues.length === 1 && first ? first.message : 'One or more fields contain incorrect values:',
        collectionEtag,
        validated.issues,
      );
      return;
    }
    const resource: ArmBackendResource = {
      id: this.store.backendId(existing?.value.name ?? name),
      type: BACKEND_TYPE,
      name: existing?.value.name ?? name,
      properties: validated.properties,
    };
    const stored = this.store.putBackend(resource);
    sendJson(response, existing ? 200 : 201, stored.value, { etag: stored.etag });
  }

  private validateBackendProperties(
    name: string,
    properties: Record<string, unknown>,
  ): { ok: true; properties: ArmBackendProperties } | { ok: false; issues: FieldIssue[] } {
    const issues: FieldIssue[] = [];
    const type = properties['type'] ?? 'Single';
    if (type !== 'Single' && type !== 'Pool') {
      return { ok: false, issues: [{ target: 'type', message: `Backend type '${String(type)}' is not supported; use 'Single' or 'Pool'.` }] };
    }
    if (type === 'Pool') {
      const hasUrl = properties['url'] !== undefined && properties['url'] !== null;
      const hasProtocol = properties['protocol'] !== undefined && properties['protocol'] !== null;
      if (hasUrl || hasProtocol) {
        issues.push({ target: hasUrl ? 'url' : 'protocol', message: 'Url is not supported for backend pool.' });
      }
      const pool = properties['pool'];
      const services = isRecord(pool) ? pool['services'] : undefined;
      if (!Array.isArray(services) || services.length === 0) {
        issues.push({ target: 'pool.services', message: 'A backend pool needs at least one service in pool.services.' });
        return { ok: false, issues };
      }
      if (services.length > MAX_POOL_MEMBERS) {
        issues.push({
          target: 'pool.services',
          message: `A backend pool can have at most ${MAX_POOL_MEMBERS} backends; got ${services.length}.`,
        });
      }
      const members: ArmPoolMember[] = [];
      const seen = new Set<string>();
      services.forEach((service: unknown, index) => {
        const target = `pool.services[${index}]`;
        if (!isRecord(service) || typeof service['id'] !== 'string') {
          issues.push({ target: `${target}.id`, message: 'Each pool service needs an id (the ARM id of a backend).' });
          return;
        }
        const id = service['id'];
        for (const field of ['priority', 'weight'] as const) {
          const value = service[field];
          if (value !== undefined && value !== null && !isIntegerInRange(value, 0, 100)) {
            issues.push({ target: `${target}.${field}`, message: `'${field}' must be an integer between 0 and 100; got ${JSON.stringify(value)}.` });
          }
        }
        const memberName = this.store.memberName(id);
        const member = memberName === undefined ? undefined : this.store.getBackend(memberName);
        if (!member || memberName === undefined) {
          issues.push({ target: `${target}.id`, message: `Backend with id '${id}' does not exist in this service.` });
          return;
        }
        if (memberName.toLowerCase() === name.toLowerCase() || member.value.properties.type === 'Pool') {
          issues.push({ target: `${target}.id`, message: `Backend '${memberName}' is a pool; a pool can only contain single backends.` });
          return;
        }
        if (seen.has(memberName.toLowerCase())) {
          issues.push({ target: `${target}.id`, message: `Backend '${memberName}' appears more than once in the pool.` });
          return;
        }
        seen.add(memberName.toLowerCase());
        const priority = service['priority'];
        const weight = service['weight'];
        // Fields this emulator does not model (e.g. preferredCarbonEmission) are kept, as the service keeps them.
        const { id: _id, priority: _priority, weight: _weight, ...memberExtras } = service;
        members.push({
          ...memberExtras,
          id: this.store.backendId(member.value.name),
          ...(typeof priority === 'number' ? { priority } : {}),
          ...(typeof weight === 'number' ? { weight } : {}),
        });
      });
      if (issues.length > 0) {
        return { ok: false, issues };
      }
      const { url: _url, protocol: _protocol, pool: _pool, ...others } = properties;
      // Pool settings of newer api-versions (sessionAffinity, failureResponse) are kept like the service keeps them.
      const { services: _services, ...poolExtras } = pool as Record<string, unknown>;
      return { ok: true, properties: { ...others, type: 'Pool', pool: { ...poolExtras, services: members } } };
    }
    const url = properties['url'];
    if (typeof url !== 'string' || url.length < 1 || url.length > 2000) {
      issues.push({ target: 'url', message: "'url' is required for a single backend (1 to 2000 characters)." });
    } else {
      try {
        const parsed = new URL(url);
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
          issues.push({ target: 'url', message: `'url' must be an absolute http(s) URL; got '${url}'.` });
        }
      } catch {
        issues.push({ target: 'url', message: `'url' must be an absolute http(s) URL; got '${url}'.` });
      }
    }
    const protocol = properties['protocol'];
    if (protocol !== 'http' && protocol !== 'soap') {
      issues.push({ target: 'protocol', message: "'protocol' is required for a single backend: 'http' or 'soap'." });
    }
    if (properties['pool'] !== undefined && properties['pool'] !== null) {
      issues.push({ target: 'pool', message: "'pool' is only allowed when type is 'Pool'." });
    }
    const breaker = properties['circuitBreaker'];
    if (breaker !== undefined && breaker !== null) {
      const rules = isRecord(breaker) ? breaker['rules'] : undefined;
      if (!Array.isArray(rules)) {
        issues.push({ target: 'circuitBreaker.rules', message: "'circuitBreaker.rules' must be an array." });
      } else {
        if (rules.length > MAX_RULES) {
          issues.push({
            target: 'circuitBreaker.rules',
            message: `Only ${MAX_RULES} circuit breaker rule is supported per backend; got ${rules.length}.`,
          });
        }
        rules.forEach((rule: unknown, index) => issues.push(...validateRule(rule, `circuitBreaker.rules[${index}]`)));
      }
    }
    if (issues.length > 0) {
      return { ok: false, issues };
    }
    return { ok: true, properties: { ...properties, type: 'Single' } as ArmBackendProperties };
  }

  private async handlePolicy(
    method: string,
    api: ArmApi,
    apiId: string,
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
  ): Promise<void> {
    const existing = this.store.getPolicy(api.id);
    const policyResource = (xml: string) => ({
      id: `${this.store.serviceId}/apis/${apiId}/policies/policy`,
      type: 'Microsoft.ApiManagement/service/apis/policies',
      name: 'policy',
      properties: { format: url.searchParams.get('format') === 'xml' ? 'xml' : 'rawxml', value: xml },
    });
    if (method === 'GET') {
      const current = this.policy(api.id);
      sendJson(response, 200, policyResource(current.xml), { etag: current.etag });
      return;
    }
    if (method !== 'PUT') {
      sendArmError(response, 405, 'MethodNotAllowed', `The method '${method}' is not allowed on policies.`, this.store.collectionEtag());
      return;
    }
    const ifMatch = headerValue(request, 'if-match')?.trim();
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== this.policy(api.id).etag) {
      sendArmError(response, 412, 'PreconditionFailed', 'Resource was modified since last retrieval. Refresh and try again.', this.policy(api.id).etag);
      return;
    }
    const parsed = tryParseJson((await readBody(request)).toString('utf8'));
    const properties = parsed.ok && isRecord(parsed.value) ? parsed.value['properties'] : undefined;
    const value = isRecord(properties) ? properties['value'] : undefined;
    const invalid = (message: string): void =>
      sendArmError(response, 400, 'ValidationError', message, this.store.collectionEtag(), [{ target: 'value', message }]);
    if (typeof value !== 'string' || !/^\s*<policies[\s>]/.test(value)) {
      invalid("'properties.value' must be a policy document whose root element is <policies>.");
      return;
    }
    const wellFormed = XMLValidator.validate(value);
    if (wellFormed !== true) {
      invalid(`The policy is not well-formed XML: ${wellFormed.err.msg} (line ${wellFormed.err.line}, column ${wellFormed.err.col}).`);
      return;
    }
    const stored = this.store.putPolicy(api.id, value);
    sendJson(response, existing ? 200 : 201, policyResource(stored.value), { etag: stored.etag });
  }
}

function validateRule(rule: unknown, target: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!isRecord(rule)) {
    return [{ target, message: 'A circuit breaker rule must be an object.' }];
  }
  const condition = rule['failureCondition'];
  if (!isRecord(condition)) {
    return [{ target: `${target}.failureCondition`, message: "'failureCondition' is required." }];
  }
  const count = condition['count'];
  const percentage = condition['percentage'];
  if (count === undefined && percentage === undefined) {
    issues.push({ target: `${target}.failureCondition`, message: "Either 'count' or 'percentage' is required." });
  }
  if (count !== undefined && !isIntegerInRange(count, 1, Number.MAX_SAFE_INTEGER)) {
    issues.push({ target: `${target}.failureCondition.count`, message: "'count' must be a positive integer." });
  }
  if (percentage !== undefined && !isIntegerInRange(percentage, 1, 100)) {
    issues.push({ target: `${target}.failureCondition.percentage`, message: "'percentage' must be an integer between 1 and 100." });
  }
  if (tryParseIsoDurationInMs(condition['interval']) === undefined) {
    issues.push({ target: `${target}.failureCondition.interval`, message: "'interval' must be an ISO 8601 duration such as PT1M." });
  }
  const ranges = condition['statusCodeRanges'];
  if (ranges !== undefined) {
    if (!Array.isArray(ranges) || ranges.length > 10) {
      issues.push({ target: `${target}.failureCondition.statusCodeRanges`, message: "'statusCodeRanges' must be an array of at most 10 ranges." });
    } else {
      ranges.forEach((range: unknown, index) => {
        const ok =
          isRecord(range) &&
          isIntegerInRange(range['min'], 200, 599) &&
          isIntegerInRange(range['max'], 200, 599) &&
          (range['min'] as number) <= (range['max'] as number);
        if (!ok) {
          issues.push({
            target: `${target}.failureCondition.statusCodeRanges[${index}]`,
            message: "Each status code range needs integer 'min' <= 'max' between 200 and 599.",
          });
        }
      });
    }
  }
  const reasons = condition['errorReasons'];
  if (reasons !== undefined && (!Array.isArray(reasons) || reasons.length > 10 || reasons.some((reason) => typeof reason !== 'string'))) {
    issues.push({ target: `${target}.failureCondition.errorReasons`, message: "'errorReasons' must be at most 10 strings." });
  }
  if (tryParseIsoDurationInMs(rule['tripDuration']) === undefined) {
    issues.push({ target: `${target}.tripDuration`, message: "'tripDuration' must be an ISO 8601 duration such as PT1M." });
  }
  const accept = rule['acceptRetryAfter'];
  if (accept !== undefined && typeof accept !== 'boolean') {
    issues.push({ target: `${target}.acceptRetryAfter`, message: "'acceptRetryAfter' must be true or false." });
  }
  return issues;
}
