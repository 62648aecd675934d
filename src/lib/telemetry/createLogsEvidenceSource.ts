import { LogsQueryResultStatus, type LogsQueryClient, type LogsQueryResult, type LogsTable } from '@azure/monitor-query-logs';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { identifyBackend } from '../pool/identifyBackend';
import type { ResolvedPool } from '../pool/types';
import type { BackendEvidence, EvidenceBin, EvidenceSource, RunCounts, TimeWindow, WindowCompleteness, WindowEvidence } from '../store/types';
import type { ProbeKind } from '../probe/types';
import { BoundedTally, toUnidentifiedEvidence, truncateValue } from '../util/boundedCounts';
import { ensureError } from '../util/errors';
import { KqlValueError } from './kqlString';
import { LogsQueryError } from './LogsQueryError';
import { TelemetrySetupError } from './TelemetrySetupError';
import {
  MAX_EXCLUDED_RUNS,
  QUERY_COLUMNS,
  composeProbeQuery,
  composeTrafficQuery,
  type LogsSchemaFlavour,
  type ProbeQueryName,
  type QueryName,
  type TrafficQueryName,
} from './queries';
import { cellBoolean, cellCount, cellEpochMs, cellNumber, cellText, readLogsTable, type LogsRow } from './readLogsTable';

export { createLogsQueryClient } from './createLogsQueryClient';

/** Where the Application Insights data is queried. */
export type LogsTarget =
  /** A Log Analytics workspace (workspace-based App Insights): `AppDependencies`, `AppEvents` … */
  | { readonly kind: 'workspace'; readonly workspaceId: string }
  /** An App Insights resource by ARM id (resource-centric query, `/v1/subscriptions/…/query`): its Log Analytics tables. */
  | { readonly kind: 'appinsights'; readonly resourceId: string };

/** Options of {@link createLogsEvidenceSource}. */
export interface LogsEvidenceSourceOptions {
  readonly client: LogsQueryClient;
  readonly target: LogsTarget;
  readonly pool: ResolvedPool;
  /** Cloud role name the sink stamped on the probes (TELEMETRY_CLOUD_ROLE_NAME). */
  readonly cloudRoleName: string;
  /** The APIM service the sink stamped on the probes (`apimService`); queries filter on it. */
  readonly apimService: string;
  /** Budget for each query (client-side abort and server `wait`), ms. */
  readonly timeoutInMs: number;
  /**
   * `probes` (default): this verifier's probe telemetry. `all-traffic`: real production traffic from
   * `trafficSource`.
   */
  readonly mode?: 'probes' | 'all-traffic';
  /**
   * All-traffic mode only (ALL_TRAFFIC_SOURCE / GATEWAY_LOGS_TABLE): `appinsights` (default) — APIM's
   * backend-call dependencies in App Insights, identified by target host or the logged `Response-<header>`,
   * weighted by itemCount; `gateway-logs` — `ApiManagementGatewayLogs` rows filtered by `apiId`, identified by
   * `BackendUrl` host or `BackendId`; `azure-diagnostics` — the same in `AzureDiagnostics`. Gateway logs live in
   * a workspace: use a workspace target.
   */
  readonly trafficSource?: 'appinsights' | 'gateway-logs' | 'azure-diagnostics';
  /** The APIM API id (APIM_API_ID) gateway-log rows are filtered on; without it, rows are selected by member host or id. */
  readonly apiId?: string;
  /**
   * Table schema; default `workspace` for both targets. A resource-centric query (`/v1/{resourceId}/query`)
   * runs against the Log Analytics data of the resource: the docs list `AppDependencies`/`AppEvents` with
   * resource type `microsoft.insights/components` (Azure Monitor table reference), and the Logs API
   * "Execute With Resource Id" documents no classic-table mapping; the classic names (`dependencies`,
   * `customDimensions`) are confirmed only for the App Insights API (`api.applicationinsights.io`), which this
   * verifier does not use. `classic` stays selectable.
   */
  readonly schema?: LogsSchemaFlavour;
  /**
   * Most queries in flight at once through this client (all sources sharing the client share the limit).
   * Log Analytics allows about 5 concurrent queries per user; default 5.
   */
  readonly maxConcurrentQueries?: number;
  /**
   * A run that started more than this long before the window end and has no finish event counts as
   * incomplete (runs are assumed to finish within it). Default 15 minutes.
   */
  readonly runGraceInMs?: number;
}

/** Extra time scanned on both sides of a probe window: item timestamps can be 1 ms early (see queries.ts). */
const TIMESPAN_MARGIN_IN_MS = 60_000;
const POOL_NAME = /^[^<>*%&:\\?/+#\s]{1,80}$/;
const TIMEOUT_STATUSES = new Set([408, 504]);
export const SIGNAL_HEADER = 'x-apim-pool-verifier-call';
let nextCallId = 0;
const registries = new WeakMap<LogsQueryClient, Map<string, AbortSignal>>();

const PROBE_QUERY_NAMES: readonly ProbeQueryName[] = ['probeSummary', 'probeLatency', 'probeBins', 'probeRuns', 'runStates'];
const TRAFFIC_QUERY_NAMES: readonly TrafficQueryName[] = ['trafficSummary', 'trafficLatency', 'trafficBins'];

interface ArrivingRun {
  readonly runId: string;
  readonly startedAtMs: number;
  readonly received: number;
  readonly probesSent: number | null;
}

type QueryOutcome =
  | { readonly kind: 'ok'; readonly rows: LogsRow[] }
  | { readonly kind: 'partial'; readonly rows: LogsRow[]; readonly message: string }
  | { readonly kind: 'timeout'; readonly rows: LogsRow[]; readonly message: string };

/**
 * Reads window evidence from Azure Monitor Logs (Application Insights data) with the queries of `queries.ts`.
 * All aggregation runs in Kusto: the rows transferred grow with backends × bins, never with probes.
 *
 * - Probes mode: the `PoolProbe` dependencies and run markers the App Insights sink wrote (same role name), so
 *   the counts equal what the local store gives for the same records. Latency percentiles are Kusto's
 *   (estimates for large sets); the local store computes exact nearest-rank ones.
 * - All-traffic mode, `appinsights`: APIM's backend-call dependencies to the pool's member hosts (retries
 *   included), attributed by target host, else by the logged `Response-<identify header>` through
 *   `identifyBackend`. Counts are `sum(itemCount)`: adaptive sampling keeps different fractions at different
 *   times, and only weighting gives unbiased shares. The price: the statistics then see more requests than rows
 *   were kept, so their confidence is overstated by the sampling factor — `degraded` says so whenever rows and
 *   requests differ. `gateway-logs` / `azure-diagnostics`: one unsampled row per client request of `apiId`
 *   (APIM resource logs), attributed by `BackendUrl` host, else `BackendId`. `runs` is empty, `incompleteRuns`
 *   and `tokensUsed` are 0; 2xx/non-2xx come from the result code, and a call without a numeric code counts as a
 *   network failure. Where one backend appears under several identifier values, its latency percentiles are
 *   those of its largest group (approximate).
 *
 * Partial query failures and per-query timeouts yield evidence with `degraded` set (what is missing and why),
 * never a silent zero. A query that fails outright throws.
 *
 * `readWindow(poolName, …)` selects the telemetry by `poolName` (probes mode; all-traffic selects by the member
 * hosts of `options.pool`); backends are always those of `options.pool`.
 *
 * @throws TelemetrySetupError (at creation) for a workspace id that is not a GUID, a resource id that is not an
 *   App Insights component id, a bad timeout, an empty role name or a negative grace.
 * @throws LogsQueryError when a query fails as a whole (403, 404, 400, network …), naming the target.
 * @throws KqlValueError when the pool name or role name cannot be embedded, or the window/bin are invalid.
 * @throws the abort reason when the caller's `signal` aborts.
 */
export function createLogsEvidenceSource(options: LogsEvidenceSourceOptions): EvidenceSource {
  const { client, target, pool, cloudRoleName } = options;
  const mode = options.mode ?? 'probes';
  const flavour: LogsSchemaFlavour = options.schema ?? 'workspace';
  const apimService = options.apimService;
  if (typeof apimService !== 'string' || apimService.trim() === '') {
    throw new TelemetrySetupError('apimService', 'must not be empty');
  }
  const runGraceInMs = options.runGraceInMs ?? 15 * 60_000;
  if (!Number.isFinite(options.timeoutInMs) || options.timeoutInMs < 1) {
    throw new TelemetrySetupError('timeoutInMs', 'must be a positive number of milliseconds');
  }
  if (typeof cloudRoleName !== 'string' || cloudRoleName.trim() === '') {
    throw new TelemetrySetupError('cloudRoleName', 'must not be empty');
  }
  if (target.kind === 'workspace' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(target.workspaceId)) {
    throw new TelemetrySetupError('target.workspaceId', 'must be the workspace id (a GUID, LOGS_WORKSPACE_ID)');
  }
  if (target.kind === 'appinsights' && !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/microsoft\.insights\/components\/[^/]+$/i.test(target.resourceId)) {
    throw new TelemetrySetupError('target.resourceId', 'must be the ARM id of an App Insights component (APPINSIGHTS_RESOURCE_ID)');
  }
  if (!Number.isSafeInteger(runGraceInMs) || runGraceInMs < 0) {
    throw new TelemetrySetupError('runGraceInMs', 'must be a whole number of milliseconds ≥ 0');
  }
  const targetLabel = target.kind === 'workspace' ? `workspace ${target.workspaceId}` : `resource ${target.resourceId}`;
  const backendNames = pool.backends.map((backend) => backend.name);

  const runQuery = async (
    name: QueryName,
    query: string,
    timespan: { startTime: Date; endTime: Date },
    signal: AbortSignal | undefined,
  ): Promise<QueryOutcome> => {
    const release = await acquireSlot(client, options.maxConcurrentQueries ?? 5, signal);
    try {
      return await runQueryNow(name, query, timespan, signal);
    } finally {
      release();
    }
  };

  const runQueryNow = async (
    name: QueryName,
    query: string,
    timespan: { startTime: Date; endTime: Date },
    signal: AbortSignal | undefined,
  ): Promise<QueryOutcome> => {
    const timeout = AbortSignal.timeout(options.timeoutInMs);
    const abortSignal = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const registry = signalRegistry(client);
    const callId = `${name}-${(nextCallId += 1)}`;
    registry.set(callId, abortSignal);
    const queryOptions = {
      serverTimeoutInSeconds: Math.max(1, Math.ceil(options.timeoutInMs / 1000)),
      // LogsQueryClient 1.0.0 drops `abortSignal` from its options; the marker header lets a pipeline policy
      // put the signal on the request (which also stops the SDK's retries). Not `requestOptions.timeout`: the
      // HTTP client leaves that timer running when a request is aborted.
      requestOptions: { headers: { [SIGNAL_HEADER]: callId } },
    };
    let result: LogsQueryResult;
    try {
      result =
        target.kind === 'workspace'
          ? await client.queryWorkspace(target.workspaceId, query, timespan, queryOptions)
          : // The SDK joins `/{+resourceId}` to the endpoint, so a leading slash gives `/v1//subscriptions/…`, which the
            // service answers with a misleading 403 InsufficientAccessError (known SDK issue): send it without.
            await client.queryResource(target.resourceId.replace(/^\/+/, ''), query, timespan, queryOptions);
    } catch (thrown) {
      if (signal?.aborted === true) {
        throw signal.reason ?? thrown;
      }
      const error = ensureError(thrown);
      const statusCode = numberField(thrown, 'statusCode');
      if (timeout.aborted || (statusCode !== undefined && TIMEOUT_STATUSES.has(statusCode))) {
        return { kind: 'timeout', rows: [], message: `${name} timed out after ${options.timeoutInMs} ms` };
      }
      const code = stringField(thrown, 'code') ?? serviceErrorCode(thrown);
      // Not the RestError itself: it holds the request, Authorization header included.
      const cause = Object.assign(new Error(error.message), { name: error.name, code });
      throw new LogsQueryError(targetLabel, name, statusCode, code, error.message, { cause });
    } finally {
      registry.delete(callId);
    }
    const table = firstTable(result.status === LogsQueryResultStatus.PartialFailure ? result.partialTables : result.tables);
    const missing = table === undefined ? null : missingColumns(table, QUERY_COLUMNS[name]);
    if (table === undefined || (missing !== null && missing.length > 0)) {
      // Never read an unexpected shape as zeros.
      const what = table === undefined ? 'no result table' : `a result without ${missing!.join(', ')}`;
      return { kind: 'partial', rows: [], message: `${name} returned ${what}` };
    }
    if (result.status === LogsQueryResultStatus.PartialFailure) {
      const error = result.partialError;
      return {
        kind: 'partial',
        rows: readLogsTable(table),
        message: `${name} returned a partial result (${error.code ?? 'error'}: ${error.message ?? 'no message'})`,
      };
    }
    return { kind: 'ok', rows: readLogsTable(table) };
  };

  const readProbes = async (poolName: string, window: TimeWindow, binInMs: number, signal?: AbortSignal): Promise<WindowEvidence> => {
    const base = { poolName, apimService, cloudRoleName, binInMs, windowStartMs: window.fromMs, windowEndMs: window.toMs };
    // Compose before sending, so a bad value throws before a request leaves.
    const runStatesQuery = composeProbeQuery('runStates', flavour, base);
    const widened = { startTime: new Date(window.fromMs - TIMESPAN_MARGIN_IN_MS), endTime: new Date(window.toMs + TIMESPAN_MARGIN_IN_MS) };
    // Run markers: a run that started in the window may finish up to the grace period after its end.
    const runSpan = { startTime: widened.startTime, endTime: new Date(window.toMs + runGraceInMs + TIMESPAN_MARGIN_IN_MS) };

    // Phase 1: which runs are complete. Ingestion takes minutes and records arrive out of order, so a run counts
    // only once its finish marker and all `probesSent` of its probes are in; the others are left out and named.
    const [runStates] = await settleAll([runQuery('runStates', runStatesQuery, runSpan, signal)] as const);
    const runStartedAt = new Map<string, number>();
    const arriving: ArrivingRun[] = [];
    const lostProbes = new Map<string, number>();
    let incompleteRuns = 0;
    for (const row of runStates.rows) {
      const runId = cellText(row.runId);
      const startedAtMs = cellNumber(row.startedAtMs);
      if (startedAtMs !== null) runStartedAt.set(runId, startedAtMs);
      const finished = cellCount(row.finished) > 0;
      const reportedIncomplete = cellCount(row.incomplete) > 0;
      const probesSent = finished ? cellNumber(row.probesSent) : null;
      const received = cellCount(row.received);
      const finishedAtMs = cellNumber(row.finishedAtMs);
      // Past the grace period nothing more is expected: a run without a finish marker was killed, a short one lost records.
      const settledBy = finished && finishedAtMs !== null ? finishedAtMs : startedAtMs;
      const overdue = settledBy !== null && settledBy < window.toMs - runGraceInMs;
      if (!finished && overdue) incompleteRuns += 1;
      else if (reportedIncomplete) incompleteRuns += 1;
      const complete = finished && (probesSent === null || received >= probesSent);
      if (!complete && !overdue) {
        arriving.push({ runId, startedAtMs: startedAtMs ?? window.fromMs, received, probesSent });
      } else if (finished && probesSent !== null && received < probesSent) {
        lostProbes.set(runId, probesSent - received);
      }
    }
    arriving.sort((a, b) => a.startedAtMs - b.startedAtMs || a.runId.localeCompare(b.runId));
    const excluded = arriving.slice(0, MAX_EXCLUDED_RUNS);

    const parameters = { ...base, excludedRunIds: excluded.map((run) => run.runId) };
    const queries = Object.fromEntries(
      PROBE_QUERY_NAMES.filter((name) => name !== 'runStates').map((name) => [name, composeProbeQuery(name, flavour, parameters)]),
    ) as Record<Exclude<ProbeQueryName, 'runStates'>, string>;
    const run = (name: Exclude<ProbeQueryName, 'runStates'>): Promise<QueryOutcome> => runQuery(name, queries[name], widened, signal);
    const [summary, latency, bins, runs] = await settleAll([run('probeSummary'), run('probeLatency'), run('probeBins'), run('probeRuns')] as const);
    const known = new Set(backendNames);
    const isKnown = (backend: string): boolean => known.has(backend);

    const totals = emptyTotals(backendNames);
    let represented = 0;
    for (const row of summary.rows) {
      const backend = cellText(row.backend);
      const n = cellCount(row.probes);
      represented += cellNumber(row.represented) ?? n;
      totals.total += n;
      totals.tokensUsed += cellCount(row.tokens);
      addOutcome(totals, cellText(row.probeKind), isKnown(backend) ? backend : null, cellText(row.errorKey), cellText(row.answerValue), n);
    }

    const latencyBy = new Map<string, { p50: number | null; p95: number | null }>();
    for (const row of latency.rows) {
      const backend = cellText(row.backend);
      if (isKnown(backend)) latencyBy.set(backend, { p50: cellNumber(row.p50), p95: cellNumber(row.p95) });
    }

    const binMap = new Map<number, MutableBin>();
    for (const row of bins.rows) {
      const startMs = cellEpochMs(row.startTime);
      if (startMs === null) continue;
      const backend = cellText(row.backend);
      const kind = cellText(row.probeKind);
      // The gateway's token limit refused these: not failures of the pool (see probe/gatewayThrottle.ts).
      if (kind === GATEWAY_THROTTLED) continue;
      addToBin(binMap, startMs, kind === 'ok', isKnown(backend) ? backend : null, cellCount(row.probes));
    }

    const runMap = new Map<string, { startedAtMs: number; answered: Record<string, number> }>();
    for (const row of runs.rows) {
      const runId = cellText(row.runId);
      const first = cellEpochMs(row.firstProbeAt) ?? window.fromMs;
      const entry = runMap.get(runId) ?? { startedAtMs: first, answered: Object.fromEntries(backendNames.map((name) => [name, 0])) };
      entry.startedAtMs = Math.min(entry.startedAtMs, first);
      const backend = cellText(row.backend);
      if (cellText(row.probeKind) === 'ok' && isKnown(backend)) entry.answered[backend] = (entry.answered[backend] ?? 0) + cellCount(row.probes);
      runMap.set(runId, entry);
    }
    const runList: RunCounts[] = [...runMap.entries()]
      .map(([runId, entry]) => ({ runId, startedAtMs: runStartedAt.get(runId) ?? entry.startedAtMs, answered: entry.answered }))
      .sort((a, b) => a.startedAtMs - b.startedAtMs || a.runId.localeCompare(b.runId));
    const notes: string[] = [];
    // The sink sends everything; only App Insights ingestion sampling (a resource setting) can thin it out.
    if (represented > totals.total) notes.push(`App Insights ingestion sampling kept ${totals.total} of ${represented} probe records: counts are a sample`);
    if (arriving.length > excluded.length) notes.push(`${arriving.length - excluded.length} more runs are still arriving than a query can leave out; their probes are counted as far as they arrived`);
    for (const [runId, missing] of [...lostProbes.entries()].slice(0, 5)) {
      notes.push(`run ${runId}: ${missing} probe record(s) never arrived within ${Math.round(runGraceInMs / 60_000)} min`);
    }
    const completeness: WindowCompleteness = {
      completeUpToMs: excluded.length === 0 ? window.toMs : Math.max(window.fromMs, excluded[0]!.startedAtMs),
      arriving: excluded.map(({ runId, received, probesSent }) => ({ runId, received, probesSent })),
    };

    return {
      window,
      source: 'probes',
      total: totals.total,
      answered: totals.answered,
      unidentified: toUnidentifiedEvidence(totals.unidentified, totals.unidentifiedValues.result()),
      backends: toBackendEvidence(backendNames, totals, latencyBy),
      errors: { byStatus: totals.errorsByStatus, timeout: totals.timeout, network: totals.network },
      bins: toBins(binMap),
      binInMs,
      runs: runList,
      incompleteRuns,
      tokensUsed: totals.tokensUsed,
      degraded: degradedText([summary, latency, bins, runs, runStates], notes),
      completeness,
      // Counted only: the last Retry-After and remaining tokens are in each record's customDimensions, not summarised.
      ...(totals.gatewayThrottled > 0 ? { gatewayThrottled: { count: totals.gatewayThrottled, lastRetryAfterSeconds: null, remainingTokens: null } } : {}),
    };
  };

  const hostToBackend = hostLookup(pool);
  const trafficSource = options.trafficSource ?? 'appinsights';
  const isGatewayLog = trafficSource !== 'appinsights';
  const memberIds = new Map(backendNames.map((name) => [name.toLowerCase(), name]));
  const attribute = (targetHost: string, identifierValue: string): string | null =>
    hostToBackend.get(targetHost) ??
    (isGatewayLog
      ? // BackendId may be the member's id, its ARM id, or the pool's (then the URL host decided above).
        (memberIds.get(identifierValue.slice(identifierValue.lastIndexOf('/') + 1).toLowerCase()) ?? null)
      : identifyBackend(pool, identifierValue === '' ? null : identifierValue));
  const trafficFlavour = trafficSource === 'appinsights' ? flavour : trafficSource;

  const readTraffic = async (window: TimeWindow, binInMs: number, signal?: AbortSignal): Promise<WindowEvidence> => {
    const parameters = {
      backendHosts: [...new Set(pool.backends.map((backend) => hostOf(backend.url)).filter((host): host is string => host !== null))],
      backendIds: backendNames,
      ...(options.apiId === undefined ? {} : { apiId: options.apiId }),
      excludeRoleName: cloudRoleName,
      headerName: pool.probe.identify.header,
      binInMs,
      windowStartMs: window.fromMs,
    };
    const queries = Object.fromEntries(
      TRAFFIC_QUERY_NAMES.map((name) => [name, composeTrafficQuery(name, trafficFlavour, parameters)]),
    ) as Record<TrafficQueryName, string>;
    const exact = { startTime: new Date(window.fromMs), endTime: new Date(window.toMs) };
    const run = (name: TrafficQueryName): Promise<QueryOutcome> => runQuery(name, queries[name], exact, signal);
    const [summary, latency, bins] = await settleAll([run('trafficSummary'), run('trafficLatency'), run('trafficBins')] as const);

    const totals = emptyTotals(backendNames);
    let rowsSeen = 0;
    for (const row of summary.rows) {
      const n = cellCount(row.requests);
      rowsSeen += cellNumber(row.rows) ?? n;
      const identifierValue = cellText(row.identifierValue);
      const backend = attribute(cellText(row.targetHost), identifierValue);
      const resultCode = cellText(row.resultCode).trim();
      const kind = /^2\d\d$/.test(resultCode) ? 'ok' : /^[1-5]\d\d$/.test(resultCode) ? 'http' : 'network';
      totals.total += n;
      addOutcome(totals, kind, backend, resultCode, identifierValue, n);
    }

    const latencyBy = new Map<string, { p50: number | null; p95: number | null; requests: number }>();
    for (const row of latency.rows) {
      const backend = attribute(cellText(row.targetHost), cellText(row.identifierValue));
      if (backend === null) continue;
      const requests = cellCount(row.requests);
      const current = latencyBy.get(backend);
      if (current === undefined || requests > current.requests) {
        latencyBy.set(backend, { p50: cellNumber(row.p50), p95: cellNumber(row.p95), requests });
      }
    }

    const binMap = new Map<number, MutableBin>();
    for (const row of bins.rows) {
      const startMs = cellEpochMs(row.startTime);
      if (startMs === null) continue;
      addToBin(binMap, startMs, cellBoolean(row.isOk), attribute(cellText(row.targetHost), cellText(row.identifierValue)), cellCount(row.requests));
    }

    return {
      window,
      source: 'all-traffic',
      total: totals.total,
      answered: totals.answered,
      unidentified: toUnidentifiedEvidence(totals.unidentified, totals.unidentifiedValues.result()),
      backends: toBackendEvidence(backendNames, totals, latencyBy),
      errors: { byStatus: totals.errorsByStatus, timeout: totals.timeout, network: totals.network },
      bins: toBins(binMap),
      binInMs,
      runs: [],
      incompleteRuns: 0,
      tokensUsed: 0,
      degraded: degradedText(
        [summary, latency, bins],
        totals.total > rowsSeen
          ? [
              `App Insights sampling: ${rowsSeen} logged rows stand for ${totals.total} requests (weighted by itemCount); shares are estimates from a sample and the verdict's confidence is overstated accordingly`,
            ]
          : [],
      ),
    };
  };

  return {
    async readWindow(poolName: string, window: TimeWindow, binInMs: number, signal?: AbortSignal): Promise<WindowEvidence> {
      if (typeof poolName !== 'string' || !POOL_NAME.test(poolName)) {
        throw new KqlValueError('pool name', 'must be 1–80 characters of an APIM backend id');
      }
      if (!Number.isSafeInteger(window.fromMs) || !Number.isSafeInteger(window.toMs) || window.fromMs >= window.toMs) {
        throw new KqlValueError('window', 'fromMs and toMs must be whole epoch milliseconds with fromMs < toMs');
      }
      if (!Number.isSafeInteger(binInMs) || binInMs <= 0) {
        throw new KqlValueError('bin size', 'must be a positive whole number of milliseconds');
      }
      signal?.throwIfAborted();
      return mode === 'all-traffic' ? readTraffic(window, binInMs, signal) : readProbes(poolName, window, binInMs, signal);
    },
  };
}

/** The probe kind of APIM's token-limit 429 (probe/types.ts). */
const GATEWAY_THROTTLED: ProbeKind = 'gateway-throttled';

/** HTTP statuses are three digits; more keys than this means the table holds something else. */
const MAX_STATUS_KEYS = 100;

interface Totals {
  total: number;
  answered: number;
  unidentified: number;
  unidentifiedValues: BoundedTally;
  answeredBy: Map<string, number>;
  errorsBy: Map<string, Record<string, number>>;
  errorsByStatus: Record<string, number>;
  timeout: number;
  network: number;
  tokensUsed: number;
  /** Probes of kind `gateway-throttled`: in `total` only. */
  gatewayThrottled: number;
}

interface MutableBin {
  answered: Record<string, number>;
  unidentified: number;
  failed: number;
}

function emptyTotals(backendNames: readonly string[]): Totals {
  return {
    total: 0,
    answered: 0,
    unidentified: 0,
    unidentifiedValues: new BoundedTally(),
    answeredBy: new Map(backendNames.map((name) => [name, 0])),
    errorsBy: new Map(backendNames.map((name) => [name, {}])),
    errorsByStatus: {},
    timeout: 0,
    network: 0,
    tokensUsed: 0,
    gatewayThrottled: 0,
  };
}

/** Adds `n` outcomes of one kind; `backend` is a pool member or null (unidentified). */
function addOutcome(totals: Totals, kind: string, backend: string | null, errorKey: string, identifierValue: string, n: number): void {
  if (kind === 'ok') {
    totals.answered += n;
    if (backend !== null) {
      totals.answeredBy.set(backend, (totals.answeredBy.get(backend) ?? 0) + n);
    } else {
      totals.unidentified += n;
      totals.unidentifiedValues.add(identifierValue, n);
    }
  } else if (kind === 'timeout') {
    totals.timeout += n;
  } else if (kind === 'network') {
    totals.network += n;
  } else if (kind === GATEWAY_THROTTLED) {
    totals.gatewayThrottled += n;
  } else if (kind === 'http') {
    // Keyed by what the table holds: bounded like every input-keyed map (issue 15).
    const raw = errorKey === '' ? 'unknown' : truncateValue(errorKey, 40);
    const key = raw in totals.errorsByStatus || Object.keys(totals.errorsByStatus).length < MAX_STATUS_KEYS ? raw : 'other';
    totals.errorsByStatus[key] = (totals.errorsByStatus[key] ?? 0) + n;
    if (backend !== null) {
      const perBackend = totals.errorsBy.get(backend) ?? {};
      perBackend[key] = (perBackend[key] ?? 0) + n;
      totals.errorsBy.set(backend, perBackend);
    }
  }
}

function addToBin(bins: Map<number, MutableBin>, startMs: number, isOk: boolean, backend: string | null, n: number): void {
  const bin = bins.get(startMs) ?? { answered: {}, unidentified: 0, failed: 0 };
  bins.set(startMs, bin);
  if (!isOk) bin.failed += n;
  else if (backend === null) bin.unidentified += n;
  else bin.answered[backend] = (bin.answered[backend] ?? 0) + n;
}

function toBins(bins: Map<number, MutableBin>): EvidenceBin[] {
  return [...bins.entries()]
    .sort(([a], [b]) => a - b)
    .map(([startMs, bin]) => ({ startMs, answered: bin.answered, unidentified: bin.unidentified, failed: bin.failed }));
}

function toBackendEvidence(
  backendNames: readonly string[],
  totals: Totals,
  latencyBy: ReadonlyMap<string, { readonly p50: number | null; readonly p95: number | null }>,
): BackendEvidence[] {
  return backendNames.map((name) => ({
    backend: name,
    answered: totals.answeredBy.get(name) ?? 0,
    errorsByStatus: totals.errorsBy.get(name) ?? {},
    latencyP50InMs: latencyBy.get(name)?.p50 ?? null,
    latencyP95InMs: latencyBy.get(name)?.p95 ?? null,
  }));
}

function degradedText(outcomes: readonly QueryOutcome[], notes: readonly string[] = []): string | undefined {
  const messages = [...outcomes.flatMap((outcome) => (outcome.kind === 'ok' ? [] : [outcome.message])), ...notes];
  return messages.length === 0 ? undefined : `Log data incomplete: ${messages.join('; ')}`;
}

/** Waits for every query (no unhandled rejection), then rethrows the first failure. */
async function settleAll<T extends readonly Promise<QueryOutcome>[]>(promises: T): Promise<{ -readonly [K in keyof T]: QueryOutcome }> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<QueryOutcome>).value) as { -readonly [K in keyof T]: QueryOutcome };
}

function firstTable(tables: readonly LogsTable[] | undefined): LogsTable | undefined {
  return tables?.[0];
}

function missingColumns(table: LogsTable, expected: readonly string[]): string[] {
  const present = new Set(table.columnDescriptors.map((column) => column.name));
  return expected.filter((name) => !present.has(name));
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/** Member host → backend name; a host shared by several members maps to nothing (ambiguous). */
function hostLookup(pool: ResolvedPool): Map<string, string> {
  const owners = new Map<string, string[]>();
  for (const backend of pool.backends) {
    const host = hostOf(backend.url);
    if (host !== null) owners.set(host, [...(owners.get(host) ?? []), backend.name]);
  }
  return new Map([...owners.entries()].filter(([, names]) => names.length === 1).map(([host, names]) => [host, names[0]!]));
}

function numberField(value: unknown, field: string): number | undefined {
  const candidate = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
  return typeof candidate === 'number' ? candidate : undefined;
}

function stringField(value: unknown, field: string): string | undefined {
  const candidate = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
  return typeof candidate === 'string' && candidate !== '' ? candidate : undefined;
}

/** The `error.code` of the service's error body, which the SDK attaches as `details`. */
function serviceErrorCode(value: unknown): string | undefined {
  const details = typeof value === 'object' && value !== null ? (value as { details?: unknown }).details : undefined;
  const error = typeof details === 'object' && details !== null ? (details as { error?: unknown }).error : undefined;
  return stringField(error, 'code');
}

const slots = new WeakMap<LogsQueryClient, { inFlight: number; waiting: (() => void)[] }>();

/**
 * Waits for a free query slot of `client` (a FIFO semaphore shared by every source using the client), so a
 * report's 10 queries never exceed the service's ~5 concurrent queries per user.
 */
export async function acquireSlot(client: LogsQueryClient, limit: number, signal: AbortSignal | undefined): Promise<() => void> {
  signal?.throwIfAborted();
  const state = slots.get(client) ?? { inFlight: 0, waiting: [] };
  slots.set(client, state);
  if (state.inFlight >= limit) {
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        state.waiting = state.waiting.filter((w) => w !== wake);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      state.waiting.push(wake);
    });
  } else {
    state.inFlight += 1;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = state.waiting.shift();
    // The slot passes straight to the next waiter; inFlight stays the same.
    if (next !== undefined) next();
    else state.inFlight -= 1;
  };
}

/**
 * Abort signals per in-flight call of one client, applied by a policy added once to the client's pipeline
 * (before the retry policy, so a retry stops as soon as the signal aborts).
 */
export function signalRegistry(client: LogsQueryClient): Map<string, AbortSignal> {
  const existing = registries.get(client);
  if (existing !== undefined) return existing;
  const registry = new Map<string, AbortSignal>();
  const policy: PipelinePolicy = {
    name: 'apimPoolVerifierAbortSignal',
    sendRequest(request, next) {
      const callId = request.headers.get(SIGNAL_HEADER);
      if (callId !== undefined) {
        request.headers.delete(SIGNAL_HEADER);
        const callSignal = registry.get(callId);
        if (callSignal !== undefined) {
          const existing = request.abortSignal;
          request.abortSignal = existing instanceof AbortSignal ? AbortSignal.any([existing, callSignal]) : callSignal;
        }
      }
      return next(request);
    },
  };
  client.pipeline.addPolicy(policy, { phase: 'Serialize' });
  registries.set(client, registry);
  return registry;
}
