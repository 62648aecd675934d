import path from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import { SqliteAlertStateStore } from '../lib/alerts/sqliteAlertStateStore';
import type { AlertStateStore } from '../lib/alerts/stateStore';
import { TableAlertStateStore } from '../lib/alerts/tableAlertStateStore';
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
import { openSqliteStore, type SqliteStore } from '../lib/store/sqliteStore';
import type { EvidenceSource, ProbeSink } from '../lib/store/types';
import { createAppInsightsSink } from '../lib/telemetry/createAppInsightsSink';
import { createLogsEvidenceSource, createLogsQueryClient } from '../lib/telemetry/createLogsEvidenceSource';
import { createTelemetryHealth, type TelemetryHealth } from '../lib/telemetry/createTelemetryHealth';
import { withTelemetryHealth } from '../lib/telemetry/withTelemetryHealth';
import { createSharedEvidenceSource } from '../lib/telemetry/createSharedEvidenceSource';
import { createTrafficProbeGate } from '../lib/telemetry/createTrafficProbeGate';
import { ensureError } from '../lib/util/errors';
import type { CycleDependencies, ExpectationSource } from '../lib/verifier/runVerificationCycle';
import { createCompositeSink } from './createCompositeSink';
import { runsPerHourOf } from './runsPerHourOf';

/** The embedded environment, as far as the app needs to know it (URLs, key, where the APIM service "is"). */
export interface EmbeddedEndpoints {
  readonly gatewayUrl: string;
  readonly armEndpoint: string;
  readonly subscriptionKey: string;
  readonly apim: { readonly subscriptionId: string; readonly resourceGroup: string; readonly serviceName: string };
  close(): Promise<void>;
}

/** Everything the functions use, wired once per process from settings. */
export interface Services {
  readonly settings: Settings;
  readonly declaredPool: ResolvedPool;
  readonly store: SqliteStore;
  readonly sink: ProbeSink;
  readonly evidence: EvidenceSource;
  /** APIM's own telemetry of all real traffic (ALL_TRAFFIC_MODE with a Logs source), judged beside the probes. */
  readonly allTrafficEvidence: EvidenceSource | undefined;
  readonly expectation: ExpectationSource;
  readonly gateway: { readonly url: string; readonly subscriptionKey: string };
  /** The ARM client and where the APIM service is; undefined when no location is configured. */
  readonly arm: { readonly client: ArmClient; readonly location: ApimLocation; readonly identity: string } | undefined;
  readonly alerts: { readonly store: AlertStateStore; readonly notifiers: readonly Notifier[]; readonly reminderAfterMs: number };
  /** Set when the app started the embedded emulator itself. */
  readonly embedded: EmbeddedEndpoints | undefined;
  /** Export outcomes of the App Insights sink (health endpoint reason); undefined without App Insights. */
  readonly telemetryHealth: TelemetryHealth | undefined;
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
 * Reads settings and the pool definition and wires the adapters: local SQLite + embedded emulator with a local
 * credential that never touches Azure, or App Insights / Azure Monitor Logs / ARM with `DefaultAzureCredential`.
 * Throws `ConfigError` / `DefinitionError` (naming every bad key or JSON path) before anything is started.
 */
export async function createServices(env: Readonly<Record<string, string | undefined>>, options: CreateServicesOptions = {}): Promise<Services> {
  const settings = loadConfig(env);
  const appRoot = options.appRoot ?? process.cwd();
  const declaredPool = await loadPoolDefinition(path.resolve(appRoot, settings.poolDefinitionPath));

  let embedded = options.embedded;
  let ownsEmbedded = false;
  if (settings.environment === 'embedded' && !settings.gatewayUrl && !embedded) {
    if (!options.startEmbedded) throw new Error('The embedded environment is selected but cannot be started here.');
    embedded = await options.startEmbedded(declaredPool);
    ownsEmbedded = true;
  }

  const isEmbedded = settings.environment === 'embedded';
  const gatewayUrl = settings.gatewayUrl ?? embedded?.gatewayUrl;
  const subscriptionKey = settings.secrets.subscriptionKey ?? embedded?.subscriptionKey;
  if (!gatewayUrl || subscriptionKey === undefined) {
    throw new Error('No gateway: set APIM_GATEWAY_URL and APIM_SUBSCRIPTION_KEY, or leave both unset for the embedded environment.');
  }

  const { credential, description: identity } = options.credential
    ? { credential: options.credential, description: 'the injected credential' }
    : isEmbedded
      ? createLocalCredential()
      : createAzureCredential(settings.deploy.managedIdentityClientId ? { managedIdentityClientId: settings.deploy.managedIdentityClientId } : {});

  const location = resolveLocation(settings, declaredPool, embedded);
  const armVersion = settings.deploy.armApiVersion ?? location?.armApiVersion ?? '2024-05-01';
  const arm = location
    ? {
        client: createArmClient({
          endpoint: isEmbedded && embedded && !env.ARM_ENDPOINT ? embedded.armEndpoint : settings.deploy.armEndpoint,
          credential,
          apiVersion: armVersion,
          identityDescription: identity,
        }),
        location: { ...location, armApiVersion: armVersion },
        identity,
      }
    : undefined;

  const store = openSqliteStore(settings.storePath === ':memory:' ? ':memory:' : path.resolve(appRoot, settings.storePath));
  const closers: (() => Promise<void>)[] = [];
  try {
    // Records carry the APIM service beside the pool, so verifiers sharing one App Insights never merge evidence.
    const apimService = location?.serviceName ?? new URL(gatewayUrl).hostname;
    const sinks: ProbeSink[] = [store];
    let telemetryHealth: TelemetryHealth | undefined;
    if (settings.secrets.appInsightsConnectionString) {
      const log = options.log ?? ((line: string) => console.warn(line));
      telemetryHealth = createTelemetryHealth({ log });
      const auth = settings.telemetry.ingestionAuthentication;
      const ingestionCredential =
        auth === undefined ? undefined : (options.credential ?? createAzureCredential({ managedIdentityClientId: auth.clientId }).credential);
      const appInsights = createAppInsightsSink({
        connectionString: settings.secrets.appInsightsConnectionString,
        cloudRoleName: settings.telemetry.cloudRoleName,
        pool: declaredPool,
        apimService,
        health: telemetryHealth,
        ...(options.telemetryOfflineStorage === undefined ? {} : { offlineStorage: options.telemetryOfflineStorage }),
        ...(ingestionCredential === undefined ? {} : { credential: ingestionCredential }),
      });
      sinks.push(appInsights);
      closers.push(() => appInsights.close());
    }
    const health = telemetryHealth;
    const sink = sinks.length === 1 || health === undefined ? store : createCompositeSink(sinks, (error) => health.recordSinkError(error));

    let evidence: EvidenceSource = store;
    let allTrafficEvidence: EvidenceSource | undefined;
    if (settings.telemetry.logsSource !== 'local') {
      const client = createLogsQueryClient({ credential, endpoint: settings.telemetry.logsEndpoint });
      const target =
        settings.telemetry.logsSource === 'workspace'
          ? ({ kind: 'workspace', workspaceId: settings.telemetry.workspaceId ?? '' } as const)
          : ({ kind: 'appinsights', resourceId: settings.telemetry.appInsightsResourceId ?? '' } as const);
      evidence = createLogsEvidenceSource({
        client,
        target,
        pool: declaredPool,
        cloudRoleName: settings.telemetry.cloudRoleName,
        apimService,
        timeoutInMs: settings.telemetry.logsQueryTimeoutInMs,
      });
      // Log Analytics allows ~5 concurrent queries and 200 per 30 s: concurrent viewers share one fetch per interval.
      const shared = { intervalInMs: settings.telemetry.reportCacheInSeconds * 1000 };
      evidence = createSharedEvidenceSource(evidence, shared);
      if (telemetryHealth !== undefined) evidence = withTelemetryHealth(evidence, telemetryHealth);
      if (settings.telemetry.allTrafficSource !== 'none') {
        // Gateway logs live in the workspace APIM's diagnostic setting writes to (loadConfig requires its id).
        const gatewayLogs = settings.telemetry.allTrafficSource === 'gateway-logs';
        allTrafficEvidence = createSharedEvidenceSource(
          createLogsEvidenceSource({
            client,
            target: gatewayLogs ? { kind: 'workspace', workspaceId: settings.telemetry.workspaceId ?? '' } : target,
            pool: declaredPool,
            cloudRoleName: settings.telemetry.cloudRoleName,
            apimService,
            timeoutInMs: settings.telemetry.logsQueryTimeoutInMs,
            mode: 'all-traffic',
            trafficSource: gatewayLogs ? (settings.telemetry.gatewayLogsTable === 'azure-diagnostics' ? 'azure-diagnostics' : 'gateway-logs') : 'appinsights',
            ...(location?.apiId === undefined ? {} : { apiId: location.apiId }),
          }),
          shared,
        );
      }
    }

    const alertStore: AlertStateStore =
      settings.alerts.stateStore === 'table' && settings.secrets.storageConnectionString
        ? TableAlertStateStore.fromConnectionString(settings.secrets.storageConnectionString)
        : new SqliteAlertStateStore(store.db);
    const notifiers: Notifier[] = settings.secrets.webhookUrl
      ? [createWebhookNotifier({ url: settings.secrets.webhookUrl, format: settings.alerts.webhookFormat })]
      : [];
    const alerts = { store: alertStore, notifiers, reminderAfterMs: settings.alerts.reminderInMinutes * 60_000 };

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

    const traffic = allTrafficEvidence;
    const probeGate =
      settings.telemetry.skipProbesWhenTrafficConclusive && traffic !== undefined
        ? createTrafficProbeGate({
            source: traffic,
            pool: declaredPool,
            alpha: settings.verdict.alphaHour,
            toleranceInPoints: settings.verdict.toleranceInPoints,
            binInMs: settings.report.binInMinutes * 60_000,
          })
        : undefined;

    // The schedule does not change while the app runs: count its firings once.
    const runsPerHour = runsPerHourOf(settings.probe.schedule);
    const services: Services = {
      settings,
      declaredPool,
      store,
      sink,
      evidence,
      allTrafficEvidence,
      expectation,
      gateway: { url: gatewayUrl, subscriptionKey },
      arm,
      alerts,
      embedded,
      telemetryHealth,
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
          bookkeeping: store,
          sink,
          evidence,
          alerts,
          log,
          ...(probeGate === undefined ? {} : { probeGate }),
        };
      },
      async close() {
        for (const close of closers) await close();
        store.close();
        if (ownsEmbedded && embedded) await embedded.close();
      },
    };
    return services;
  } catch (error) {
    store.close();
    if (ownsEmbedded && embedded) await embedded.close();
    throw error;
  }
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
