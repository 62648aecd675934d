import { LogsQueryResultStatus, type LogsQueryClient, type LogsQueryResult } from '@azure/monitor-query-logs';
import type { ResolvedPool } from '../pool/types';
import type { TimeWindow } from '../store/types';
import { acquireSlot, SIGNAL_HEADER, signalRegistry } from '../telemetry/createLogsEvidenceSource';
import { LogsQueryError } from '../telemetry/LogsQueryError';
import { cellCount, cellText, readLogsTable } from '../telemetry/readLogsTable';
import { TelemetrySetupError } from '../telemetry/TelemetrySetupError';
import { ensureError } from '../util/errors';
import { attributeAttempt, hostOf } from './attributeAttempt';
import { composeGatewayAttemptsQuery, GATEWAY_ATTEMPTS_COLUMNS, MAX_ATTEMPT_GROUPS, type GatewayLogsTable } from './gatewayAttemptsQuery';
import { shareRecentAttempts } from './shareRecentAttempts';
import type { BackendAttemptCounts, GatewayAttemptSource, GatewayAttempts } from './types';

/** Options of {@link createGatewayLogsAttemptSource}. */
export interface GatewayLogsAttemptSourceOptions {
  readonly client: LogsQueryClient;
  /** The Log Analytics workspace APIM's diagnostic setting writes its gateway logs to (LOGS_WORKSPACE_ID). */
  readonly workspaceId: string;
  /** GATEWAY_LOGS_TABLE; default `resource-specific` (ApiManagementGatewayLogs). */
  readonly table?: GatewayLogsTable;
  /** The APIM API id whose requests count (APIM_API_ID); without it, rows calling a member host or id. */
  readonly apiId?: string;
  /** Budget of the query (client-side abort and server timeout), ms. */
  readonly timeoutInMs: number;
  /** A result fetched less than this long ago for the same pool and window length is served again; default 0. */
  readonly shareForMs?: number;
  /** Clock for `shareForMs`; default Date.now. */
  readonly now?: () => number;
}

const NOTE =
  'From APIM\'s gateway logs (ApiManagementGatewayLogs, or AzureDiagnostics GatewayLogs): one row per client request with one backend call\'s response code. A 429 that the retry policy recovered from on another backend is not in them, so the 429s here are a lower bound, and "attempts" counts requests whose recorded backend call went to the backend. Logs arrive 2–5 minutes late.';

let nextCallId = 0;

/**
 * Counts the gateway's recorded backend calls per pool member from APIM's resource logs in Log Analytics, with one
 * aggregated query (rows grow with member hosts, never with requests). See `gatewayAttemptsQuery.ts` for what these
 * logs can and cannot tell. Rows are attributed by `BackendUrl` host, else `BackendId`.
 * @throws TelemetrySetupError (at creation) for a workspace id that is not a GUID or a bad timeout.
 * @throws LogsQueryError when the query fails (naming the workspace); the abort reason when `signal` aborts.
 */
export function createGatewayLogsAttemptSource(options: GatewayLogsAttemptSourceOptions): GatewayAttemptSource {
  const { client, workspaceId, timeoutInMs } = options;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(workspaceId)) {
    throw new TelemetrySetupError('workspaceId', 'must be the workspace id (a GUID, LOGS_WORKSPACE_ID)');
  }
  if (!Number.isFinite(timeoutInMs) || timeoutInMs < 1) throw new TelemetrySetupError('timeoutInMs', 'must be a positive number of milliseconds');
  const table = options.table ?? 'resource-specific';

  const read = async (pool: ResolvedPool, window: TimeWindow, signal?: AbortSignal): Promise<GatewayAttempts> => {
    const query = composeGatewayAttemptsQuery(table, {
      backendHosts: [...new Set(pool.backends.map((backend) => hostOf(backend.url)).filter((host): host is string => host !== null))],
      backendIds: pool.backends.map((backend) => backend.name),
      apiId: options.apiId ?? '',
    });
    const release = await acquireSlot(client, 5, signal);
    const timeout = AbortSignal.timeout(timeoutInMs);
    const callId = `gatewayAttempts-${(nextCallId += 1)}`;
    const registry = signalRegistry(client);
    registry.set(callId, signal === undefined ? timeout : AbortSignal.any([signal, timeout]));
    let result: LogsQueryResult;
    try {
      result = await client.queryWorkspace(workspaceId, query, { startTime: new Date(window.fromMs), endTime: new Date(window.toMs) }, {
        serverTimeoutInSeconds: Math.max(1, Math.ceil(timeoutInMs / 1000)),
        requestOptions: { headers: { [SIGNAL_HEADER]: callId } },
      });
    } catch (thrown) {
      if (signal?.aborted === true) throw signal.reason ?? thrown;
      const error = ensureError(thrown);
      const message = timeout.aborted ? `no answer within ${timeoutInMs} ms` : error.message;
      const statusCode = (thrown as { statusCode?: unknown }).statusCode;
      // Not the RestError itself: it holds the request, Authorization header included.
      throw new LogsQueryError(`workspace ${workspaceId}`, 'gatewayAttempts', typeof statusCode === 'number' ? statusCode : undefined, undefined, message, {
        cause: new Error(message),
      });
    } finally {
      registry.delete(callId);
      release();
    }
    const partial = result.status === LogsQueryResultStatus.PartialFailure ? result.partialError : null;
    const first = (result.status === LogsQueryResultStatus.PartialFailure ? result.partialTables : result.tables)[0];
    const present = new Set(first?.columnDescriptors.map((column) => column.name) ?? []);
    const missing = GATEWAY_ATTEMPTS_COLUMNS.filter((name) => !present.has(name));
    if (first === undefined || missing.length > 0) {
      throw new LogsQueryError(`workspace ${workspaceId}`, 'gatewayAttempts', undefined, undefined, first === undefined ? 'no result table' : `a result without ${missing.join(', ')}`);
    }
    const rows = readLogsTable(first);
    const attribute = attributeAttempt(pool);
    const counts = new Map<string, { attempts: number; throttled429: number; serverErrors: number; breakerTrips: null }>(
      pool.backends.map((backend) => [backend.name, { attempts: 0, throttled429: 0, serverErrors: 0, breakerTrips: null }]),
    );
    let unattributed = 0;
    for (const row of rows) {
      const name = attribute(cellText(row.targetHost), cellText(row.backendId));
      const count = name === null ? undefined : counts.get(name);
      if (count === undefined) {
        unattributed += cellCount(row.attempts);
        continue;
      }
      count.attempts += cellCount(row.attempts);
      count.throttled429 += cellCount(row.throttled429);
      count.serverErrors += cellCount(row.serverErrors);
    }
    const notes = [NOTE];
    if (partial !== null) notes.push(`The query returned a partial result (${partial.code ?? 'error'}): counts may be low.`);
    if (rows.length >= MAX_ATTEMPT_GROUPS) notes.push(`Only the ${MAX_ATTEMPT_GROUPS} busiest (host, backend id) groups were read.`);
    const byBackend: Record<string, BackendAttemptCounts> = Object.fromEntries(counts.entries());
    return { source: 'gateway-logs', perAttempt: false, note: notes.join(' '), byBackend, unattributed, window };
  };

  return shareRecentAttempts(read, options.shareForMs ?? 0, options.now);
}
