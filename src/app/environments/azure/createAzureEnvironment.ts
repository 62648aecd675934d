import { TableAlertStateStore } from '../../../lib/alerts/tableAlertStateStore';
import { ConfigError } from '../../../lib/config/ConfigError';
import { scopeAlertStore, scopeSharedState } from '../../../lib/state/evidenceScope';
import { createTableClient, createTableSharedState } from '../../../lib/state/tableSharedState';
import type { ProbeSink } from '../../../lib/store/types';
import { ALERT_TABLE_NAME } from '../../../lib/alerts/tableAlertStateStore';
import { createCompositeSink } from '../../createCompositeSink';
import { createTelemetryAdapters } from '../telemetry';
import type { EnvironmentAdapters, EnvironmentInputs } from '../types';
import { tableStorageOf } from '../../../lib/state/tableStorageOf';

/**
 * The azure environment: every piece of shared state in Azure Storage Tables (run records, the run and start-up
 * leases, deploy/drift/start-up records, alert state), probes written to Application Insights and read back from
 * Azure Monitor Logs. Nothing touches the local disk and `better-sqlite3` is never loaded: an instance may be
 * replaced, scaled out or have a read-only app folder without losing anything.
 *
 * `loadConfig` has already required the storage account, App Insights and a Logs source in this environment.
 */
export function createAzureEnvironment(inputs: EnvironmentInputs): EnvironmentAdapters {
  const { settings, declaredPool, credential, scope } = inputs;
  const storage = tableStorageOf(settings);
  const telemetry = createTelemetryAdapters({ ...inputs.telemetry, settings, credential, pool: declaredPool });
  if (storage === undefined || telemetry.appInsights === undefined || telemetry.logs === undefined) {
    // loadConfig refuses these settings in azure; this guards a caller that skipped it.
    throw new ConfigError([{ key: 'VERIFIER_ENVIRONMENT', message: 'azure needs a storage account, APPLICATIONINSIGHTS_CONNECTION_STRING and a Logs source' }]);
  }
  const tables = createTableSharedState(createTableClient(storage));
  const state = scopeSharedState(tables, scope);
  // Run records go to the table (shared by every instance); the probes themselves to Application Insights.
  const runRecords: ProbeSink = {
    beginRun: (run) => state.beginRun(run),
    recordProbe: async (record) => tables.recordProbeCount(record.runId),
    finishRun: (summary) => state.finishRun(summary),
    recordVerdict: async () => undefined,
    flush: async () => undefined,
  };
  const appInsights = telemetry.appInsights;
  return {
    state,
    sink: createCompositeSink([runRecords, appInsights], (error) => telemetry.health?.recordSinkError(error)),
    evidence: telemetry.logs.evidence,
    runEvidence: telemetry.logs.evidence,
    allTrafficEvidence: telemetry.logs.allTraffic,
    alertStore: scopeAlertStore(new TableAlertStateStore(createTableClient(storage, ALERT_TABLE_NAME)), scope),
    localStore: undefined,
    telemetryHealth: telemetry.health,
    close: () => appInsights.close(),
  };
}
