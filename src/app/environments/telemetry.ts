import type { TokenCredential } from '@azure/core-auth';
import type { Settings } from '../../lib/config/types';
import { createAzureCredential } from '../../lib/deploy/createCredential';
import type { ResolvedPool } from '../../lib/pool/types';
import type { EvidenceSource, ProbeSink } from '../../lib/store/types';
import { createAppInsightsSink } from '../../lib/telemetry/createAppInsightsSink';
import { createLogsEvidenceSource, createLogsQueryClient } from '../../lib/telemetry/createLogsEvidenceSource';
import { createSharedEvidenceSource } from '../../lib/telemetry/createSharedEvidenceSource';
import { createTelemetryHealth, type TelemetryHealth } from '../../lib/telemetry/createTelemetryHealth';
import { withTelemetryHealth } from '../../lib/telemetry/withTelemetryHealth';

/** Application Insights (writing probes) and Azure Monitor Logs (reading windows), as the settings ask. */
export interface TelemetryAdapters {
  /** Set with APPLICATIONINSIGHTS_CONNECTION_STRING. */
  readonly appInsights: (ProbeSink & { close(): Promise<void> }) | undefined;
  /** Export outcomes of the App Insights sink (health reason, report `degraded`); undefined without App Insights. */
  readonly health: TelemetryHealth | undefined;
  /** Set with LOGS_SOURCE workspace or appinsights. */
  readonly logs: { readonly evidence: EvidenceSource; readonly allTraffic: EvidenceSource | undefined } | undefined;
}

/** What the telemetry adapters are built from, beyond the settings. */
export interface TelemetryInputs {
  readonly settings: Settings;
  /** For Azure Monitor Logs. */
  readonly credential: TokenCredential;
  readonly pool: ResolvedPool;
  /** Records carry the APIM service beside the pool, so verifiers sharing one App Insights never merge evidence. */
  readonly apimService: string;
  /** The API whose gateway logs are read (`ApiId`), when known. */
  readonly apiId: string | undefined;
  /** Credential for Entra-only ingestion; default a managed identity named by the authentication string. */
  readonly ingestionCredential?: TokenCredential | undefined;
  /** Where telemetry export failures are logged. */
  readonly log: (line: string) => void;
  /** App Insights offline storage (resend from disk after failures); default true. */
  readonly offlineStorage?: boolean | undefined;
  /** One export health for the whole process (every pool's sink reports into it); default a new one. */
  readonly health?: TelemetryHealth | undefined;
}

/** Builds the telemetry adapters both environments may use (the azure environment requires both). */
export function createTelemetryAdapters(inputs: TelemetryInputs): TelemetryAdapters {
  const { settings, credential, pool, apimService } = inputs;
  let health: TelemetryHealth | undefined;
  let appInsights: TelemetryAdapters['appInsights'];
  if (settings.secrets.appInsightsConnectionString) {
    health = inputs.health ?? createTelemetryHealth({ log: inputs.log });
    const auth = settings.telemetry.ingestionAuthentication;
    const ingestionCredential =
      auth === undefined ? undefined : (inputs.ingestionCredential ?? createAzureCredential({ managedIdentityClientId: auth.clientId }).credential);
    appInsights = createAppInsightsSink({
      connectionString: settings.secrets.appInsightsConnectionString,
      cloudRoleName: settings.telemetry.cloudRoleName,
      pool,
      apimService,
      health,
      ...(inputs.offlineStorage === undefined ? {} : { offlineStorage: inputs.offlineStorage }),
      ...(ingestionCredential === undefined ? {} : { credential: ingestionCredential }),
    });
  }
  if (settings.telemetry.logsSource === 'local') return { appInsights, health, logs: undefined };

  const client = createLogsQueryClient({ credential, endpoint: settings.telemetry.logsEndpoint });
  const target =
    settings.telemetry.logsSource === 'workspace'
      ? ({ kind: 'workspace', workspaceId: settings.telemetry.workspaceId ?? '' } as const)
      : ({ kind: 'appinsights', resourceId: settings.telemetry.appInsightsResourceId ?? '' } as const);
  const common = { client, pool, cloudRoleName: settings.telemetry.cloudRoleName, apimService, timeoutInMs: settings.telemetry.logsQueryTimeoutInMs };
  // Log Analytics allows ~5 concurrent queries and 200 per 30 s: concurrent viewers share one fetch per interval.
  const shared = { intervalInMs: settings.telemetry.reportCacheInSeconds * 1000 };
  let evidence: EvidenceSource = createSharedEvidenceSource(createLogsEvidenceSource({ ...common, target }), shared);
  if (health !== undefined) evidence = withTelemetryHealth(evidence, health);

  let allTraffic: EvidenceSource | undefined;
  if (settings.telemetry.allTrafficSource !== 'none') {
    // Gateway logs live in the workspace APIM's diagnostic setting writes to (loadConfig requires its id).
    const gatewayLogs = settings.telemetry.allTrafficSource === 'gateway-logs';
    allTraffic = createSharedEvidenceSource(
      createLogsEvidenceSource({
        ...common,
        target: gatewayLogs ? { kind: 'workspace', workspaceId: settings.telemetry.workspaceId ?? '' } : target,
        mode: 'all-traffic',
        trafficSource: gatewayLogs ? (settings.telemetry.gatewayLogsTable === 'azure-diagnostics' ? 'azure-diagnostics' : 'gateway-logs') : 'appinsights',
        ...(inputs.apiId === undefined ? {} : { apiId: inputs.apiId }),
      }),
      shared,
    );
  }
  return { appInsights, health, logs: { evidence, allTraffic } };
}
