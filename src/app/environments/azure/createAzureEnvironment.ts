import { TableAlertStateStore } from '../../../lib/alerts/tableAlertStateStore';
import { ConfigError } from '../../../lib/config/ConfigError';
import { queueStorageOf } from '../../../lib/queue/queueStorageOf';
import { StorageWorkQueue } from '../../../lib/queue/storageWorkQueue';
import { scopeAlertStore, scopeSharedState } from '../../../lib/state/evidenceScope';
import { createTableClient, createTableSharedState } from '../../../lib/state/tableSharedState';
import type { ProbeSink } from '../../../lib/store/types';
import { ALERT_TABLE_NAME } from '../../../lib/alerts/tableAlertStateStore';
import { createTelemetryHealth } from '../../../lib/telemetry/createTelemetryHealth';
import { createCompositeSink } from '../../createCompositeSink';
import { createTelemetryAdapters } from '../telemetry';
import type { Environment, EnvironmentInputs } from '../types';
import { tableStorageOf } from '../../../lib/state/tableStorageOf';

/**
 * The azure environment: every piece of shared state in Azure Storage Tables (run records, the run and start-up
 * leases, deploy/drift/start-up records, alert state), probes written to Application Insights and read back from
 * Azure Monitor Logs, the timer's per-pool messages in an Azure Storage queue of AzureWebJobsStorage. Nothing
 * touches the local disk and `better-sqlite3` is never loaded: an instance may be replaced, scaled out or have a
 * read-only app folder without losing anything.
 *
 * `loadConfig` has already required the storage account, App Insights and a Logs source in this environment.
 */
export function createAzureEnvironment(inputs: EnvironmentInputs): Environment {
  const { settings, credential } = inputs;
  const storage = tableStorageOf(settings);
  const queueStorage = queueStorageOf(settings);
  if (storage === undefined || queueStorage === undefined || !settings.secrets.appInsightsConnectionString || settings.telemetry.logsSource === 'local') {
    // loadConfig refuses these settings in azure; this guards a caller that skipped it.
    throw new ConfigError([{ key: 'VERIFIER_ENVIRONMENT', message: 'azure needs a storage account, APPLICATIONINSIGHTS_CONNECTION_STRING and a Logs source' }]);
  }
  const tables = createTableSharedState(createTableClient(storage));
  const alertTable = new TableAlertStateStore(createTableClient(storage, ALERT_TABLE_NAME));
  const health = createTelemetryHealth({ log: inputs.telemetry.log });
  const queue = new StorageWorkQueue(queueStorage);
  return {
    queue,
    telemetryHealth: health,
    localStore: undefined,
    forPool({ declaredPool, scope, apimService, apiId }) {
      const telemetry = createTelemetryAdapters({ ...inputs.telemetry, settings, credential, pool: declaredPool, apimService, apiId, health });
      const { appInsights, logs } = telemetry;
      if (appInsights === undefined || logs === undefined) {
        throw new ConfigError([{ key: 'VERIFIER_ENVIRONMENT', message: 'azure needs APPLICATIONINSIGHTS_CONNECTION_STRING and a Logs source' }]);
      }
      const state = scopeSharedState(tables, scope, declaredPool.name);
      // Run records go to the table (shared by every instance); the probes themselves to Application Insights.
      const runRecords: ProbeSink = {
        beginRun: (run) => state.beginRun(run),
        recordProbe: async (record) => tables.recordProbeCount(record.runId),
        finishRun: (summary) => state.finishRun(summary),
        recordVerdict: async () => undefined,
        flush: async () => undefined,
      };
      return {
        state,
        sink: createCompositeSink([runRecords, appInsights], (error) => health.recordSinkError(error)),
        evidence: logs.evidence,
        runEvidence: logs.evidence,
        allTrafficEvidence: logs.allTraffic,
        alertStore: scopeAlertStore(alertTable, scope),
        localStore: undefined,
        telemetryHealth: health,
        close: () => appInsights.close(),
      };
    },
    close: () => queue.close(),
  };
}
