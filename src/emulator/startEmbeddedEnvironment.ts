import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AccessLog } from './accessLog';
import { ArmEndpoint, type ArmApi, type ArmLogEntry } from './armEndpoint';
import type { SelectionAlgorithm } from './balancer';
import { UnknownFaultTargetError, type Fault, type FaultController, type FaultState } from './fault';
import { Gateway, type RetryPolicy } from './gateway';
import { ControlApi } from './controlApi';
import { BodyTooLargeError, sendJson } from './httpUtil';
import { createLabPolicyXml } from './labPolicy';
import { OpenAiSimulator } from './openAiSimulator';
import { toFault } from './parseFaultSpec';
import { createRandom } from './random';

export type { Fault, FaultController, FaultState } from './fault';
export type { AccessLogEntry, AccessLogAttempt } from './accessLog';
export type { AccessLog } from './accessLog';

/** One simulated Azure OpenAI resource. */
export interface SimulatedResource {
  /** Virtual host name the backend URLs use, e.g. `aoai-nov26-instance1.openai.azure.com`. */
  host: string;
  /** Sent as `x-ms-region`, e.g. `West US`. */
  region: string;
  /** Deployment names; default `['gpt-4o']`. */
  deployments?: string[];
  /** Standard-deployment quota; default 6000. */
  requestsPerMinute?: number;
  /** Default 1,000,000. */
  tokensPerMinute?: number;
  /** Lognormal latency; default median 400 ms, p95 1200 ms. */
  latencyInMs?: { median: number; p95: number };
}

export interface EmbeddedEnvironmentOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Gateway + ARM + control server port; default 0 (random). */
  port?: number;
  /** Default: the lab (instance1 West US, instance2 East US, deployment gpt-4o). */
  resources?: SimulatedResource[];
  /** Default 00000000-0000-0000-0000-000000000000 / rg-apim-lab / apim-emulator. */
  apim?: { subscriptionId: string; resourceGroup: string; serviceName: string };
  /** API URL suffix; default `openai`. */
  apiSuffix?: string;
  /**
   * Backend the default API policy routes to (set-backend-service); default `openai-instance-backend-pool`.
   * A policy PUT through ARM replaces the default, and the gateway then follows that policy.
   */
  poolBackendId?: string;
  /** Default: random per start. */
  subscriptionKey?: string;
  /** Default weighted-random. */
  selection?: SelectionAlgorithm;
  /** Default 1; requests are spread round-robin over instances, each with its own balancer and breakers. */
  gatewayInstances?: number;
  /**
   * The retry of the default API policy; default the lab's: 2 retries, interval 0, first fast retry, on 429
   * and 503; null = no retry. `intervalInMs` is written to the policy in whole seconds, as APIM's attribute.
   */
  retryPolicy?: RetryPolicy | null;
  /** Makes selection and latency reproducible. */
  seed?: number;
  /** Clock for breaker windows, quotas and timestamps; default Date.now. */
  now?: () => number;
  /** Multiplies simulated latencies; 0 answers at once. Default 1. */
  latencyScale?: number;
  /** forward-request timeout in ms; default 300000 (APIM's default). */
  forwardTimeoutInMs?: number;
  /**
   * Name of a response header the API's outbound policy sets to the answering backend's host (e.g.
   * `x-backend-host`), to tell apart backends in the same region; default none (the lab has none).
   */
  backendHostHeader?: string;
}

export interface EmbeddedEnvironment {
  /** API base including the suffix, e.g. `http://127.0.0.1:PORT/openai`. */
  readonly gatewayUrl: string;
  /** ARM host root, e.g. `http://127.0.0.1:PORT` (paths `/subscriptions/…`). */
  readonly armEndpoint: string;
  /** e.g. `http://127.0.0.1:PORT/_emulator`. */
  readonly controlUrl: string;
  readonly subscriptionKey: string;
  readonly apim: { subscriptionId: string; resourceGroup: string; serviceName: string };
  readonly resources: readonly SimulatedResource[];
  readonly faults: FaultController;
  readonly accessLog: AccessLog;
  /** Every ARM request answered: method, path, status. */
  readonly armLog: readonly ArmLogEntry[];
  /**
   * Loopback base URL of a simulated resource (e.g. `http://127.0.0.1:PORT`), for calling it directly,
   * bypassing the gateway; undefined for an unknown host. The port may change after a `down` fault.
   */
  simulatorUrl(host: string): string | undefined;
  close(): Promise<void>;
}

/** Thrown for unusable options; `field` names the option. */
export class EmbeddedEnvironmentOptionsError extends Error {
  override readonly name = 'EmbeddedEnvironmentOptionsError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`Invalid emulator option '${field}': ${message}`);
  }
}

/** The reference lab's two Azure OpenAI resources. */
export const LAB_RESOURCES: readonly SimulatedResource[] = [
  { host: 'aoai-nov26-instance1.openai.azure.com', region: 'West US', deployments: ['gpt-4o'] },
  { host: 'aoai-nov26-instance2.openai.azure.com', region: 'East US', deployments: ['gpt-4o'] },
];

const DEFAULT_APIM = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rg-apim-lab', serviceName: 'apim-emulator' };
/** The lab's retry: 2 retries, interval 0, first fast retry, on 429 and 503. */
export const LAB_RETRY_POLICY: RetryPolicy = { count: 2, intervalInMs: 0, firstFastRetry: true, statusCodes: [429, 503] };

/** Canonical form for matching regions: lower case, no spaces (`West US` = `westus`). */
function regionKey(value: string): string {
  return value.replace(/\s+/g, '').toLowerCase();
}

/** Options every environment shares (the single-API one and the fleet). */
export type EmulatedServiceOptions = Omit<EmbeddedEnvironmentOptions, 'apiSuffix' | 'poolBackendId' | 'retryPolicy' | 'backendHostHeader'>;

/** What `startEmulatedService` returns besides the environment: its base URL. */
export interface EmulatedService extends EmbeddedEnvironment {
  /** `http://host:port` of the gateway, ARM and control server. */
  readonly baseUrl: string;
}

/** Checks an API URL suffix (the `path` of an APIM API). */
export function isApiPath(path: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._~-]*(\/[A-Za-z0-9._~-]+)*$/.test(path);
}

export function checkOptions(options: EmbeddedEnvironmentOptions): void {
  const positiveInteger = (field: string, value: number | undefined, min: number): void => {
    if (value !== undefined && (!Number.isInteger(value) || value < min)) {
      throw new EmbeddedEnvironmentOptionsError(field, `must be an integer ≥ ${min}; got ${String(value)}`);
    }
  };
  positiveInteger('port', options.port, 0);
  positiveInteger('gatewayInstances', options.gatewayInstances, 1);
  if (options.latencyScale !== undefined && !(options.latencyScale >= 0)) {
    throw new EmbeddedEnvironmentOptionsError('latencyScale', `must be a number ≥ 0; got ${String(options.latencyScale)}`);
  }
  if (options.apiSuffix !== undefined && !isApiPath(options.apiSuffix)) {
    throw new EmbeddedEnvironmentOptionsError('apiSuffix', `must be a URL path without leading slash; got '${options.apiSuffix}'`);
  }
  if (options.backendHostHeader !== undefined && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(options.backendHostHeader)) {
    throw new EmbeddedEnvironmentOptionsError('backendHostHeader', `must be an HTTP header name; got '${options.backendHostHeader}'`);
  }
  if (options.selection !== undefined && options.selection !== 'weighted-random' && options.selection !== 'smooth-weighted-round-robin') {
    throw new EmbeddedEnvironmentOptionsError('selection', `must be 'weighted-random' or 'smooth-weighted-round-robin'; got '${String(options.selection)}'`);
  }
  if (options.retryPolicy) {
    positiveInteger('retryPolicy.count', options.retryPolicy.count, 0);
    positiveInteger('retryPolicy.intervalInMs', options.retryPolicy.intervalInMs, 0);
    options.retryPolicy.statusCodes.forEach((code, index) => {
      if (!Number.isInteger(code) || code < 100 || code > 599) {
        throw new EmbeddedEnvironmentOptionsError(`retryPolicy.statusCodes[${index}]`, `must be an HTTP status 100–599; got ${String(code)}`);
      }
    });
  }
  if (options.poolBackendId !== undefined && !/^[^"<>&\s/?#]{1,80}$/.test(options.poolBackendId)) {
    throw new EmbeddedEnvironmentOptionsError('poolBackendId', `must be a backend id of 1–80 characters; got '${options.poolBackendId}'`);
  }
  const hosts = new Set<string>();
  (options.resources ?? []).forEach((resource, index) => {
    const field = `resources[${index}]`;
    if (!resource.host || !/^[A-Za-z0-9.-]+$/.test(resource.host)) {
      throw new EmbeddedEnvironmentOptionsError(`${field}.host`, `must be a host name; got '${String(resource.host)}'`);
    }
    if (hosts.has(resource.host.toLowerCase())) {
      throw new EmbeddedEnvironmentOptionsError(`${field}.host`, `'${resource.host}' is listed twice`);
    }
    hosts.add(resource.host.toLowerCase());
    if (!resource.region) {
      throw new EmbeddedEnvironmentOptionsError(`${field}.region`, 'is required');
    }
    positiveInteger(`${field}.requestsPerMinute`, resource.requestsPerMinute, 1);
    positiveInteger(`${field}.tokensPerMinute`, resource.tokensPerMinute, 1);
    const latency = resource.latencyInMs;
    if (latency && !(latency.median >= 0 && latency.p95 >= latency.median)) {
      throw new EmbeddedEnvironmentOptionsError(`${field}.latencyInMs`, 'needs 0 ≤ median ≤ p95');
    }
  });
}

/**
 * Starts the embedded environment on loopback: one HTTP server for the APIM gateway, the ARM management
 * endpoint and the control API, plus one server per simulated Azure OpenAI resource. Nothing is deployed
 * at start: deploy backends and the pool through the ARM endpoint (as the product does), then call the
 * gateway. Never contacts a real host.
 * @throws EmbeddedEnvironmentOptionsError for unusable options.
 */
export async function startEmbeddedEnvironment(options: EmbeddedEnvironmentOptions = {}): Promise<EmbeddedEnvironment> {
  checkOptions(options);
  const apiSuffix = options.apiSuffix ?? 'openai';
  const poolBackendId = options.poolBackendId ?? 'openai-instance-backend-pool';
  const retryPolicy = options.retryPolicy === undefined ? LAB_RETRY_POLICY : options.retryPolicy;
  // The options only shape the default API policy; the gateway obeys whatever policy is in force.
  const defaultPolicyXml = createLabPolicyXml({ poolBackendId, retryPolicy, backendHostHeader: options.backendHostHeader });
  const { baseUrl: _baseUrl, ...env } = await startEmulatedService(options, [{ id: apiSuffix.replace(/\//g, '-'), path: apiSuffix, defaultPolicyXml }], true);
  return env;
}

/**
 * Starts one emulated APIM service with the given APIs (the options are checked by the caller). With
 * `anyApiIdAddressesFirst`, every ARM `apis/{apiId}` addresses the first API (the single-API environment).
 */
export async function startEmulatedService(
  options: EmulatedServiceOptions,
  apis: readonly ArmApi[],
  anyApiIdAddressesFirst: boolean,
): Promise<EmulatedService> {
  const listenHost = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const apim = { ...(options.apim ?? DEFAULT_APIM) };
  const subscriptionKey = options.subscriptionKey ?? randomBytes(16).toString('hex');
  const resources: SimulatedResource[] = (options.resources ?? LAB_RESOURCES).map((resource) => ({
    ...resource,
    deployments: resource.deployments ?? ['gpt-4o'],
    requestsPerMinute: resource.requestsPerMinute ?? 6000,
    tokensPerMinute: resource.tokensPerMinute ?? 1_000_000,
    latencyInMs: resource.latencyInMs ?? { median: 400, p95: 1200 },
  }));
  const latencyScale = options.latencyScale ?? 1;
  const simulators = resources.map(
    (resource, index) =>
      new OpenAiSimulator({
        host: resource.host,
        region: resource.region,
        deployments: resource.deployments ?? ['gpt-4o'],
        requestsPerMinute: resource.requestsPerMinute ?? 6000,
        tokensPerMinute: resource.tokensPerMinute ?? 1_000_000,
        latencyInMs: resource.latencyInMs ?? { median: 400, p95: 1200 },
        latencyScale,
        random: createRandom(options.seed === undefined ? undefined : options.seed + 1000 + index),
        now,
        listenHost,
      }),
  );
  const byHost = new Map(simulators.map((simulator) => [simulator.options.host.toLowerCase(), simulator]));
  const accessLog = new AccessLog();
  const arm = new ArmEndpoint(apim, apis, now, anyApiIdAddressesFirst);
  const gateway = new Gateway({
    arm,
    accessLog,
    apis: apis.map((api) => ({ id: api.id, path: api.path })),
    subscriptionKey,
    algorithm: options.selection ?? 'weighted-random',
    instances: options.gatewayInstances ?? 1,
    seed: options.seed,
    now,
    listenHost,
    forwardTimeoutInMs: options.forwardTimeoutInMs ?? 300_000,
    resolveHost: (host) => {
      const simulator = byHost.get(host.toLowerCase());
      // A resource that is down keeps its DNS entry; the dial fails with ECONNREFUSED.
      return simulator ? { port: simulator.port, region: simulator.options.region } : undefined;
    },
  });

  const matching = (target: string): OpenAiSimulator[] => {
    const wanted = target.trim().toLowerCase();
    const found = simulators.filter(
      (simulator) => simulator.options.host.toLowerCase() === wanted || regionKey(simulator.options.region) === regionKey(target),
    );
    if (found.length === 0) {
      throw new UnknownFaultTargetError(target, simulators.flatMap((simulator) => [simulator.options.region, simulator.options.host]));
    }
    return found;
  };
  // Not async on purpose: a bad target or fault throws at the call, even when the caller forgets to await.
  const faults: FaultController = {
    setFault(target: string, fault: Fault): Promise<void> {
      const checked = toFault(fault);
      return Promise.all(matching(target).map((simulator) => simulator.setFault(checked))).then(() => undefined);
    },
    heal(target?: string): Promise<void> {
      const chosen = target === undefined ? simulators : matching(target);
      return Promise.all(chosen.map((simulator) => simulator.setFault({ kind: 'healthy' }))).then(() => undefined);
    },
    list(): FaultState[] {
      return simulators.map((simulator) => ({ host: simulator.options.host, region: simulator.options.region, fault: simulator.fault }));
    },
  };

  const poolState = (backendId: string | undefined): unknown => {
    const pool = backendId === undefined ? undefined : arm.store.getBackend(backendId)?.value;
    return pool
      ? {
          name: pool.name,
          type: pool.properties.type ?? 'Single',
          members: (pool.properties.pool?.services ?? []).map((service) => {
            const name = arm.store.memberName(service.id) ?? service.id;
            return { name, url: arm.store.getBackend(name)?.value.properties.url ?? null, priority: service.priority ?? null, weight: service.weight ?? null };
          }),
        }
      : null;
  };
  const firstApi = apis[0] as ArmApi;
  const state = (): unknown => {
    return {
      apim,
      gateway: {
        apiSuffix: firstApi.path,
        instances: options.gatewayInstances ?? 1,
        selection: options.selection ?? 'weighted-random',
        policy: gateway.currentPolicy(firstApi.id),
      },
      apis: apis.map((api) => {
        const policy = gateway.currentPolicy(api.id);
        return { id: api.id, path: api.path, policy, pool: poolState(policy.backendId) };
      }),
      resources: simulators.map((simulator) => ({
        host: simulator.options.host,
        region: simulator.options.region,
        deployments: simulator.options.deployments,
        fault: simulator.fault,
        stats: simulator.stats,
      })),
      pool: poolState(gateway.currentPolicy(firstApi.id).backendId),
      breakers: gateway.breakerStates(),
      breakerEvents: gateway.breakerEvents(),
      accessLogSize: accessLog.entries().length,
    };
  };

  const control = new ControlApi({ faults, accessLog, state });

  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    // Concatenate, not resolve: '//subscriptions/…' must stay a path, not become a host.
    const url = new URL(`http://emulator${(request.url ?? '/').startsWith('/') ? '' : '/'}${request.url ?? ''}`);
    const pathname = url.pathname.replace(/\/{2,}/g, '/');
    const normalized = new URL(url.toString());
    normalized.pathname = pathname;
    let work: Promise<void>;
    if (ArmEndpoint.isArmPath(pathname)) {
      work = arm.handle(request, response, normalized);
    } else if (pathname.toLowerCase().startsWith('/_emulator')) {
      work = control.handle(request, response, normalized);
    } else if (gateway.ownsPath(pathname)) {
      work = gateway.handle(request, response, normalized);
    } else {
      request.resume();
      sendJson(response, 404, { statusCode: 404, message: 'Resource not found' });
      work = Promise.resolve();
    }
    work.catch((error: unknown) => {
      if (error instanceof BodyTooLargeError) {
        sendJson(response, 413, { statusCode: 413, message: error.message }, { connection: 'close' });
        return;
      }
      sendJson(response, 500, { statusCode: 500, message: `Emulator error: ${error instanceof Error ? error.message : String(error)}` });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  try {
    await Promise.all(simulators.map((simulator) => simulator.start()));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, listenHost, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await Promise.all(simulators.map((simulator) => simulator.close()));
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  const base = `http://${urlHost}:${port}`;
  let closed = false;

  return {
    baseUrl: base,
    gatewayUrl: `${base}/${firstApi.path}`,
    armEndpoint: base,
    controlUrl: `${base}/_emulator`,
    subscriptionKey,
    apim,
    resources,
    faults,
    accessLog,
    armLog: arm.log,
    simulatorUrl(host: string): string | undefined {
      const simulator = byHost.get(host.toLowerCase());
      return simulator ? `http://${urlHost}:${simulator.port}` : undefined;
    },
    async close(): Promise<void> {
      if (closed) {
        return;
      }
      closed = true;
      gateway.close();
      await Promise.all([
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) {
            socket.destroy();
          }
        }),
        ...simulators.map((simulator) => simulator.close()),
      ]);
    },
  };
}
