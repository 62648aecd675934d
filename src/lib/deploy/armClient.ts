import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosResponse } from 'axios';
import type { TokenCredential } from '@azure/core-auth';
import type { ApimLocation } from '../pool/types';
import { ArmRequestError } from './ArmRequestError';
import { abortableSleep } from './abortableSleep';
import { backendArmId } from './backendArmId';
import { describeCredentialError } from './describeCredentialError';
import { retryAfterInMs } from './retryAfterInMs';

export { ArmRequestError } from './ArmRequestError';
export { abortableSleep } from './abortableSleep';
export { retryAfterInMs } from './retryAfterInMs';

/**
 * The token scope of an ARM endpoint: its origin + `/.default` (`https://management.azure.com/.default`,
 * `https://management.usgovcloudapi.net/.default`, `https://management.chinacloudapi.cn/.default`), so sovereign
 * clouds get a token their ARM accepts. The embedded emulator accepts any token.
 */
export function armScopeOf(endpoint: string): string {
  return `${new URL(endpoint).origin}/.default`;
}

/** One circuit-breaker rule as ARM represents it (Microsoft.ApiManagement 2024-05-01 `CircuitBreakerRule`). */
export interface ArmCircuitBreakerRule {
  name?: string | null;
  failureCondition?: {
    count?: number | null;
    percentage?: number | null;
    interval?: string | null;
    statusCodeRanges?: { min?: number | null; max?: number | null }[] | null;
    errorReasons?: string[] | null;
  } | null;
  tripDuration?: string | null;
  acceptRetryAfter?: boolean | null;
}

/** One pool member as ARM represents it (`BackendPoolItem`). */
export interface ArmPoolItem {
  id: string;
  priority?: number | null;
  weight?: number | null;
}

/**
 * `properties` of a `Microsoft.ApiManagement/service/backends` resource. ARM returns more fields than the
 * product manages (`title`, `credentials`, `tls`, nulls …): they are kept as unknown extras.
 */
export interface ArmBackendProperties {
  url?: string | null;
  protocol?: string | null;
  description?: string | null;
  type?: string | null;
  circuitBreaker?: { rules?: ArmCircuitBreakerRule[] | null } | null;
  pool?: { services?: ArmPoolItem[] | null } | null;
  [extra: string]: unknown;
}

/** A backend resource as returned by GET/PUT. */
export interface ArmBackendResource {
  id?: string;
  name?: string;
  type?: string;
  properties: ArmBackendProperties;
}

/** Retry policy for management calls (only 408/429/5xx/network errors are retried). */
export interface ArmRetryOptions {
  /** Retries after the first attempt; default 4. */
  maxRetries?: number;
  /** First backoff ceiling; default 1000 ms, doubled per retry, full jitter. */
  baseDelayInMs?: number;
  /** Ceiling of one backoff delay (and of a honoured `Retry-After`); default 30000 ms. */
  maxDelayInMs?: number;
  /** No retry starts once the time spent plus the next delay would exceed this; default 120000 ms. */
  maxTotalInMs?: number;
}

/** Options of {@link createArmClient}. */
export interface ArmClientOptions {
  /** ARM host root, e.g. `https://management.azure.com` or the embedded emulator's `http://127.0.0.1:<port>`. */
  endpoint: string;
  credential: TokenCredential;
  /** api-version sent on every call, e.g. `2024-05-01` (the location's `armApiVersion` is not consulted). */
  apiVersion: string;
  /** Per-attempt timeout; default 30000 ms. */
  timeoutInMs?: number;
  retry?: ArmRetryOptions;
  /** Waits between retries; default a timer that rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1), for the jitter; default `Math.random`. */
  random?: () => number;
  /** Epoch milliseconds, for HTTP-date `Retry-After` and the total cap; default `Date.now`. */
  now?: () => number;
  /** Which identity the token belongs to, named in 403 messages, e.g. "system-assigned managed identity". */
  identityDescription?: string;
  httpAgent?: HttpAgent;
  httpsAgent?: HttpsAgent;
}

/** Put options: `ifMatch` is the ETag read before (an update); absent = create. */
export interface PutBackendOptions {
  ifMatch?: string;
}

/** A thin ARM client for the APIM backends of one service and its API policies. */
export interface ArmClient {
  /** GET a backend; `null` when it does not exist (404). */
  getBackend(
    location: ApimLocation,
    backendId: string,
    signal?: AbortSignal,
  ): Promise<{ body: ArmBackendResource; etag: string | undefined } | null>;
  /** PUT a backend (create or replace); `created` is true on 201. A stale `ifMatch` → ArmRequestError 412. */
  putBackend(
    location: ApimLocation,
    backendId: string,
    properties: ArmBackendProperties,
    options?: PutBackendOptions,
    signal?: AbortSignal,
  ): Promise<{ body: ArmBackendResource; etag: string | undefined; created: boolean }>;
  /** DELETE a backend (`If-Match: *` unless given); resolves false when it did not exist. */
  deleteBackend(location: ApimLocation, backendId: string, options?: { ifMatch?: string }, signal?: AbortSignal): Promise<boolean>;
  /** The raw XML of an API's policy (`format=rawxml`), or `null` when the API has no policy (404). */
  getApiPolicy(location: ApimLocation, apiId: string, signal?: AbortSignal): Promise<string | null>;
  /**
   * The caller's effective permissions on the service: ARM "Permissions - List For Resource"
   * (`GET {service}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`, operation
   * AzurePermissionsForResource_List), one entry per role assignment in force, each `actions` minus `notActions`.
   * Reads only; the first page (a `nextLink` is not followed: one entry per role assigned, a handful in practice).
   */
  listPermissions(location: ApimLocation, signal?: AbortSignal): Promise<ArmPermission[]>;
}

/** One entry of ARM's permissions list (wildcards such as `*` or `Microsoft.ApiManagement/*` as ARM sends them). */
export interface ArmPermission {
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
}

/** The Microsoft.Authorization api-version of {@link ArmClient.listPermissions}. */
export const PERMISSIONS_API_VERSION = '2022-04-01';

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

interface CallSpec {
  method: 'GET' | 'PUT' | 'DELETE';
  /** Path under the service, e.g. `backends/openai-instance1`. */
  relativePath: string;
  location: ApimLocation;
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Statuses that are answers, not errors (e.g. 404 for a GET). */
  acceptStatuses: readonly number[];
  write: boolean;
  signal: AbortSignal | undefined;
  /** Another provider's api-version (default: the client's APIM one). */
  apiVersion?: string;
}

/**
 * Creates an ARM client on plain axios with a bearer token from `credential` (scope: the endpoint's origin +
 * `/.default`, see {@link armScopeOf}). Works with `http://` (embedded emulator) and `https://`.
 *
 * Every attempt has a timeout and honours the AbortSignal. Retries only 408/429/5xx and network errors
 * (all calls here are idempotent: GET, PUT of a whole resource, DELETE): `Retry-After` /
 * `retry-after-ms` first, otherwise exponential backoff with full jitter, never beyond `maxTotalInMs`.
 *
 * Methods throw {@link ArmRequestError} (never an axios error: those carry the Authorization header).
 */
export function createArmClient(options: ArmClientOptions): ArmClient {
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const timeoutInMs = options.timeoutInMs ?? 30_000;
  const maxRetries = options.retry?.maxRetries ?? 4;
  const baseDelayInMs = options.retry?.baseDelayInMs ?? 1_000;
  const maxDelayInMs = options.retry?.maxDelayInMs ?? 30_000;
  const maxTotalInMs = options.retry?.maxTotalInMs ?? 120_000;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const identity = options.identityDescription ?? 'the configured credential';
  const armScope = armScopeOf(endpoint);

  async function call(spec: CallSpec): Promise<AxiosResponse<string>> {
    const resource = `${serviceArmId(spec.location)}/${spec.relativePath}`;
    const operation = `${spec.method} ${spec.relativePath}`;
    const query = new URLSearchParams({ ...spec.query, 'api-version': spec.apiVersion ?? options.apiVersion });
    const url = `${endpoint}${encodeResourcePath(resource)}?${query.toString()}`;
    const fail = (
      message: string,
      status: number | undefined,
      code: string,
      cause?: Error,
    ): ArmRequestError =>
      new ArmRequestError(`${operation} failed: ${message}`, { status, code, operation, resource, url }, cause ? { cause } : undefined);

    const startedAt = now();
    let sleptInMs = 0;
    let token: string | undefined;
    for (let attempt = 0; ; attempt += 1) {
      if (spec.signal?.aborted) {
        throw fail('aborted', undefined, 'Aborted');
      }
      try {
        const accessToken = await options.credential.getToken(armScope, spec.signal ? { abortSignal: spec.signal } : {});
        if (!accessToken) {
          throw new Error('the credential returned no token');
        }
        token = accessToken.token;
      } catch (error) {
        const message = redact(describeCredentialError(error), token);
        throw fail(`could not get a token for ${identity}: ${message}`, undefined, 'CredentialUnavailable', new Error(message));
      }

      let response: AxiosResponse<string> | undefined;
      let transportError: ArmRequestError | undefined;
      // One deadline for the whole attempt (axios' own timeout only watches socket inactivity).
      const attempt$ = new AbortController();
      let timedOut = false;
      const onCallerAbort = (): void => attempt$.abort();
      spec.signal?.addEventListener('abort', onCallerAbort, { once: true });
      const deadline = setTimeout(() => {
        timedOut = true;
        attempt$.abort();
      }, timeoutInMs);
      try {
        response = await axios.request<string>({
          method: spec.method,
          url,
          data: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            ...(spec.body === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...spec.headers,
          },
          timeout: timeoutInMs,
          signal: attempt$.signal,
          responseType: 'text',
          transformResponse: [(data: unknown) => data],
          validateStatus: () => true,
          maxRedirects: 0,
          ...(options.httpAgent ? { httpAgent: options.httpAgent } : {}),
          ...(options.httpsAgent ? { httpsAgent: options.httpsAgent } : {}),
        });
      } catch (error) {
        transportError = toTransportError(error, spec.signal, timedOut, timeoutInMs, fail, token);
        if (transportError.code === 'Aborted') {
          throw transportError;
        }
      } finally {
        clearTimeout(deadline);
        spec.signal?.removeEventListener('abort', onCallerAbort);
      }

      if (response && (spec.acceptStatuses.includes(response.status) || (response.status >= 200 && response.status < 300))) {
        return response;
      }
      const error = transportError ?? toHttpError(response!, spec, identity, fail, token);
      const retryable = transportError !== undefined || isRetryableStatus(response!.status);
      if (!retryable || attempt >= maxRetries) {
        throw error;
      }
      const hinted = response ? retryAfterInMs(response.headers as Record<string, unknown>, now()) : undefined;
      const backoffInMs = Math.min(maxDelayInMs, baseDelayInMs * 2 ** attempt) * random();
      const delayInMs = Math.round(hinted === undefined ? backoffInMs : Math.min(hinted, maxDelayInMs));
      const spentInMs = Math.max(now() - startedAt, sleptInMs);
      if (hinted !== undefined && hinted > maxDelayInMs) {
        // The server asks for a longer pause than we may wait: retrying early would only be refused again.
        throw error;
      }
      if (spentInMs + delayInMs > maxTotalInMs) {
        throw error;
      }
      try {
        await sleep(delayInMs, spec.signal);
      } catch (sleepError) {
        throw fail('aborted while waiting to retry', undefined, 'Aborted', new Error(String((sleepError as Error)?.message ?? sleepError)));
      }
      sleptInMs += delayInMs;
    }
  }

  return {
    async getBackend(location, backendId, signal) {
      const response = await call({
        method: 'GET',
        relativePath: `backends/${backendId}`,
        location,
        acceptStatuses: [404],
        write: false,
        signal,
      });
      if (response.status === 404) {
        return null;
      }
      return { body: parseBackend(response, `GET backends/${backendId}`, backendResourceId(location, backendId)), etag: headerValue(response, 'etag') };
    },

    async putBackend(location, backendId, properties, putOptions, signal) {
      const response = await call({
        method: 'PUT',
        relativePath: `backends/${backendId}`,
        location,
        body: { properties },
        headers: putOptions?.ifMatch ? { 'If-Match': putOptions.ifMatch } : {},
        acceptStatuses: [],
        write: true,
        signal,
      });
      return {
        body: parseBackend(response, `PUT backends/${backendId}`, backendResourceId(location, backendId)),
        etag: headerValue(response, 'etag'),
        created: response.status === 201,
      };
    },

    async deleteBackend(location, backendId, deleteOptions, signal) {
      const response = await call({
        method: 'DELETE',
        relativePath: `backends/${backendId}`,
        location,
        headers: { 'If-Match': deleteOptions?.ifMatch ?? '*' },
        acceptStatuses: [204],
        write: true,
        signal,
      });
      return response.status !== 204;
    },

    async listPermissions(location, signal) {
      const relativePath = 'providers/Microsoft.Authorization/permissions';
      const response = await call({ method: 'GET', relativePath, location, acceptStatuses: [], write: false, signal, apiVersion: PERMISSIONS_API_VERSION });
      const value = (parseJson(response.data) as { value?: unknown } | undefined)?.value;
      if (!Array.isArray(value)) {
        throw new ArmRequestError(`GET ${relativePath} failed: the response has no value array`, {
          status: response.status,
          code: 'InvalidResponse',
          operation: `GET ${relativePath}`,
          resource: `${serviceArmId(location)}/${relativePath}`,
          url: response.config.url ?? '',
        });
      }
      const strings = (list: unknown): string[] => (Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : []);
      return value.map((entry: { actions?: unknown; notActions?: unknown }) => ({ actions: strings(entry?.actions), notActions: strings(entry?.notActions) }));
    },

    async getApiPolicy(location, apiId, signal) {
      const response = await call({
        method: 'GET',
        relativePath: `apis/${apiId}/policies/policy`,
        location,
        query: { format: 'rawxml' },
        acceptStatuses: [404],
        write: false,
        signal,
      });
      if (response.status === 404) {
        return null;
      }
      const parsed = parseJson(response.data);
      // PolicyContract: { properties: { value: string, format: 'rawxml' | 'xml' | … } }.
      const value = (parsed as { properties?: { value?: unknown } } | undefined)?.properties?.value;
      if (typeof value !== 'string') {
        throw new ArmRequestError(`GET apis/${apiId}/policies/policy failed: the response has no properties.value string`, {
          status: response.status,
          code: 'InvalidResponse',
          operation: `GET apis/${apiId}/policies/policy`,
          resource: `${serviceArmId(location)}/apis/${apiId}/policies/policy`,
          url: response.config.url ?? '',
        });
      }
      return value;
    },
  };
}

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/service/{svc}`. */
function serviceArmId(location: ApimLocation): string {
  return backendArmId(location, '').replace(/\/backends\/$/, '');
}

function encodeResourcePath(resourceId: string): string {
  return resourceId
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function headerValue(response: AxiosResponse, name: string): string | undefined {
  const value = (response.headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : undefined;
}

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string' || text.trim() === '') {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function backendResourceId(location: ApimLocation, backendId: string): string {
  return `${serviceArmId(location)}/backends/${backendId}`;
}

function parseBackend(response: AxiosResponse<string>, operation: string, resource: string): ArmBackendResource {
  const parsed = parseJson(response.data) as Partial<ArmBackendResource> | undefined;
  if (!parsed || typeof parsed !== 'object' || typeof parsed.properties !== 'object' || parsed.properties === null) {
    throw new ArmRequestError(`${operation} failed: the response is not a backend resource`, {
      status: response.status,
      code: 'InvalidResponse',
      operation,
      resource,
      url: response.config.url ?? '',
    });
  }
  return parsed as ArmBackendResource;
}

type Fail = (message: string, status: number | undefined, code: string, cause?: Error) => ArmRequestError;

/** At most this many `error.details[]` entries are shown (ARM can nest many). */
const MAX_DETAILS = 10;

/**
 * The field-level reasons of an ARM error body (`error.details[]`, common-types ErrorDetail: `code`, `message`,
 * `target`), flattened one level deep and bounded. APIM answers a bad body with a generic top message
 * ("One or more fields contain incorrect values:") and puts the field and its reason in the details.
 */
export function armErrorDetails(body: unknown): { code: string | undefined; target: string | undefined; message: string }[] {
  const error = (body as { error?: { details?: unknown } } | undefined)?.error;
  const out: { code: string | undefined; target: string | undefined; message: string }[] = [];
  const visit = (details: unknown, depth: number): void => {
    if (!Array.isArray(details) || depth > 2) return;
    for (const detail of details) {
      if (out.length >= MAX_DETAILS || typeof detail !== 'object' || detail === null) return;
      const { code, target, message, details: nested } = detail as Record<string, unknown>;
      if (typeof message === 'string' && message !== '') {
        out.push({
          code: typeof code === 'string' ? code : undefined,
          target: typeof target === 'string' && target !== '' ? target : undefined,
          message: message.slice(0, 500),
        });
      }
      visit(nested, depth + 1);
    }
  };
  visit(error?.details, 0);
  return out;
}

function toHttpError(response: AxiosResponse<string>, spec: CallSpec, identity: string, fail: Fail, token: string | undefined): ArmRequestError {
  const parsed = parseJson(response.data) as { error?: { code?: unknown; message?: unknown } } | undefined;
  const code = typeof parsed?.error?.code === 'string' ? parsed.error.code : `Http${response.status}`;
  const armMessage = typeof parsed?.error?.message === 'string' ? parsed.error.message : response.statusText || 'no error message';
  let message = `${response.status} ${code}: ${redact(armMessage, token)}`;
  const details = armErrorDetails(parsed);
  if (details.length > 0) {
    const listed = details.map((d) => `${d.target === undefined ? '' : `${d.target}: `}${d.message}${d.code === undefined ? '' : ` (${d.code})`}`);
    message = `${message.replace(/[:\s]+$/, '')} — ${redact(listed.join('; '), token)}`;
  }
  if (response.status === 403) {
    const role = spec.write ? 'API Management Service Contributor' : 'API Management Service Reader';
    message +=
      ` — the identity used (${identity}) needs the role "${role}" (or one with ` +
      `${spec.write ? 'write' : 'read'} access) on the API Management service "${spec.location.serviceName}" ` +
      `in resource group "${spec.location.resourceGroup}".`;
  }
  if (response.status === 401) {
    message += ` — the token of ${identity} was rejected; check the tenant and the ARM endpoint.`;
  }
  return fail(message, response.status, code);
}

function toTransportError(
  error: unknown,
  signal: AbortSignal | undefined,
  timedOut: boolean,
  timeoutInMs: number,
  fail: Fail,
  token: string | undefined,
): ArmRequestError {
  // Only the message and code are kept: axios errors carry config.headers, i.e. the bearer token.
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const message = redact(error instanceof Error ? error.message : String(error), token);
  const cause = new Error(message);
  if (signal?.aborted) {
    return fail('aborted', undefined, 'Aborted', cause);
  }
  if (timedOut || code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(message)) {
    return fail(`no response within ${timeoutInMs} ms`, undefined, 'Timeout', cause);
  }
  const networkCode = code && RETRYABLE_NETWORK_CODES.has(code) ? code : 'NetworkError';
  return fail(`network error (${networkCode}): ${message}`, undefined, 'NetworkError', cause);
}

function redact(text: string, token: string | undefined): string {
  let result = text.replace(/Bearer\s+[A-Za-z0-9\-._~+/]+=*/g, 'Bearer [redacted]');
  if (token) {
    result = result.split(token).join('[redacted]');
  }
  return result;
}
