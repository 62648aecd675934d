import type { TokenCredential } from '@azure/core-auth';
import type { Settings } from '../../lib/config/types';
import type { ResolvedPool } from '../../lib/pool/types';
import type { EvidenceSource, ProbeSink } from '../../lib/store/types';
import { createAppInsightsSink } from '../../lib/telemetry/createAppInsightsSink';
import { createLogsEvidenceSource, createLogsQueryClient } from '../../lib/telemetry/createLogsEvidenceSource';

/** Application Insights (writing probes) and Azure Monitor Logs (reading windows), as the settings ask. */
export interface TelemetryAdapters {
  /** Set with APPLICATIONINSIGHTS_CONNECTION_STRING. */
  readonly appInsights: (ProbeSink & { close(): Promise<void> }) | undefined;
  /** Set with LOGS_SOURCE workspace or appinsights. */
  readonly logs: { readonly evidence: EvidenceSource; readonly allTraffic: EvidenceSource | undefined } | undefined;
}

/** Builds the telemetry adapters both environments may use (the azure environment requires both). */
export function createTelemetryAdapters(settings: Settings, credential: TokenCredential, pool: ResolvedPool): TelemetryAdapters {
  const appInsights = settings.secrets.appInsightsConnectionString
    ? createAppInsightsSink({ connectionString: settings.secrets.appInsightsConnectionString, cloudRoleName: settings.telemetry.cloudRoleName, pool })
    : undefined;
  if (settings.telemetry.logsSource === 'local') return { appInsights, logs: undefined };
  const client = createLogsQueryClient({ credential, endpoint: settings.telemetry.logsEndpoint });
  const target =
    settings.telemetry.logsSource === 'workspace'
      ? ({ kind: 'workspace', workspaceId: settings.telemetry.workspaceId ?? '' } as const)
      : ({ kind: 'appinsights', resourceId: settings.telemetry.appInsightsResourceId ?? '' } as const);
  const common = { client, target, pool, cloudRoleName: settings.telemetry.cloudRoleName, timeoutInMs: settings.telemetry.logsQueryTimeoutInMs };
  return {
    appInsights,
    logs: {
      evidence: createLogsEvidenceSource(common),
      allTraffic: settings.telemetry.allTraffic ? createLogsEvidenceSource({ ...common, mode: 'all-traffic' }) : undefined,
    },
  };
}
