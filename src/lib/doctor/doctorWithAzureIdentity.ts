import { queueStorageOf } from '../queue/queueStorageOf';
import { createQueueServiceClient } from '../queue/storageWorkQueue';
import { tableStorageOf } from '../state/tableStorageOf';
import type { Settings } from '../config/types';
import { createArmClient } from '../deploy/armClient';
import { createAzureCredential } from '../deploy/createCredential';
import { loadFleetDefinitions } from '../pool/loadFleetDefinitions';
import type { ResolvedPool } from '../pool/types';
import { runProbes } from '../probe/runProbes';
import { createTableClient, type TableStorage } from '../state/tableSharedState';
import { createAppInsightsSink } from '../telemetry/createAppInsightsSink';
import type { TelemetryHealth } from '../telemetry/createTelemetryHealth';
import { createLogsQueryClient } from '../telemetry/createLogsQueryClient';
import { runDoctor, type DoctorCheck } from './runDoctor';

/**
 * {@link runDoctor} with the real adapters: the pool file from disk, ARM and Logs with `DefaultAzureCredential`
 * (pinned to AZURE_CLIENT_ID when set — the app's user-assigned identity in Azure, your sign-in locally), the real
 * probe, the state table as the azure environment reaches it (AzureWebJobsStorage, either form) and the real App
 * Insights sink (Entra ingestion when APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for it; no offline storage,
 * so a refused marker is not resent later). Used by `apim-pool-verifier doctor` and `GET /api/doctor`.
 */
export function doctorWithAzureIdentity(env: Readonly<Record<string, string | undefined>>): Promise<DoctorCheck[]> {
  const identity = createAzureCredential({ managedIdentityClientId: env.AZURE_CLIENT_ID });
  return runDoctor({
    env,
    loadDefinitions: loadFleetDefinitions,
    identityDescription: identity.description,
    createArm: (settings) =>
      createArmClient({
        endpoint: settings.deploy.armEndpoint,
        credential: identity.credential,
        apiVersion: settings.deploy.armApiVersion ?? '2024-05-01',
        retry: { maxRetries: 1 },
        identityDescription: identity.description,
      }),
    runProbes,
    stateTable: (settings) => {
      const storage = tableStorageOf(settings);
      return storage === undefined ? undefined : { client: createTableClient(storage), accountLabel: storageAccountLabel(storage) };
    },
    queueService: (settings) => {
      const storage = queueStorageOf(settings);
      if (storage === undefined) return undefined;
      const client = createQueueServiceClient(storage);
      return { client, accountLabel: storage.kind === 'identity' ? accountOfServiceUri(storage.queueServiceUri, 'AzureWebJobsStorage__queueServiceUri') : accountOfConnectionString(storage.connectionString) };
    },
    createAppInsightsSink: (settings: Settings, pool: ResolvedPool, health: TelemetryHealth) => {
      const auth = settings.telemetry.ingestionAuthentication;
      const credential = auth === undefined ? undefined : createAzureCredential({ managedIdentityClientId: auth.clientId }).credential;
      return createAppInsightsSink({
        connectionString: settings.secrets.appInsightsConnectionString ?? '',
        cloudRoleName: settings.telemetry.cloudRoleName,
        pool,
        apimService: settings.deploy.serviceName ?? pool.apim?.serviceName ?? new URL(pool.gateway.url ?? settings.gatewayUrl ?? 'https://unknown').hostname,
        offlineStorage: false,
        health,
        ...(credential === undefined ? {} : { credential }),
      });
    },
    createLogsClient: (settings) => createLogsQueryClient({ credential: identity.credential, endpoint: settings.telemetry.logsEndpoint }),
  });
}

/**
 * The storage account's name, for fixes: the first label of the table endpoint, or the connection string's
 * `AccountName` (a name, not a secret; the key is never read here).
 */
export function storageAccountLabel(storage: TableStorage): string {
  return storage.kind === 'identity'
    ? accountOfServiceUri(storage.tableServiceUri, 'AzureWebJobsStorage__tableServiceUri')
    : accountOfConnectionString(storage.connectionString);
}

/** The account a service endpoint names: its first host label, or the path's first segment for the emulator. */
function accountOfServiceUri(uri: string, setting: string): string {
  try {
    const url = new URL(uri);
    // The emulator's path-style endpoint (http://127.0.0.1:10002/devstoreaccount1) names the account in the path.
    const pathStyle = /^(127\.0\.0\.1|localhost|\[::1\])$/.test(url.hostname);
    return (pathStyle ? url.pathname.split('/')[1] : url.hostname.split('.')[0]) || `named by ${setting}`;
  } catch {
    return `named by ${setting}`;
  }
}

/** The connection string's `AccountName` (a name, not a secret; the key is never read here). */
function accountOfConnectionString(connectionString: string): string {
  const name = /(?:^|;)\s*AccountName=([^;]+)/i.exec(connectionString)?.[1]?.trim();
  return name ?? 'named by AzureWebJobsStorage';
}
