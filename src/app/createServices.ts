import { hostname } from 'node:os';
import path from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import type { AlertStateStore } from '../lib/alerts/stateStore';
import type { Notifier } from '../lib/alerts/types';
import { createWebhookNotifier } from '../lib/alerts/webhookNotifier';
import { loadConfig } from '../lib/config/loadConfig';
import type { Settings } from '../lib/config/types';
import { createArmClient, type ArmClient } from '../lib/deploy/armClient';
import { compareDeployed } from '../lib/deploy/compareDeployed';
import { createAzureCredential, createLocalCredential } from '../lib/deploy/createCredential';
import { readDeployedPool } from '../lib/deploy/readDeployedPool';
import { loadPoolDefinition } from '../lib/pool/loadPoolDefinition';
import type { ApimLocation, ResolvedPool } from '../lib/pool/types';
import { evidenceScope, type EvidenceScope } from '../lib/state/evidenceScope';
import type { SharedState } from '../lib/state/types';
import type { SqliteStore } from '../lib/store/sqliteStore';
import type { EvidenceSource, ProbeSink } from '../lib/store/types';
import type { TelemetryHealth } from '../lib/telemetry/createTelemetryHealth';
import { createTrafficProbeGate } from '../lib/telemetry/createTrafficProbeGate';
import { ensureError } from '../lib/util/errors';
import type { CycleDependencies, ExpectationSource } from '../lib/verifier/runVerificationCycle';
import { createAzureEnvironment } from './environments/azure/createAzureEnvironment';
import type { EnvironmentAdapters, EnvironmentInputs } from './environments/types';
import { runsPerHourOf } from './runsPerHourOf';
import { createGatewayAttemptSource } from './createGatewayAttemptSource';
import type { GatewayAttemptSource } from '../lib/gatewayAttempts/types';
/** The embedded environment, as far as the app needs to know it (URLs, key, where the APIM service "is"). */
export interface EmbeddedEndpoints {
  readonly gatewayUrl: string;
  readonly armEndpoint: string;
  readonly subscriptionKey: string;
  readonly apim: { readonly subscriptionId: string; readonly resourceGroup: string; readonly serviceName: string };
  close(): Promise<void>;
}

/** Everything the functions use, wired once per process from settings, the same for either environment. */
export interface Services {
  readonly settings: Settings;
  readonly declaredPool: ResolvedPool;
  /** Run records, leases, deploy/drift/start-up records: SQLite locally, Storage Tables in Azure (scoped). */
  readonly state: SharedState;
  /** The local SQLite store (local environment only: tests and the CLI read it directly). */
  readonly localStore: SqliteStore | undefined;
  /** Which gateway / APIM service this evidence belongs to. */
  readonly scope: EvidenceScope;
  /** Identifies this instance in lease owners and start-up records (WEBSITE_INSTANCE_ID in Azure). */
  readonly instanceId: string;
  readonly sink: ProbeSink;
  readonly evidence: EvidenceSource;
  /** Where the latest run's window is read for the report (the local store when there is one). */
  readonly runEvidence: EvidenceSource;
  /** APIM's own telemetry of all real traffic (ALL_TRAFFIC_MODE with a Logs source), judged beside the probes. */
  readonly allTrafficEvidence: EvidenceSource | undefined;
  /** Export outcomes of the App Insights sink (health endpoint reason); undefined without App Insights. */
  readonly telemetryHealth: TelemetryHealth | undefined;
  readonly expectation: ExpectationSource;
  readonly gateway: { readonly url: string; readonly subscriptionKey: string };
  /** The ARM client and where the APIM service is; undefined when no location is configured. */
  readonly arm: { readonly client: ArmClient; readonly location: ApimLocation; readonly identity: string } | undefined;
  readonly alerts: { readonly store: AlertStateStore; readonly notifiers: readonly Notifier[]; readonly reminderAfterMs: number };
  /** Set when the app started the embedded emulator itself. */
  readonly embedded: EmbeddedEndpoints | undefined;
  /**
   * Issue 16 (h429): the gateway's own record of its backend calls (the emulator's access log, or APIM's gateway
   * logs), read for the report's `gatewayAttempts`; absent when none is known. See createGatewayAttemptSource.
   */
  readonly gatewayAttempts?: GatewayAttemptSource;
  cycleDependencies(log: (line: string) => void): CycleDependencies;
  close(): Promise<void>;
}

export interface CreateServicesOptions {
  /** Starts the embedded environment when settings say `embedded` and none was given. */
  readonly startEmbedded?: (pool: ResolvedPool) => Promise<EmbeddedEndpoints>;
  /** An embedded environment started by the caller (`npm start`, tests). */
  readonly embedded?: EmbeddedEndpoints;
  /** App root for relative paths (pool definition, store); default the current directory. */
  readonly appRoot?: string;
  /** Credential override (tests). */
  readonly credential?: TokenCredential;
  /** Where telemetry export failures are logged; default `console.warn`. */
  readonly log?: (line: string) => void;
  /** App Insights offline storage (resend from disk after failures); default true. Tests turn it off. */
  readonly telemetryOfflineStorage?: boolean;
}

/**
 * Reads settings and the pool definition, chooses the environment and wires its adapters:
 * - `local`: the SQLite store (loaded lazily: the azure environment never requires `better-sqlite3`), the embedded
 *   emulator with a local credential that never touches Azure when no gateway is configured;
 * - `azure`: Storage Tables, App Insights, Azure Monitor Logs and ARM with `DefaultAzureCredential`; never the
 *   emulator, never the local disk.
 * Throws `ConfigError` / `DefinitionError` (naming every bad key or JSON path) before anything is started.
 */
export async function createServices(env: Readonly<Record<string, string | undefined>>, options: CreateServicesOptions = {}): Promise<Services> {
  const settings = loadConfig(env);
  const appRoot = options.appRoot ?? process.cwd();
  const declaredPool = await loadPoolDefinition(path.resolve(appRoot, settings.poolDefinitionPath));
  const isAzure = settings.environment === 'azure';

  let embedded = isAzure ? undefined : options.embedded;
  let ownsEmbedded = false;
  if (!isAzure && !settings.gatewayUrl && !embedded) {
    if (!options.startEmbedded) throw new Error('The embedded environment is selected but cannot be started here.');
    embedded = await options.startEmbedded(declaredPool);
    ownsEmbedded = true;
  }

  // loadConfig guarantees both in azure: never a fallback to the emulator there.
  const gatewayUrl = settings.gatewayUrl ?? embedded?.gatewayUrl;
  const subscriptionKey = settings.secrets.subscriptionKey ?? embedded?.subscriptionKey;
  if (!gatewayUrl || subscriptionKey === undefined) {
    throw new Error('No gateway: set APIM_GATEWAY_URL and APIM_SUBSCRIPTION_KEY, or leave both unset for the embedded environment.');
  }
  // The emulator is "the" gateway only when the app started against it without a configured gateway.
  const onEmulator = !isAzure && embedded !== undefined && !settings.gatewayUrl;

  // ARM calls go to the emulator's own endpoint when one runs here and ARM_ENDPOINT is not set: a local credential
  // then (the emulator accepts it), never an Azure sign-in.
  const armOnEmulator = !isAzure && embedded !== undefined && !env.ARM_ENDPOINT;
  const { credential, description: identity } = options.credential
    ? { credential: options.credential, description: 'the injected credential' }
    : onEmulator || armOnEmulator
      ? createLocalCredential()
      : createAzureCredential(settings.deploy.managedIdentityClientId ? { managedIdentityClientId: settings.deploy.managedIdentityClientId } : {});

  const location = resolveLocation(settings, declaredPool, embedded);
  const armVersion = settings.deploy.armApiVersion ?? location?.armApiVersion ?? '2024-05-01';
  const arm = location
    ? {
        client: createArmClient({
          endpoint: embedded && !env.ARM_ENDPOINT ? embedded.armEndpoint : settings.deploy.armEndpoint,
          credential,
          apiVersion: armVersion,
          identityDescription: identity,
        }),
        location: { ...location, armApiVersion: armVersion },
        identity,
      }
    : undefined;

  const scope = onEmulator
    ? evidenceScope({ embedded: true })
    : evidenceScope({ embedded: false, gatewayUrl, apim: resolveLocation(settings, declaredPool, undefined) });
  const inputs: EnvironmentInputs = {
    settings,
    declaredPool,
    appRoot,
    credential,
    scope,
    telemetry: {
      // Records carry the APIM service beside the pool, so verifiers sharing one App Insights never merge evidence.
      apimService: location?.serviceName ?? new URL(gatewayUrl).hostname,
      apiId: location?.apiId,
      ingestionCredential: options.credential,
      log: options.log ?? ((line: string) => console.warn(line)),
      offlineStorage: options.telemetryOfflineStorage,
    },
  };
  let adapters: EnvironmentAdapters;
  try {
    adapters = isAzure ? createAzureEnvironment(inputs) : await createLocal(inputs);
  } catch (error) {
    if (ownsEmbedded && embedded) await embedded.close();
    throw error;
  }
  try {
    const services = assembleServices(env, settings, declaredPool, adapters, { embedded, ownsEmbedded, gatewayUrl, subscriptionKey, arm, scope });
    // Issue 16 (h429): the gateway's own 429s for the report, where a record of them is known.
    const gatewayAttempts = createGatewayAttemptSource({ settings, onEmulator, gatewayUrl, credential, apiId: location?.apiId });
    return gatewayAttempts === undefined ? services : { ...services, gatewayAttempts };
  } catch (error) {
    // Everything opened so far is closed again (issue 15: a failed start-up left the emulator running).
    await adapters.close().catch(() => undefined);
    if (ownsEmbedded && embedded) await embedded.close();
    throw error;
  }
}

/** Wires the environment's adapters into the services the functions use (no I/O). */
function assembleServices(
  env: Readonly<Record<string, string | undefined>>,
  settings: Settings,
  declaredPool: ResolvedPool,
  adapters: EnvironmentAdapters,
  wiring: {
    readonly embedded: EmbeddedEndpoints | undefined;
    readonly ownsEmbedded: boolean;
    readonly gatewayUrl: string;
    readonly subscriptionKey: string;
    readonly arm: Services['arm'];
    readonly scope: Services['scope'];
  },
): Services {
  const { embedded, ownsEmbedded, gatewayUrl, subscriptionKey, arm, scope } = wiring;
  const { state, sink, evidence, allTrafficEvidence } = adapters;
  const probeGate =
    settings.telemetry.skipProbesWhenTrafficConclusive && allTrafficEvidence !== undefined
      ? createTrafficProbeGate({
          source: allTrafficEvidence,
          pool: declaredPool,
          alpha: settings.verdict.alphaHour,
          toleranceInPoints: settings.verdict.toleranceInPoints,
          binInMs: settings.report.binInMinutes * 60_000,
        })
      : undefined;

  const notifiers: Notifier[] = settings.secrets.webhookUrl
    ? [createWebhookNotifier({ url: settings.secrets.webhookUrl, format: settings.alerts.webhookFormat })]
    : [];
  const alerts: Services['alerts'] = { store: adapters.alertStore, notifiers, reminderAfterMs: settings.alerts.reminderInMinutes * 60_000 };

  const expectation: ExpectationSource = {
    async currentExpectation(signal) {
      if (!arm) return { pool: declaredPool, configDrift: null };
      const checkedAt = new Date().toISOString();
      try {
        const deployed = await readDeployedPool({ client: arm.client, location: arm.location, poolName: declaredPool.name, declared: declaredPool, ...(signal ? { signal } : {}) });
        const configDrift = compareDeployed(declaredPool, deployed, checkedAt);
        return { pool: settings.deploy.mode === 'verify-only' ? deployed.pool : declaredPool, configDrift };
      } catch (error) {
        const message = ensureError(error).message;
        return { pool: declaredPool, configDrift: { checkedAt, differences: [], error: { message } } };
      }
    },
  };

  // The schedule does not change while the app runs: count its firings once.
  const runsPerHour = runsPerHourOf(settings.probe.schedule);
  const instanceId = `${env.WEBSITE_INSTANCE_ID?.trim().slice(0, 64) || hostname().slice(0, 64)}/${process.pid}`;
  const services: Services = {
    settings,
    declaredPool,
    state,
    localStore: adapters.localStore,
    scope,
    instanceId,
    sink,
    evidence,
    runEvidence: adapters.runEvidence,
    allTrafficEvidence,
    telemetryHealth: adapters.telemetryHealth,
    expectation,
    gateway: { url: gatewayUrl, subscriptionKey },
    arm,
    alerts,
    embedded,
    cycleDependencies(log) {
      return {
        declaredPool,
        expectation,
        gateway: { url: gatewayUrl, subscriptionKey },
        settings: {
          maxProbes: settings.probe.maxRequests,
          concurrency: settings.probe.concurrency,
          timeoutInMs: settings.probe.timeoutInMs,
          sequential: settings.probe.sequential,
          alphaRun: settings.verdict.alphaRun,
          alphaHour: settings.verdict.alphaHour,
          alphaDay: settings.verdict.alphaDay,
          toleranceInPoints: settings.verdict.toleranceInPoints,
          dispersionWarn: settings.verdict.dispersionWarn,
          primaryWindow: settings.report.primaryWindow,
          binInMs: settings.report.binInMinutes * 60_000,
          runsPerHour,
        },
        bookkeeping: state,
        sink,
        evidence,
        alerts,
        log,
        ...(probeGate === undefined ? {} : { probeGate }),
        instanceId,
      };
    },
    async close() {
      await adapters.close();
      if (ownsEmbedded && embedded) await embedded.close();
    },
  };
  return services;
}

/** The local environment, imported only when chosen: it is the one module that loads `better-sqlite3`. */
async function createLocal(inputs: EnvironmentInputs): Promise<EnvironmentAdapters> {
  const { createLocalEnvironment } = await import('./environments/local/createLocalEnvironment');
  return createLocalEnvironment(inputs);
}

/** Settings override the definition's `apim` section; the embedded environment supplies its own. */
function resolveLocation(settings: Settings, pool: ResolvedPool, embedded: EmbeddedEndpoints | undefined): ApimLocation | undefined {
  // apimDeclared keeps a partial `apim` section so settings can complete it (e.g. only serviceName in the file).
  const fromFile = pool.apimDeclared ?? pool.apim;
  const subscriptionId = settings.deploy.subscriptionId ?? fromFile?.subscriptionId ?? embedded?.apim.subscriptionId;
  const resourceGroup = settings.deploy.resourceGroup ?? fromFile?.resourceGroup ?? embedded?.apim.resourceGroup;
  const serviceName = settings.deploy.serviceName ?? fromFile?.serviceName ?? embedded?.apim.serviceName;
  if (!subscriptionId || !resourceGroup || !serviceName) return undefined;
  const apiId = settings.deploy.apiId ?? fromFile?.apiId;
  return {
    subscriptionId,
    resourceGroup,
    serviceName,
    armApiVersion: settings.deploy.armApiVersion ?? fromFile?.armApiVersion ?? '2024-05-01',
    ...(apiId ? { apiId } : {}),
  };
}
