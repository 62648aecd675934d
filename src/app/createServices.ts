import type { TokenCredential } from '@azure/core-auth';
import type { AlertStateStore } from '../lib/alerts/stateStore';
import type { Notifier } from '../lib/alerts/types';
import { createWebhookNotifier } from '../lib/alerts/webhookNotifier';
import type { Settings } from '../lib/config/types';
import { compareDeployed } from '../lib/deploy/compareDeployed';
import { readDeployedPool } from '../lib/deploy/readDeployedPool';
import type { ArmClient } from '../lib/deploy/armClient';
import type { ApimLocation, ResolvedPool } from '../lib/pool/types';
import type { EvidenceScope } from '../lib/state/evidenceScope';
import type { EnvironmentAdapters } from './environments/types';
import type { FleetEntry } from '../lib/pool/loadFleetDefinitions';
import type { SharedState } from '../lib/state/types';
import type { SqliteStore } from '../lib/store/sqliteStore';
import type { EvidenceSource, ProbeSink } from '../lib/store/types';
import type { TelemetryHealth } from '../lib/telemetry/createTelemetryHealth';
import { createTrafficProbeGate } from '../lib/telemetry/createTrafficProbeGate';
import { ensureError } from '../lib/util/errors';
import type { CycleDependencies, ExpectationSource } from '../lib/verifier/runVerificationCycle';
import { runsPerHourOf } from './runsPerHourOf';
import type { GatewayAttemptSource } from '../lib/gatewayAttempts/types';
/** The embedded environment, as far as the app needs to know it (URLs, key, where the APIM service "is"). */
export interface EmbeddedEndpoints {
  /** The API base of the first (or only) pool. */
  readonly gatewayUrl: string;
  /** The API base of each pool of a fleet (one API per pool); absent when the emulator hosts one API. */
  gatewayUrlOf?(pool: string): string | undefined;
  readonly armEndpoint: string;
  readonly subscriptionKey: string;
  readonly apim: { readonly subscriptionId: string; readonly resourceGroup: string; readonly serviceName: string };
  close(): Promise<void>;
}

/** Everything the functions use, wired once per process from settings, the same for either environment. */
export interface Services {
  readonly settings: Settings;
  readonly declaredPool: ResolvedPool;
  /** The definition file this pool came from. */
  readonly file: string;
  /** The APIM service the pool belongs to (`serviceOf`): pool names are unique per service. */
  readonly service: string;
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
  /** Set when this pool is probed through the embedded emulator. */
  readonly embedded: EmbeddedEndpoints | undefined;
  /**
   * Issue 16 (h429): the gateway's own record of its backend calls (the emulator's access log, or APIM's gateway
   * logs), read for the report's `gatewayAttempts`; absent when none is known. See createGatewayAttemptSource.
   */
  readonly gatewayAttempts?: GatewayAttemptSource;
  cycleDependencies(log: (line: string) => void): CycleDependencies;
  /** Closes this pool's own clients; a fleet member's shared environment is closed by the fleet. */
  close(): Promise<void>;
}

export interface CreateServicesOptions {
  /** Starts the embedded environment (one API per pool) when no gateway is configured and none was given. */
  readonly startEmbedded?: (entries: readonly FleetEntry[]) => Promise<EmbeddedEndpoints>;
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
 * The services of a single pool (a definition file, not a folder): the fleet of one, for callers that watch one pool
 * (the CLI, tests). Closing them closes the fleet. Throws like `createFleet`, and when the path names several pools.
 */
export async function createServices(env: Readonly<Record<string, string | undefined>>, options: CreateServicesOptions = {}): Promise<Services> {
  const { createFleet } = await import('./createFleet');
  const fleet = await createFleet(env, options);
  const [only] = fleet.pools;
  if (fleet.pools.length !== 1 || only === undefined) {
    await fleet.close();
    throw new Error(`POOL_DEFINITION_PATH names ${fleet.pools.length} pools; this caller watches exactly one (use createFleet).`);
  }
  return { ...only, close: () => fleet.close() };
}

/** Wires the environment's adapters into the services the functions use (no I/O). */
export function assembleServices(
  settings: Settings,
  declaredPool: ResolvedPool,
  adapters: EnvironmentAdapters,
  wiring: {
    readonly embedded: EmbeddedEndpoints | undefined;
    readonly gatewayUrl: string;
    readonly subscriptionKey: string;
    readonly arm: Services['arm'];
    readonly scope: Services['scope'];
    readonly webhookUrl: string | undefined;
    readonly file: string;
    readonly service: string;
    readonly instanceId: string;
  },
): Services {
  const { embedded, gatewayUrl, subscriptionKey, arm, scope, instanceId } = wiring;
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

  // A definition may name its own webhook setting (teams own different pools), else the app's.
  const notifiers: Notifier[] = wiring.webhookUrl ? [createWebhookNotifier({ url: wiring.webhookUrl, format: settings.alerts.webhookFormat })] : [];
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
  const services: Services = {
    settings,
    declaredPool,
    file: wiring.file,
    service: wiring.service,
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
    close: () => adapters.close(),
  };
  return services;
}

/** Settings override the definition's `apim` section; the embedded environment supplies its own. */
export function resolveLocation(settings: Settings, pool: ResolvedPool, embedded: EmbeddedEndpoints | undefined): ApimLocation | undefined {
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
