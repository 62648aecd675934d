import { hostname } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../lib/config/ConfigError';
import { loadFleetSettings } from '../lib/config/loadFleetSettings';
import type { Settings } from '../lib/config/types';
import { createArmClient } from '../lib/deploy/armClient';
import { createAzureCredential, createLocalCredential } from '../lib/deploy/createCredential';
import { serviceOf, type FleetEntry } from '../lib/pool/loadFleetDefinitions';
import type { WorkQueue } from '../lib/queue/types';
import { evidenceScope } from '../lib/state/evidenceScope';
import type { SqliteStore } from '../lib/store/sqliteStore';
import type { TelemetryHealth } from '../lib/telemetry/createTelemetryHealth';
import { assembleServices, resolveLocation, type CreateServicesOptions, type EmbeddedEndpoints, type Services } from './createServices';
import { createAzureEnvironment } from './environments/azure/createAzureEnvironment';
import { createGatewayAttemptSource } from './createGatewayAttemptSource';
import type { Environment, EnvironmentInputs } from './environments/types';

/** Every pool this app watches, with what they share (settings, the environment's stores, the queue, the emulator). */
export interface Fleet {
  readonly settings: Settings;
  /** One set of services per definition, in the order of the definition files. */
  readonly pools: readonly Services[];
  /** Where the timer puts one message per pool per tick. */
  readonly queue: WorkQueue;
  /** Set when the app started the embedded emulator itself. */
  readonly embedded: EmbeddedEndpoints | undefined;
  /** Export outcomes of App Insights (one for the process); undefined without App Insights. */
  readonly telemetryHealth: TelemetryHealth | undefined;
  /** The local SQLite store (local environment only). */
  readonly localStore: SqliteStore | undefined;
  /** Identifies this instance in lease owners and start-up records (WEBSITE_INSTANCE_ID in Azure). */
  readonly instanceId: string;
  /** The pool named `pool` (and `service`, needed only where the name repeats across APIM services). */
  find(pool: string, service?: string): FleetLookup;
  close(): Promise<void>;
}

export type FleetLookup =
  | { readonly found: true; readonly services: Services }
  | { readonly found: false; readonly status: 400 | 404; readonly code: 'UnknownPool' | 'AmbiguousPool'; readonly message: string };

/** Names listed in an "unknown pool" answer (the fleet may hold hundreds). */
const LISTED_POOLS = 20;

/**
 * Reads settings and every pool definition (`POOL_DEFINITION_PATH`: a file or a folder of files), chooses the
 * environment, opens it once and wires one set of services per pool:
 * - `local`: the SQLite store (loaded lazily: the azure environment never requires `better-sqlite3`), an in-process
 *   queue, and the embedded emulator (one API per pool) when no pool names a gateway, with a local credential that
 *   never touches Azure;
 * - `azure`: Storage Tables and queues, App Insights, Azure Monitor Logs and ARM with `DefaultAzureCredential`;
 *   never the emulator, never the local disk.
 * Each pool has its own gateway URL, subscription key and webhook (from the settings its definition names, else the
 * app's), its own evidence scope and its own run lease.
 * Throws `ConfigError` / `DefinitionError` (naming every bad key, file or JSON path) before anything is started.
 */
export async function createFleet(env: Readonly<Record<string, string | undefined>>, options: CreateServicesOptions = {}): Promise<Fleet> {
  const appRoot = options.appRoot ?? process.cwd();
  // Settings, then the definitions, then the settings they name (keys, webhooks): every problem at once.
  const { settings, pools: entries } = await loadFleetSettings(env, { appRoot });
  const isAzure = settings.environment === 'azure';
  // The emulator stands in for every pool without a gateway, locally only (loadConfig requires a gateway in azure).
  const needsEmulator = !isAzure && entries.some((entry) => entry.secrets.gatewayUrl === undefined);
  let embedded = isAzure ? undefined : options.embedded;
  let ownsEmbedded = false;
  if (needsEmulator && !embedded) {
    if (!options.startEmbedded) throw new Error('The embedded environment is selected but cannot be started here.');
    embedded = await options.startEmbedded(entries);
    ownsEmbedded = true;
  }
  const closeEmbedded = async (): Promise<void> => {
    if (ownsEmbedded && embedded) await embedded.close();
  };

  try {
    // ARM calls go to the emulator's own endpoint when one runs here and ARM_ENDPOINT is not set: a local credential
    // then (the emulator accepts it), never an Azure sign-in.
    const armOnEmulator = !isAzure && embedded !== undefined && !env.ARM_ENDPOINT;
    const everyPoolOnEmulator = needsEmulator && entries.every((entry) => entry.secrets.gatewayUrl === undefined);
    const { credential, description: identity } = options.credential
      ? { credential: options.credential, description: 'the injected credential' }
      : everyPoolOnEmulator || armOnEmulator
        ? createLocalCredential()
        : createAzureCredential(settings.deploy.managedIdentityClientId ? { managedIdentityClientId: settings.deploy.managedIdentityClientId } : {});

    const inputs: EnvironmentInputs = {
      settings,
      appRoot,
      credential,
      telemetry: {
        ingestionCredential: options.credential,
        log: options.log ?? ((line: string) => console.warn(line)),
        offlineStorage: options.telemetryOfflineStorage,
      },
    };
    const environment = isAzure ? createAzureEnvironment(inputs) : await createLocal(inputs);
    const instanceId = `${env.WEBSITE_INSTANCE_ID?.trim().slice(0, 64) || hostname().slice(0, 64)}/${process.pid}`;
    const pools: Services[] = [];
    try {
      const missing: { key: string; message: string }[] = [];
      for (const entry of entries) {
        const secret = entry.secrets;
        const onEmulator = secret.gatewayUrl === undefined && embedded !== undefined;
        const gatewayUrl = secret.gatewayUrl ?? embedded?.gatewayUrlOf?.(entry.pool.name) ?? embedded?.gatewayUrl;
        const subscriptionKey = secret.subscriptionKey ?? (onEmulator ? embedded?.subscriptionKey : undefined);
        if (gatewayUrl === undefined || subscriptionKey === undefined) {
          missing.push(missingGatewayIssue(entry, gatewayUrl === undefined));
          continue;
        }
        pools.push(buildPool(entry, { settings, environment, embedded, onEmulator, gatewayUrl, subscriptionKey, webhookUrl: secret.webhookUrl, credential, identity, armEndpoint: env.ARM_ENDPOINT, instanceId }));
      }
      if (missing.length > 0) throw new ConfigError(missing);
    } catch (error) {
      await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
      await environment.close().catch(() => undefined);
      throw error;
    }
    return {
      settings,
      pools,
      queue: environment.queue,
      embedded,
      telemetryHealth: environment.telemetryHealth,
      localStore: environment.localStore,
      instanceId,
      find: (pool, service) => findPool(pools, pool, service),
      async close() {
        await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
        await environment.close();
        await closeEmbedded();
      },
    };
  } catch (error) {
    await closeEmbedded().catch(() => undefined);
    throw error;
  }
}

/** One pool's services on the shared environment. */
function buildPool(
  entry: FleetEntry,
  wiring: {
    readonly settings: Settings;
    readonly environment: Environment;
    readonly embedded: EmbeddedEndpoints | undefined;
    readonly onEmulator: boolean;
    readonly gatewayUrl: string;
    readonly subscriptionKey: string;
    readonly webhookUrl: string | undefined;
    readonly credential: import('@azure/core-auth').TokenCredential;
    readonly identity: string;
    readonly armEndpoint: string | undefined;
    readonly instanceId: string;
  },
): Services {
  const { settings, environment, embedded, onEmulator, gatewayUrl } = wiring;
  const pool = entry.pool;
  const location = resolveLocation(settings, pool, embedded);
  const armVersion = settings.deploy.armApiVersion ?? location?.armApiVersion ?? '2024-05-01';
  const arm = location
    ? {
        client: createArmClient({
          endpoint: embedded && !wiring.armEndpoint ? embedded.armEndpoint : settings.deploy.armEndpoint,
          credential: wiring.credential,
          apiVersion: armVersion,
          identityDescription: wiring.identity,
        }),
        location: { ...location, armApiVersion: armVersion },
        identity: wiring.identity,
      }
    : undefined;
  const scope = onEmulator ? evidenceScope({ embedded: true }) : evidenceScope({ embedded: false, gatewayUrl, apim: resolveLocation(settings, pool, undefined) });
  const adapters = environment.forPool({
    declaredPool: pool,
    scope,
    // Records carry the APIM service beside the pool, so verifiers sharing one App Insights never merge evidence.
    apimService: location?.serviceName ?? new URL(gatewayUrl).hostname,
    apiId: location?.apiId,
  });
  const services = assembleServices(settings, pool, adapters, {
    embedded: onEmulator ? embedded : undefined,
    gatewayUrl,
    subscriptionKey: wiring.subscriptionKey,
    arm,
    scope,
    webhookUrl: wiring.webhookUrl,
    file: entry.file,
    // A pool whose definition names no service (the demo's) belongs to the service the settings or emulator locate.
    service: serviceOf(pool) === 'default' && location ? location.serviceName.toLowerCase() : serviceOf(pool),
    instanceId: wiring.instanceId,
  });
  // Issue 16: the gateway's own 429s for the report, where a record of them is known (the emulator's access log,
  // or APIM's gateway logs).
  const gatewayAttempts = createGatewayAttemptSource({
    settings,
    onEmulator,
    gatewayUrl,
    credential: wiring.credential,
    apiId: location?.apiId,
    // One API per pool on a fleet's emulator: count this pool's API only (pools may share backends).
    emulatorApiPath: onEmulator && embedded?.gatewayUrlOf !== undefined ? new URL(gatewayUrl).pathname.replace(/^\/+/, '') : undefined,
  });
  return gatewayAttempts === undefined ? services : { ...services, gatewayAttempts };
}

/** The setting a pool without a gateway (or key) needs, naming the pool and its file, never a value. */
function missingGatewayIssue(entry: FleetEntry, noGateway: boolean): { key: string; message: string } {
  const where = `pool "${entry.pool.name}" (${path.basename(entry.file)})`;
  const keySetting = entry.pool.gateway?.subscriptionKeySetting;
  if (noGateway) return { key: 'APIM_GATEWAY_URL', message: `is required for ${where}: its definition has no gateway.url` };
  return keySetting
    ? { key: keySetting, message: `is required for ${where}: its definition names this setting for the subscription key` }
    : { key: 'APIM_SUBSCRIPTION_KEY', message: `is required for ${where}: its definition names no gateway.subscriptionKeySetting` };
}

function findPool(pools: readonly Services[], pool: string, service: string | undefined): FleetLookup {
  // Names compare as APIM compares backend ids and service names: ignoring case.
  const named = pools.filter((candidate) => candidate.declaredPool.name.toLowerCase() === pool.toLowerCase());
  const matching = service === undefined ? named : named.filter((candidate) => candidate.service.toLowerCase() === service.toLowerCase());
  const [first] = matching;
  if (matching.length === 1 && first !== undefined) return { found: true, services: first };
  if (matching.length > 1) {
    const services = matching.map((candidate) => candidate.service).slice(0, LISTED_POOLS);
    return { found: false, status: 400, code: 'AmbiguousPool', message: `Pool "${pool}" exists in several APIM services; add &service= with one of: ${services.join(', ')}.` };
  }
  const listed = pools.slice(0, LISTED_POOLS).map((candidate) => `${candidate.declaredPool.name} (${candidate.service})`);
  const more = pools.length > LISTED_POOLS ? ` and ${pools.length - LISTED_POOLS} more` : '';
  const what = service === undefined ? `"${pool}"` : `"${pool}" in service "${service}"`;
  return { found: false, status: 404, code: 'UnknownPool', message: `Unknown pool ${what}. This verifier watches ${listed.join(', ')}${more}.` };
}

/** The local environment, imported only when chosen: it is the one module that loads `better-sqlite3`. */
async function createLocal(inputs: EnvironmentInputs): Promise<Environment> {
  const { createLocalEnvironment } = await import('./environments/local/createLocalEnvironment');
  return createLocalEnvironment(inputs);
}
