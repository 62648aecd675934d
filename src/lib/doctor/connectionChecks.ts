import type { TableClient } from '@azure/data-tables';
import type { LogsQueryClient, LogsTable } from '@azure/monitor-query-logs';
import type { QueueServiceClient } from '@azure/storage-queue';
import { LogsQueryResultStatus } from '@azure/monitor-query-logs';
import type { Settings } from '../config/types';
import { ArmRequestError, type ArmClient, type ArmPermission } from '../deploy/armClient';
import type { ApimLocation, ResolvedPool } from '../pool/types';
import type { AppInsightsSink } from '../telemetry/createAppInsightsSink';
import { createTelemetryHealth, type TelemetryHealth } from '../telemetry/createTelemetryHealth';
import { kqlString } from '../telemetry/kqlString';
import { cellCount, readLogsTable } from '../telemetry/readLogsTable';
import { telemetryNames } from '../telemetry/telemetryNames';
import { PROBE_QUEUE_NAME } from '../queue/types';
import { ensureError } from '../util/errors';
import type { DoctorCheck } from './runDoctor';

/** Built-in role ids named in fixes (same table as infra/main.bicep and the README; Azure built-in roles doc). */
export const DOCTOR_ROLES = {
  apimReader: 'API Management Service Reader Role (71522526-b88f-4d52-b57f-d31fc3546d0d)',
  apimContributor: 'API Management Service Contributor (312a565d-c81f-4fd8-895a-4e21e48d571c)',
  keyVaultSecretsUser: 'Key Vault Secrets User (4633458b-17de-408a-b874-0445c86b69e6)',
  tableDataContributor: 'Storage Table Data Contributor (0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3)',
  queueDataContributor: 'Storage Queue Data Contributor (974c5e8b-45b9-4653-ba55-5f855dd0fb88)',
  metricsPublisher: 'Monitoring Metrics Publisher (3913510d-42f4-4e42-8a64-420c390055eb)',
  logAnalyticsReader: 'Log Analytics Reader (73c42c96-874c-492b-b04d-ab87d138a893)',
} as const;

/** The action `deploy` needs on the service (a PUT of a backend). */
export const BACKEND_WRITE_ACTION = 'Microsoft.ApiManagement/service/backends/write';

const MAX_DETAIL = 400;
const clip = (text: string): string => (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text);

/** An ARM action pattern (`*` matches any run of characters; ARM compares case-insensitively). */
function actionMatches(pattern: string, action: string): boolean {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 'i').test(action);
}

/**
 * Whether ARM's permissions list grants `action`: some entry (one role assignment) lists it in `actions` and does
 * not exclude it in that same entry's `notActions` (a notAction subtracts from its own role only: another role
 * may still grant the action — "Understand Azure role definitions", NotActions). Pure.
 */
export function permitsAction(permissions: readonly ArmPermission[], action: string): boolean {
  return permissions.some(
    (entry) => entry.actions.some((pattern) => actionMatches(pattern, action)) && !entry.notActions.some((pattern) => actionMatches(pattern, action)),
  );
}

/** Deploy mode: may the identity write the pool? Reads ARM's permissions list for the service; writes nothing. */
export async function checkWritePermission(arm: ArmClient, location: ApimLocation, serviceId: string, identity: string): Promise<DoctorCheck> {
  const name = 'APIM pool (ARM write permission)';
  const fix = `Grant ${DOCTOR_ROLES.apimContributor} on ${serviceId} to ${identity} (DEPLOY_MODE=deploy writes the pool).`;
  try {
    const permissions = await arm.listPermissions(location);
    if (permitsAction(permissions, BACKEND_WRITE_ACTION)) {
      return { name, status: 'ok', detail: `${BACKEND_WRITE_ACTION} is granted on the service (checked without writing)` };
    }
    return { name, status: 'failed', detail: `${BACKEND_WRITE_ACTION} is not among the identity's effective actions on the service`, fix };
  } catch (error) {
    if (!(error instanceof ArmRequestError)) throw error;
    if (error.status === 403) return { name, status: 'failed', detail: `ARM answered 403 ${error.code} for ${error.operation}`, fix };
    return { name, status: 'failed', detail: clip(`${error.code}: ${error.message}`), fix: 'Retry; if it persists, check the ARM endpoint and the network.' };
  }
}

/** The row the Table Storage check writes and deletes (never one of the app's own rows). */
export const DOCTOR_PROBE_KEYS = { partitionKey: 'doctor', rowKey: 'doctor-probe' } as const;

/** The status and service error code of an Azure SDK `RestError` (never its request, which holds the credentials). */
function restErrorFields(error: unknown): { status: number | undefined; code: string | undefined; message: string } {
  const record = (typeof error === 'object' && error !== null ? error : {}) as { statusCode?: unknown; code?: unknown; details?: unknown };
  const status = typeof record.statusCode === 'number' ? record.statusCode : undefined;
  const details = record.details as { errorCode?: unknown; error?: { code?: unknown }; 'odata.error'?: { code?: unknown } } | undefined;
  const candidates = [details?.errorCode, details?.error?.code, details?.['odata.error']?.code, record.code];
  const code = candidates.find((value): value is string => typeof value === 'string' && value !== '');
  return { status, code, message: ensureError(error).message.split('\n')[0] ?? '' };
}

/**
 * Table Storage: creates the state table when missing (as the app does), writes one probe entity on a dedicated
 * row, reads it back and deletes it.
 */
export async function checkTableStorage(client: TableClient, accountLabel: string, identity: string): Promise<DoctorCheck> {
  const name = 'Table Storage (state table read/write)';
  const marker = { ...DOCTOR_PROBE_KEYS, checkedAtMs: Date.now() };
  try {
    await client.createTable();
    await client.upsertEntity(marker, 'Replace');
    const read = await client.getEntity<{ checkedAtMs: number }>(marker.partitionKey, marker.rowKey);
    await client.deleteEntity(marker.partitionKey, marker.rowKey);
    if (read.checkedAtMs !== marker.checkedAtMs) {
      return { name, status: 'failed', detail: 'the probe entity read back differs from the one written', fix: 'Check that AzureWebJobsStorage names the storage account the app uses.' };
    }
    return { name, status: 'ok', detail: `wrote, read and deleted a probe entity in table ${client.tableName} of ${accountLabel}` };
  } catch (error) {
    return storageFailure(name, error, {
      service: 'Table Storage',
      role: DOCTOR_ROLES.tableDataContributor,
      accountLabel,
      identity,
      fix: 'Check AzureWebJobsStorage__accountName (or __tableServiceUri / the connection string) and that the account is reachable.',
    });
  }
}

/** A failed Storage call as a check line: 403 names the role, 401 the sign-in, anything else the setting to check. */
function storageFailure(
  name: string,
  error: unknown,
  what: { readonly service: string; readonly role: string; readonly accountLabel: string; readonly identity: string; readonly fix: string; readonly timeoutInMs?: number },
): DoctorCheck {
  const { status, code, message } = restErrorFields(error);
  if (status === 403) {
    return { name, status: 'failed', detail: `${what.service} answered 403 ${code ?? ''}`.trim(), fix: `Grant ${what.role} on the storage account ${what.accountLabel} to ${what.identity}.` };
  }
  if (status === 401 || /CredentialUnavailable|AuthenticationRequired/i.test(ensureError(error).name)) {
    return { name, status: 'failed', detail: `no Storage token (${code ?? ensureError(error).name})`, fix: `Sign in (az login) or give the app its managed identity (AzureWebJobsStorage__clientId).` };
  }
  const timedOut = what.timeoutInMs !== undefined && (ensureError(error).name === 'AbortError' || ensureError(error).name === 'TimeoutError');
  return {
    name,
    status: 'failed',
    detail: clip(timedOut ? `${what.service} did not answer within ${(what.timeoutInMs ?? 0) / 1000} s` : `${status === undefined ? '' : `HTTP ${status} `}${code ?? ''} ${message}`.trim()),
    fix: what.fix,
  };
}

/** The marker the Queue Storage check sends (not a pool run: the probePool trigger would refuse it). */
export const DOCTOR_QUEUE_MARKER = Buffer.from(JSON.stringify({ doctor: 'marker' })).toString('base64');
/**
 * The marker's visibility timeout, seconds; its time to live is one second longer (Put Message: the visibility
 * timeout should be smaller than the time to live). The delete follows at once; only if it fails could the probePool
 * trigger see the marker, during that last second, and it would refuse it (the check then reports the failure).
 */
const MARKER_INVISIBLE_SECONDS = 60;
/** Per-call timeout of the Queue Storage check. */
const QUEUE_CALL_TIMEOUT_MS = 30_000;

/**
 * Queue Storage: creates the fan-out queue `probe-runs` when missing (as the timer does), sends one marker message,
 * invisible for its whole life, and deletes it with the pop receipt the send returned.
 */
export async function checkQueueStorage(service: QueueServiceClient, accountLabel: string, identity: string): Promise<DoctorCheck> {
  const name = 'Queue Storage (probe-runs read/write)';
  const queue = service.getQueueClient(PROBE_QUEUE_NAME);
  try {
    await queue.createIfNotExists({ abortSignal: AbortSignal.timeout(QUEUE_CALL_TIMEOUT_MS) });
    const sent = await queue.sendMessage(DOCTOR_QUEUE_MARKER, {
      visibilityTimeout: MARKER_INVISIBLE_SECONDS,
      messageTimeToLive: MARKER_INVISIBLE_SECONDS + 1,
      abortSignal: AbortSignal.timeout(QUEUE_CALL_TIMEOUT_MS),
    });
    await queue.deleteMessage(sent.messageId, sent.popReceipt, { abortSignal: AbortSignal.timeout(QUEUE_CALL_TIMEOUT_MS) });
    return { name, status: 'ok', detail: `sent and deleted a marker message in queue ${PROBE_QUEUE_NAME} of ${accountLabel}` };
  } catch (error) {
    return storageFailure(name, error, {
      service: 'Queue Storage',
      role: DOCTOR_ROLES.queueDataContributor,
      accountLabel,
      identity,
      timeoutInMs: QUEUE_CALL_TIMEOUT_MS,
      fix: 'Check AzureWebJobsStorage__queueServiceUri (or __accountName / the connection string) and that the account is reachable.',
    });
  }
}

/** Where the Logs queries go (the settings' LOGS_SOURCE target). */
export type DoctorLogsTarget = { readonly kind: 'workspace'; readonly workspaceId: string } | { readonly kind: 'appinsights'; readonly resourceId: string };

/** Runs one query; rows of its first table, or the failure's status and code. */
async function query(
  client: LogsQueryClient,
  target: DoctorLogsTarget,
  kql: string,
  durationIso: string,
): Promise<{ ok: true; rows: Record<string, unknown>[] } | { ok: false; status: number | undefined; code: string | undefined; message: string }> {
  try {
    const result =
      target.kind === 'workspace'
        ? await client.queryWorkspace(target.workspaceId, kql, { duration: durationIso })
        : // Without the leading slash: the SDK would send `/v1//subscriptions/…`, which the service refuses with 403.
          await client.queryResource(target.resourceId.replace(/^\/+/, ''), kql, { duration: durationIso });
    const tables: LogsTable[] = result.status === LogsQueryResultStatus.Success ? result.tables : result.partialTables;
    return { ok: true, rows: readLogsTable(tables[0]).map((row) => ({ ...row })) };
  } catch (error) {
    return { ok: false, ...restErrorFields(error) };
  }
}

function logsFailure(name: string, failure: { status: number | undefined; code: string | undefined; message: string }, scope: string, identity: string): DoctorCheck {
  if (failure.status === 403) {
    return { name, status: 'failed', detail: `the Logs query API answered 403 ${failure.code ?? ''}`.trim(), fix: `Grant ${DOCTOR_ROLES.logAnalyticsReader} on ${scope} to ${identity}.` };
  }
  if (failure.status === 401) {
    return { name, status: 'failed', detail: `the Logs query API answered 401 ${failure.code ?? ''}`.trim(), fix: `Sign in (az login) or give the app its managed identity (${identity}).` };
  }
  return {
    name,
    status: 'failed',
    detail: clip(`${failure.status === undefined ? '' : `HTTP ${failure.status} `}${failure.code ?? ''} ${failure.message}`.trim()),
    fix: 'Check LOGS_ENDPOINT, LOGS_WORKSPACE_ID / APPINSIGHTS_RESOURCE_ID and the network.',
  };
}

/** What {@link checkTelemetryRoundTrip} needs. */
export interface TelemetryRoundTripInputs {
  readonly settings: Settings;
  readonly pool: ResolvedPool;
  /** Builds the real App Insights sink (with the ingestion credential the settings ask for) reporting to `health`. */
  readonly createSink: (health: TelemetryHealth) => AppInsightsSink;
  /** Undefined with LOGS_SOURCE=local: then only ingestion is checked. */
  readonly logs: LogsQueryClient | undefined;
  readonly identity: string;
  /** Longest wait for the marker to be queryable, ms. */
  readonly waitInMs: number;
  /** Pause between queries while waiting, ms. */
  readonly pollEveryInMs: number;
}

const DELAY_NOTE = 'App Insights ingestion usually takes 20 s to 3 min before a record is queryable (Azure Monitor "Log data ingestion time")';

/**
 * Sends one run marker (`PoolRunStarted` with a fresh runId, trigger `doctor`) through the real App Insights sink,
 * then queries the Logs target for it until it appears or `waitInMs` passes. Two lines: ingestion (the export's
 * HTTP answer, from the sink's health) and the query (read access, then the marker found). A refused ingestion
 * skips the query.
 */
export async function checkTelemetryRoundTrip(inputs: TelemetryRoundTripInputs): Promise<DoctorCheck[]> {
  const ingestionName = 'App Insights ingestion';
  const queryName = 'Logs query finds the record';
  const { settings, identity } = inputs;
  const runId = `doctor-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const startedAtMs = Date.now();
  const health = createTelemetryHealth({ log: () => undefined });
  let sink: AppInsightsSink;
  try {
    sink = inputs.createSink(health);
    await sink.beginRun({ runId, pool: inputs.pool.name, startedAtMs, trigger: 'doctor' });
    await sink.close();
  } catch (error) {
    return [
      { name: ingestionName, status: 'failed', detail: clip(ensureError(error).message), fix: 'Correct APPLICATIONINSIGHTS_CONNECTION_STRING (copy it from the App Insights resource).' },
      { name: queryName, status: 'skipped', detail: `needs ${ingestionName} first` },
    ];
  }
  const snapshot = health.snapshot();
  const failedStatuses = Object.keys(snapshot.batchesFailed);
  if (snapshot.batchesAccepted === 0 || failedStatuses.length > 0) {
    const keyOnly = settings.telemetry.ingestionAuthentication === undefined;
    const fix = failedStatuses.includes('401') && keyOnly
      ? `The resource refuses the key alone (local authentication disabled): set APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD (with ;ClientId=<client id> for a user-assigned identity) and grant ${DOCTOR_ROLES.metricsPublisher} on the App Insights resource to ${identity}.`
      : failedStatuses.includes('401') || failedStatuses.includes('403')
        ? `Grant ${DOCTOR_ROLES.metricsPublisher} on the App Insights resource to ${identity}.`
        : 'Check APPLICATIONINSIGHTS_CONNECTION_STRING (IngestionEndpoint) and that the endpoint is reachable.';
    return [
      { name: ingestionName, status: 'failed', detail: clip(snapshot.reason ?? 'the ingestion endpoint accepted no batch'), fix },
      { name: queryName, status: 'skipped', detail: `needs ${ingestionName} first` },
    ];
  }
  const ingested: DoctorCheck = { name: ingestionName, status: 'ok', detail: `accepted marker ${runId}` };
  if (inputs.logs === undefined) {
    return [ingested, { name: queryName, status: 'skipped', detail: 'LOGS_SOURCE=local: the app reads no Azure Monitor Logs' }];
  }
  const logs = inputs.logs;

  const target: DoctorLogsTarget =
    settings.telemetry.logsSource === 'workspace'
      ? { kind: 'workspace', workspaceId: settings.telemetry.workspaceId ?? '' }
      : { kind: 'appinsights', resourceId: settings.telemetry.appInsightsResourceId ?? '' };
  const scope = target.kind === 'workspace' ? `the Log Analytics workspace ${target.workspaceId}` : `${target.resourceId} (or its workspace)`;
  const kql =
    target.kind === 'workspace'
      ? `AppDependencies | where Name == ${kqlString(telemetryNames.runStarted)} and tostring(Properties.runId) == ${kqlString(runId)} | count`
      : `dependencies | where name == ${kqlString(telemetryNames.runStarted)} and tostring(customDimensions.runId) == ${kqlString(runId)} | count`;
  const deadline = Date.now() + inputs.waitInMs;
  for (let attempt = 0; attempt < 10_000; attempt += 1) {
    const answer = await query(logs, target, kql, 'PT1H');
    if (!answer.ok) return [ingested, logsFailure(queryName, answer, scope, identity)];
    if (cellCount(answer.rows[0]?.Count) > 0) {
      return [ingested, { name: queryName, status: 'ok', detail: `found marker ${runId} after ${Math.round((Date.now() - startedAtMs) / 1000)} s` }];
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(inputs.pollEveryInMs, left)));
  }
  return [
    ingested,
    {
      name: queryName,
      status: 'failed',
      detail: `the query ran (read access works) but marker ${runId} was not found within ${Math.round(inputs.waitInMs / 1000)} s; ${DELAY_NOTE}`,
      fix: `Run the doctor again in a few minutes; if it still fails, check that ${settings.telemetry.logsSource === 'workspace' ? 'LOGS_WORKSPACE_ID is the workspace of' : 'APPINSIGHTS_RESOURCE_ID is'} the App Insights resource APPLICATIONINSIGHTS_CONNECTION_STRING names.`,
    },
  ];
}

/** ALL_TRAFFIC_SOURCE=gateway-logs: does the workspace hold gateway logs of the API in the last day? */
export async function checkGatewayLogs(
  logs: LogsQueryClient,
  workspaceId: string,
  apiId: string,
  table: 'resource-specific' | 'azure-diagnostics',
  serviceId: string,
  identity: string,
): Promise<DoctorCheck> {
  const name = 'gateway logs (all-traffic source)';
  const kql =
    table === 'resource-specific'
      ? `ApiManagementGatewayLogs | where ApiId == ${kqlString(apiId)} | count`
      : `AzureDiagnostics | where ResourceProvider == 'MICROSOFT.APIMANAGEMENT' and Category == 'GatewayLogs' | where tostring(column_ifexists('apiId_s', '')) == ${kqlString(apiId)} | count`;
  const answer = await query(logs, { kind: 'workspace', workspaceId }, kql, 'P1D');
  if (!answer.ok) return logsFailure(name, answer, `the Log Analytics workspace ${workspaceId}`, identity);
  const rows = cellCount(answer.rows[0]?.Count);
  if (rows > 0) return { name, status: 'ok', detail: `${rows} gateway log rows for API ${apiId} in the last day` };
  return {
    name,
    status: 'failed',
    detail: `no gateway log rows for API ${apiId} in the last day`,
    fix: `Add a diagnostic setting on ${serviceId} sending the GatewayLogs category to workspace ${workspaceId} with the resource-specific destination table (ApiManagementGatewayLogs)${table === 'azure-diagnostics' ? ', or keep AzureDiagnostics and check GATEWAY_LOGS_TABLE' : ''}; rows appear minutes after the API's next calls.`,
  };
}
