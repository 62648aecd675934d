import type { ResolvedPool } from '../lib/pool/types';
import type { ArmApi } from './armEndpoint';
import type { RetryPolicy } from './gateway';
import { createLabPolicyXml } from './labPolicy';
import { resourcesFromPool } from './resourcesFromPool';
import {
  checkOptions,
  EmbeddedEnvironmentOptionsError,
  isApiPath,
  LAB_RETRY_POLICY,
  startEmulatedService,
  type EmbeddedEnvironment,
  type EmulatedServiceOptions,
  type SimulatedResource,
} from './startEmbeddedEnvironment';

/**
 * One definition file and its pool: the shape of `FleetEntry` (src/lib/pool/loadFleetDefinitions), declared
 * here structurally so that the emulator needs nothing but the pool type.
 */
export interface FleetPoolEntry {
  readonly file: string;
  readonly pool: ResolvedPool;
}

/** A header route of an API: a request whose `header` equals `value` goes to `backendId`. */
export interface FleetHeaderRoute {
  readonly header: string;
  readonly value: string;
  /** A pool of the fleet or one of their member backends (deployed with them). */
  readonly backendId: string;
}

/** What a pool's API policy adds to the lab's policy (route to the pool, managed identity, retry, hidden 503). */
export interface FleetApiOptions {
  /** `azure-openai-token-limit` per subscription with this many tokens per minute (an integer ≥ 1). */
  readonly tokenLimitPerMinute?: number;
  /** Routes by a request header ("on your data"); a request without the header goes to the pool. */
  readonly headerRoutes?: readonly FleetHeaderRoute[];
}

export interface EmbeddedFleetOptions extends Omit<EmulatedServiceOptions, 'resources'> {
  /** Per pool name: additions to that API's default policy. */
  readonly apis?: Readonly<Record<string, FleetApiOptions>>;
  /** The retry of every API's default policy; default the lab's (2 retries on 429/503); null = none. */
  readonly retryPolicy?: RetryPolicy | null;
}

/** One API of the fleet. */
export interface FleetApi {
  readonly pool: string;
  /** The definition file the pool came from. */
  readonly file: string;
  /** ARM API id (`apis/{apiId}`): the definition's `apim.apiId`, else the path with `/` → `-`. */
  readonly apiId: string;
  /** URL suffix, e.g. `openai`. */
  readonly path: string;
  /** e.g. `http://127.0.0.1:PORT/openai`. */
  readonly gatewayUrl: string;
}

/** The embedded environment hosting a fleet: one APIM service, one API per pool. */
export interface EmbeddedFleet extends Omit<EmbeddedEnvironment, 'gatewayUrl'> {
  readonly apis: readonly FleetApi[];
  /**
   * API base URL (with its suffix) of a pool's API, e.g. `http://127.0.0.1:PORT/gpt-4o-mini-pool`.
   * @throws Error when no API serves that pool.
   */
  gatewayUrlOf(pool: string): string;
}

/** hdefs adds `gateway.url` to ResolvedPool; read it without depending on it. */
function gatewayUrlOfDefinition(pool: ResolvedPool): string | undefined {
  const gateway = (pool as { readonly gateway?: { readonly url?: string | undefined } }).gateway;
  return typeof gateway?.url === 'string' ? gateway.url : undefined;
}

/** hprobe may add `probe.tokenLimitPerMinute` (the limit the verifier must stay inside); read it defensively. */
function tokenLimitOfDefinition(pool: ResolvedPool): number | undefined {
  const value = (pool.probe as { readonly tokenLimitPerMinute?: unknown }).tokenLimitPerMinute;
  return typeof value === 'number' ? value : undefined;
}

const MAX_ENTRIES = 200;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function fail(field: string, message: string): never {
  throw new EmbeddedEnvironmentOptionsError(field, message);
}

/** First path segments the emulator's own server answers before the gateway (ARM and the control API). */
const RESERVED_SEGMENTS = new Set(['subscriptions', '_emulator']);

/** The API path of a pool: the path of `gateway.url` when given, else `openai` for the first pool and the pool name for the others. */
function apiPathOf(entry: FleetPoolEntry, index: number): string {
  const path = declaredOrDefaultPath(entry, index);
  if (RESERVED_SEGMENTS.has((path.split('/')[0] ?? '').toLowerCase())) {
    fail(`entries[${index}]`, `API path '${path}' of ${entry.file} starts with a segment the emulator keeps for ARM or its control API`);
  }
  return path;
}

function declaredOrDefaultPath(entry: FleetPoolEntry, index: number): string {
  const url = gatewayUrlOfDefinition(entry.pool);
  if (url !== undefined) {
    let path: string;
    try {
      path = new URL(url).pathname.replace(/^\/+|\/+$/g, '');
    } catch {
      return fail(`entries[${index}].pool.gateway.url`, `'${url}' is not an absolute URL (${entry.file})`);
    }
    if (!isApiPath(path)) {
      fail(`entries[${index}].pool.gateway.url`, `the API path '${path}' of '${url}' is not usable as an API URL suffix (${entry.file})`);
    }
    return path;
  }
  const path = index === 0 ? 'openai' : entry.pool.name;
  if (!isApiPath(path)) {
    fail(`entries[${index}].pool.name`, `'${path}' cannot be an API URL suffix; give the definition a gateway.url (${entry.file})`);
  }
  return path;
}

/** One simulated resource per backend host of the fleet, with the deployments of every pool that uses it. */
function resourcesOfFleet(entries: readonly FleetPoolEntry[]): SimulatedResource[] {
  const byHost = new Map<string, { resource: SimulatedResource; file: string }>();
  entries.forEach((entry, index) => {
    for (const resource of resourcesFromPool(entry.pool.backends, entry.pool.probe.deployment)) {
      const known = byHost.get(resource.host);
      if (!known) {
        byHost.set(resource.host, { resource: { ...resource, deployments: [...(resource.deployments ?? [])] }, file: entry.file });
        continue;
      }
      const region = resource.region === 'Unknown' ? known.resource.region : resource.region;
      if (known.resource.region !== 'Unknown' && region !== known.resource.region) {
        fail(
          `entries[${index}].pool.backends`,
          `host '${resource.host}' is in '${known.resource.region}' in ${known.file} but in '${resource.region}' in ${entry.file}; one Azure OpenAI resource has one region`,
        );
      }
      const deployments = new Set([...(known.resource.deployments ?? []), ...(resource.deployments ?? [])]);
      byHost.set(resource.host, { resource: { ...known.resource, region, deployments: [...deployments] }, file: known.file });
    }
  });
  return [...byHost.values()].map((value) => value.resource);
}

/** Same backend name with two URLs cannot live in one APIM service: the second deploy would overwrite the first. */
function checkBackendNames(entries: readonly FleetPoolEntry[]): Set<string> {
  const urls = new Map<string, { url: string; file: string }>();
  entries.forEach((entry, index) => {
    entry.pool.backends.forEach((backend, member) => {
      const key = backend.name.toLowerCase();
      const known = urls.get(key);
      if (known && known.url !== backend.url) {
        fail(
          `entries[${index}].pool.backends[${member}].name`,
          `backend '${backend.name}' has URL '${known.url}' in ${known.file} but '${backend.url}' in ${entry.file}; backend names are unique per APIM service`,
        );
      }
      urls.set(key, known ?? { url: backend.url, file: entry.file });
    });
  });
  return new Set(urls.keys());
}

function checkApiOptions(name: string, api: FleetApiOptions, deployable: ReadonlySet<string>): void {
  const field = `apis.${name}`;
  if (api.tokenLimitPerMinute !== undefined && !(Number.isInteger(api.tokenLimitPerMinute) && api.tokenLimitPerMinute >= 1)) {
    fail(`${field}.tokenLimitPerMinute`, `must be an integer ≥ 1; got ${String(api.tokenLimitPerMinute)}`);
  }
  (api.headerRoutes ?? []).forEach((route, index) => {
    const at = `${field}.headerRoutes[${index}]`;
    if (!HEADER_NAME.test(route.header)) fail(`${at}.header`, `must be an HTTP header name; got '${route.header}'`);
    if (!/^[\x20-\x7e]{1,200}$/.test(route.value) || /["\\]/.test(route.value)) {
      fail(`${at}.value`, 'must be 1–200 printable ASCII characters without quotes or backslashes');
    }
    if (!deployable.has(route.backendId.toLowerCase())) {
      fail(`${at}.backendId`, `'${route.backendId}' is neither a pool of the fleet nor one of their backends`);
    }
  });
}

/**
 * Starts the embedded environment for a fleet of pools: one emulated APIM service (gateway, ARM endpoint,
 * control API on one loopback port), one simulated Azure OpenAI resource per distinct backend host (its
 * region from the definitions, the deployments of every pool using it), and one API per pool. An API's
 * path is the path of the definition's `gateway.url` when given, else `openai` for the first entry and the
 * pool name for the others; its default policy is the lab's (route to the pool, retry) plus, from
 * `options.apis[pool]` or the definition's `probe.tokenLimitPerMinute`, a token limit and header routes.
 * Nothing is deployed at start: deploy each pool through the ARM endpoint as the product does; until then
 * a call to its API answers 500 "… is not deployed on this APIM service".
 * @throws EmbeddedEnvironmentOptionsError naming the entry or option when the fleet cannot be one service
 *   (no entries, more than 200, a repeated pool name, API path or API id, a backend name with two URLs, a
 *   host in two regions, a bad API option).
 */
export async function startEmbeddedFleet(entries: readonly FleetPoolEntry[], options: EmbeddedFleetOptions = {}): Promise<EmbeddedFleet> {
  if (entries.length === 0) fail('entries', 'needs at least one pool');
  if (entries.length > MAX_ENTRIES) fail('entries', `at most ${MAX_ENTRIES} pools; got ${entries.length}`);
  const { apis: _apis, retryPolicy: _retry, ...serviceOptions } = options;
  const resources = resourcesOfFleet(entries);
  checkOptions({ ...serviceOptions, resources, ...(options.retryPolicy ? { retryPolicy: options.retryPolicy } : {}) });
  const deployable = checkBackendNames(entries);
  const pools = new Map<string, number>();
  const paths = new Map<string, number>();
  const apiIds = new Map<string, number>();
  const apiOptions = options.apis ?? {};
  const retryPolicy = options.retryPolicy === undefined ? LAB_RETRY_POLICY : options.retryPolicy;
  const planned = entries.map((entry, index) => {
    const { pool } = entry;
    const seen = pools.get(pool.name.toLowerCase());
    if (seen !== undefined) {
      fail(`entries[${index}].pool.name`, `pool '${pool.name}' of ${entry.file} is also defined in ${entries[seen]?.file ?? ''}; one emulated APIM service holds each pool once`);
    }
    pools.set(pool.name.toLowerCase(), index);
    deployable.add(pool.name.toLowerCase());
    const path = apiPathOf(entry, index);
    const samePath = paths.get(path.toLowerCase());
    if (samePath !== undefined) fail(`entries[${index}]`, `API path '${path}' of ${entry.file} is also the path of ${entries[samePath]?.file ?? ''}`);
    paths.set(path.toLowerCase(), index);
    const apiId = pool.apim?.apiId ?? pool.apimDeclared?.apiId ?? path.replace(/\//g, '-');
    const sameId = apiIds.get(apiId.toLowerCase());
    if (sameId !== undefined) fail(`entries[${index}].pool.apim.apiId`, `API id '${apiId}' of ${entry.file} is also the API id of ${entries[sameId]?.file ?? ''}`);
    apiIds.set(apiId.toLowerCase(), index);
    return { entry, path, apiId };
  });
  for (const name of Object.keys(apiOptions)) {
    if (!pools.has(name.toLowerCase())) fail(`apis.${name}`, `no pool of the fleet is named '${name}'`);
  }
  const apis: ArmApi[] = planned.map(({ entry, path, apiId }) => {
    const { pool } = entry;
    const extra = Object.entries(apiOptions).find(([name]) => name.toLowerCase() === pool.name.toLowerCase())?.[1] ?? {};
    checkApiOptions(pool.name, extra, deployable);
    const tokenLimitPerMinute = extra.tokenLimitPerMinute ?? tokenLimitOfDefinition(pool);
    if (tokenLimitPerMinute !== undefined) checkApiOptions(pool.name, { tokenLimitPerMinute }, deployable);
    const defaultPolicyXml = createLabPolicyXml({
      poolBackendId: pool.name,
      retryPolicy,
      // A pool identified by a custom header (backends in one region) gets the outbound header that names
      // the answering backend's host: its members' `identifier`s must then be their hosts.
      backendHostHeader: pool.probe.identify.mode === 'header' ? pool.probe.identify.header : undefined,
      tokenLimitPerMinute,
      headerRoutes: extra.headerRoutes,
    });
    return { id: apiId, path, defaultPolicyXml };
  });
  const service = await startEmulatedService({ ...serviceOptions, resources }, apis, false);
  const { baseUrl, gatewayUrl: _gatewayUrl, ...environment } = service;
  const fleetApis: FleetApi[] = planned.map(({ entry, path, apiId }) => ({
    pool: entry.pool.name,
    file: entry.file,
    apiId,
    path,
    gatewayUrl: `${baseUrl}/${path}`,
  }));
  return {
    ...environment,
    apis: fleetApis,
    gatewayUrlOf(pool: string): string {
      const api = fleetApis.find((candidate) => candidate.pool.toLowerCase() === pool.toLowerCase());
      if (!api) throw new Error(`No API of the embedded fleet serves pool '${pool}'; pools: ${fleetApis.map((a) => a.pool).join(', ')}`);
      return api.gatewayUrl;
    },
  };
}
