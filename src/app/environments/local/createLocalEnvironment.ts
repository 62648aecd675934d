import path from 'node:path';
import { SqliteAlertStateStore } from '../../../lib/alerts/sqliteAlertStateStore';
import type { AlertStateStore } from '../../../lib/alerts/stateStore';
import { ALERT_TABLE_NAME, TableAlertStateStore } from '../../../lib/alerts/tableAlertStateStore';
import { InProcessQueue } from '../../../lib/queue/inProcessQueue';
import { scopeAlertStore, scopeEvidenceStore, scopeSharedState } from '../../../lib/state/evidenceScope';
import { createTableClient } from '../../../lib/state/tableSharedState';
import { tableStorageOf } from '../../../lib/state/tableStorageOf';
import { openSqliteStore } from '../../../lib/store/sqliteStore';
import type { ProbeSink } from '../../../lib/store/types';
import { createTelemetryHealth } from '../../../lib/telemetry/createTelemetryHealth';
import { createCompositeSink } from '../../createCompositeSink';
import { createTelemetryAdapters } from '../telemetry';
import type { Environment, EnvironmentInputs } from '../types';

/**
 * The local environment: the SQLite store (STORE_PATH) holds runs, probes, leases and deploy records of every pool;
 * App Insights and Azure Monitor Logs are used when configured; alert state goes to Tables when ALERT_STATE_STORE is
 * `table`; the timer's per-pool messages go through an in-process queue the local host drains.
 * This module is the only one that loads `better-sqlite3`; `createFleet` imports it lazily, so the azure
 * environment never needs the native addon.
 */
export function createLocalEnvironment(inputs: EnvironmentInputs): Environment {
  const { settings, appRoot, credential } = inputs;
  const store = openSqliteStore(settings.storePath === ':memory:' ? ':memory:' : path.resolve(appRoot, settings.storePath));
  try {
    const storage = tableStorageOf(settings);
    const alertStore: AlertStateStore =
      settings.alerts.stateStore === 'table' && storage !== undefined
        ? new TableAlertStateStore(createTableClient(storage, ALERT_TABLE_NAME))
        : new SqliteAlertStateStore(store.db);
    const health = settings.secrets.appInsightsConnectionString ? createTelemetryHealth({ log: inputs.telemetry.log }) : undefined;
    const queue = new InProcessQueue();
    return {
      queue,
      telemetryHealth: health,
      localStore: store,
      forPool({ declaredPool, scope, apimService, apiId }) {
        const scoped = scopeEvidenceStore(store, scope);
        const telemetry = createTelemetryAdapters({ ...inputs.telemetry, settings, credential, pool: declaredPool, apimService, apiId, health });
        const sinks: ProbeSink[] = [scoped];
        if (telemetry.appInsights) sinks.push(telemetry.appInsights);
        return {
          state: scopeSharedState(store, scope, declaredPool.name),
          sink: sinks.length === 1 ? scoped : createCompositeSink(sinks, (error) => telemetry.health?.recordSinkError(error)),
          evidence: telemetry.logs?.evidence ?? scoped,
          runEvidence: scoped,
          allTrafficEvidence: telemetry.logs?.allTraffic,
          alertStore: scopeAlertStore(alertStore, scope),
          localStore: store,
          telemetryHealth: telemetry.health,
          close: async () => telemetry.appInsights?.close(),
        };
      },
      async close() {
        await queue.close();
        store.close();
      },
    };
  } catch (error) {
    store.close();
    throw error;
  }
}
