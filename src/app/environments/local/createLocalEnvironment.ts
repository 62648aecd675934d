import path from 'node:path';
import { SqliteAlertStateStore } from '../../../lib/alerts/sqliteAlertStateStore';
import type { AlertStateStore } from '../../../lib/alerts/stateStore';
import { ALERT_TABLE_NAME, TableAlertStateStore } from '../../../lib/alerts/tableAlertStateStore';
import { scopeAlertStore, scopeEvidenceStore, scopeSharedState } from '../../../lib/state/evidenceScope';
import { createTableClient } from '../../../lib/state/tableSharedState';
import { openSqliteStore } from '../../../lib/store/sqliteStore';
import type { ProbeSink } from '../../../lib/store/types';
import { createCompositeSink } from '../../createCompositeSink';
import { tableStorageOf } from '../../../lib/state/tableStorageOf';
import { createTelemetryAdapters } from '../telemetry';
import type { EnvironmentAdapters, EnvironmentInputs } from '../types';

/**
 * The local environment: the SQLite store (STORE_PATH) holds runs, probes, leases and deploy records; App Insights
 * and Azure Monitor Logs are used when configured; alert state goes to Tables when ALERT_STATE_STORE is `table`.
 * This module is the only one that loads `better-sqlite3`; `createServices` imports it lazily, so the azure
 * environment never needs the native addon.
 */
export function createLocalEnvironment(inputs: EnvironmentInputs): EnvironmentAdapters {
  const { settings, appRoot, credential, declaredPool, scope } = inputs;
  const store = openSqliteStore(settings.storePath === ':memory:' ? ':memory:' : path.resolve(appRoot, settings.storePath));
  try {
    const scoped = scopeEvidenceStore(store, scope);
    const telemetry = createTelemetryAdapters({ ...inputs.telemetry, settings, credential, pool: declaredPool });
    const sinks: ProbeSink[] = [scoped];
    if (telemetry.appInsights) sinks.push(telemetry.appInsights);
    const storage = tableStorageOf(settings);
    const alertStore: AlertStateStore =
      settings.alerts.stateStore === 'table' && storage !== undefined
        ? new TableAlertStateStore(createTableClient(storage, ALERT_TABLE_NAME))
        : new SqliteAlertStateStore(store.db);
    return {
      state: scopeSharedState(store, scope),
      sink: sinks.length === 1 ? scoped : createCompositeSink(sinks, (error) => telemetry.health?.recordSinkError(error)),
      evidence: telemetry.logs?.evidence ?? scoped,
      runEvidence: scoped,
      allTrafficEvidence: telemetry.logs?.allTraffic,
      alertStore: scopeAlertStore(alertStore, scope),
      localStore: store,
      telemetryHealth: telemetry.health,
      async close() {
        await telemetry.appInsights?.close();
        store.close();
      },
    };
  } catch (error) {
    store.close();
    throw error;
  }
}
