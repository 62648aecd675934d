import { KqlValueError, kqlDatetime, kqlString, kqlTimespanMs } from './kqlString';
import { telemetryNames } from './telemetryNames';

/**
 * The KQL this verifier runs, as named constants. Two schema flavours of the same Application Insights data:
 * - `classic`: querying the App Insights resource (`dependencies`: `timestamp`, `name`, `target`, `resultCode`,
 *   `duration`, `customDimensions`, `cloud_RoleName`, `itemCount` …);
 * - `workspace`: querying the Log Analytics workspace of a workspace-based resource (`AppDependencies`:
 *   `TimeGenerated`, `Name`, `Target`, `ResultCode`, `DurationMs`, `Properties`, `AppRoleName`, `ItemCount` …).
 * Probes, run markers and APIM's backend calls are all dependencies; the verdict event is written, not read.
 *
 * Each query = a marker comment + a `let` prelude of parameters + a flavour-specific source that projects the
 * same normalised columns + a flavour-free aggregation body. The time window goes through the client's
 * `timespan` option (which bounds what the service scans); probe queries also filter on the probe's exact
 * start time, with the window bounds as app-produced datetime literals. Every aggregation happens in Kusto, so
 * the rows returned grow with backends × bins (× runs for the runs queries), never with probes.
 */
export type LogsSchemaFlavour = 'classic' | 'workspace';

export type ProbeQueryName = 'probeSummary' | 'probeLatency' | 'probeBins' | 'probeRuns' | 'runStates';
export type TrafficQueryName = 'trafficSummary' | 'trafficLatency' | 'trafficBins';
export type QueryName = ProbeQueryName | TrafficQueryName;

/** Values embedded in the prelude of the probe queries; all produced by the app, all escaped. */
export interface ProbeQueryParameters {
  readonly poolName: string;
  /**
   * The APIM service the probes went through (`apimService` dimension): several verifiers may share one App
   * Insights resource, and the same pool name in two services must not merge their evidence.
   */
  readonly apimService: string;
  readonly cloudRoleName: string;
  /**
   * Runs whose records are still arriving (ingestion delay): their probes are left out of every count until the
   * finish marker and all `probesSent` probes are in. At most {@link MAX_EXCLUDED_RUNS}.
   */
  readonly excludedRunIds?: readonly string[];
  readonly binInMs: number;
  /**
   * The window, epoch ms (`from` inclusive, `to` exclusive). Probes are filtered on their exact start time
   * (`startedAtMs` dimension) because the item timestamp can be 1 ms early: the exporter converts the start time
   * through float nanoseconds. Bins start at `windowStartMs + k·binInMs`, as the local store bins.
   */
  readonly windowStartMs: number;
  readonly windowEndMs: number;
}

/** Values embedded in the prelude of the all-traffic queries. */
export interface TrafficQueryParameters {
  /** Lower-case host names of the pool's members (from their runtime URLs). */
  readonly backendHosts: readonly string[];
  /** The pool's member backend ids (gateway logs: `BackendId` may name the member). */
  readonly backendIds?: readonly string[];
  /** The APIM API id whose requests count (gateway logs: `ApiId`); empty = every API calling a member host. */
  readonly apiId?: string;
  /** Cloud role name of this verifier: its own probe dependencies are not APIM's traffic (App Insights source). */
  readonly excludeRoleName?: string;
  /** Name of the identifying response header, e.g. `x-ms-region` (APIM logs it as `Response-<name>`). */
  readonly headerName: string;
  readonly binInMs: number;
  /** Bins start at `windowStartMs + k·binInMs`; the window itself is the query's timespan. */
  readonly windowStartMs: number;
}

/** Most runs a probe query may leave out as still arriving (a timer run every minute, 15-minute grace: 15). */
export const MAX_EXCLUDED_RUNS = 200;

/** A run id as a JSON string literal for `dynamic([...])`; only printable ids of the verifier's own shape. */
function jsonStringLiteral(runId: string): string {
  if (typeof runId !== 'string' || !/^[\x20-\x7e]{1,128}$/.test(runId)) {
    throw new KqlValueError('run id', 'must be 1–128 printable ASCII characters');
  }
  return JSON.stringify(runId);
}

/** Prefix of the marker comment that starts every query (fakes and logs use it to tell queries apart). */
export const QUERY_MARKER = '// apim-pool-verifier:';

const PROBE = kqlString(telemetryNames.probe);
const RUN_STARTED = kqlString(telemetryNames.runStarted);
const RUN_FINISHED = kqlString(telemetryNames.runFinished);

/** `let probes`: this verifier's probe dependencies, normalised. */
export const PROBE_SOURCE: Readonly<Record<LogsSchemaFlavour, string>> = {
  classic: `let probes = dependencies
| where name == ${PROBE} and cloud_RoleName == roleName
| where tostring(customDimensions.pool) == poolName and tostring(customDimensions.apimService) == apimService
| where tostring(customDimensions.runId) !in (excludedRuns)
| extend startedAt = coalesce(unixtime_milliseconds_todatetime(tolong(customDimensions.startedAtMs)), timestamp)
| where startedAt >= windowStart and startedAt < windowEnd
| project timestamp = startedAt,
    runId = tostring(customDimensions.runId),
    backend = tostring(customDimensions.backend),
    probeKind = tostring(customDimensions.kind),
    status = tostring(customDimensions.status),
    errorCode = tostring(customDimensions.errorCode),
    identifierValue = tostring(customDimensions.identifierValue),
    latencyInMs = todouble(customDimensions.latencyInMs),
    totalTokens = tolong(customDimensions.totalTokens),
    probeIndex = tolong(customDimensions.probeIndex),
    itemCount
// A record can be ingested twice (SDK retry after a lost answer, offline resend): one row per probe.
| summarize arg_max(itemCount, *) by runId, probeIndex;`,
  workspace: `let probes = AppDependencies
| where Name == ${PROBE} and AppRoleName == roleName
| where tostring(Properties.pool) == poolName and tostring(Properties.apimService) == apimService
| where tostring(Properties.runId) !in (excludedRuns)
| extend startedAt = coalesce(unixtime_milliseconds_todatetime(tolong(Properties.startedAtMs)), TimeGenerated)
| where startedAt >= windowStart and startedAt < windowEnd
| project timestamp = startedAt,
    runId = tostring(Properties.runId),
    backend = tostring(Properties.backend),
    probeKind = tostring(Properties.kind),
    status = tostring(Properties.status),
    errorCode = tostring(Properties.errorCode),
    identifierValue = tostring(Properties.identifierValue),
    latencyInMs = todouble(Properties.latencyInMs),
    totalTokens = tolong(Properties.totalTokens),
    probeIndex = tolong(Properties.probeIndex),
    itemCount = ItemCount
// A record can be ingested twice (SDK retry after a lost answer, offline resend): one row per probe.
| summarize arg_max(itemCount, *) by runId, probeIndex;`,
};

/**
 * `let runEvents`: run start/finish markers of this pool (dependencies with exact timestamps), normalised.
 * Both markers carry the run's `startedAtMs`; a run belongs to the window by that start.
 */
export const RUN_EVENT_SOURCE: Readonly<Record<LogsSchemaFlavour, string>> = {
  classic: `let runEvents = dependencies
| where name in (${RUN_STARTED}, ${RUN_FINISHED}) and cloud_RoleName == roleName
| where tostring(customDimensions.pool) == poolName and tostring(customDimensions.apimService) == apimService
| project eventName = name,
    runId = tostring(customDimensions.runId),
    state = tostring(customDimensions.state),
    startedAtMs = tolong(customDimensions.startedAtMs),
    finishedAtMs = tolong(customDimensions.finishedAtMs),
    probesSent = tolong(customDimensions.probesSent);
let runProbeCounts = dependencies
| where name == ${PROBE} and cloud_RoleName == roleName
| where tostring(customDimensions.pool) == poolName and tostring(customDimensions.apimService) == apimService
| summarize by runId = tostring(customDimensions.runId), probeIndex = tolong(customDimensions.probeIndex)
| summarize received = count() by runId;`,
  workspace: `let runEvents = AppDependencies
| where Name in (${RUN_STARTED}, ${RUN_FINISHED}) and AppRoleName == roleName
| where tostring(Properties.pool) == poolName and tostring(Properties.apimService) == apimService
| project eventName = Name,
    runId = tostring(Properties.runId),
    state = tostring(Properties.state),
    startedAtMs = tolong(Properties.startedAtMs),
    finishedAtMs = tolong(Properties.finishedAtMs),
    probesSent = tolong(Properties.probesSent);
let runProbeCounts = AppDependencies
| where Name == ${PROBE} and AppRoleName == roleName
| where tostring(Properties.pool) == poolName and tostring(Properties.apimService) == apimService
| summarize by runId = tostring(Properties.runId), probeIndex = tolong(Properties.probeIndex)
| summarize received = count() by runId;`,
};

/**
 * Host part of a dependency `target`, whether it is `host`, `host:port`, `host | name` or a URL: an optional
 * scheme, then everything up to `:`, `/`, `|` or whitespace. A KQL verbatim string; RE2 and JavaScript read it
 * the same way (tested).
 */
export const TARGET_HOST_REGEX = String.raw`^(?:[A-Za-z][A-Za-z0-9+.-]*://)?([^:/|\s]+)`;
const TARGET_HOST_PATTERN = `@'${TARGET_HOST_REGEX}'`;

/** Where all-traffic rows come from: App Insights dependencies (either schema) or APIM's resource logs. */
export type TrafficSourceKind = LogsSchemaFlavour | 'gateway-logs' | 'azure-diagnostics';

/**
 * `let traffic`: real requests to the pool's members, normalised to `timestamp, targetHost, identifierValue,
 * resultCode, latencyInMs, itemCount`.
 * - App Insights (`classic`/`workspace`): APIM's backend-call dependencies to the member hosts (not this
 *   verifier's own role); usually sampled, so every count is `sum(itemCount)`.
 * - `gateway-logs`: `ApiManagementGatewayLogs` (resource-specific diagnostic setting), one row per client
 *   request ("For each API request, the following properties are logged", Reference: API Management resource
 *   log schema), not sampled by App Insights (itemCount 1), filtered by `ApiId`. `BackendUrl` is the URL the
 *   request was sent to, so its host names the member; `BackendId` ("backend entity identifier of the current
 *   request") is the identifier value, matched against member ids (with a pool it may name the pool instead —
 *   not documented — hence the host first). With a retry policy one row still stands for one client request;
 *   which attempt its backend fields describe is not documented (the answering one is assumed).
 * - `azure-diagnostics`: the same logs in `AzureDiagnostics` (Category `GatewayLogs`, columns `<name>_<type>`);
 *   `column_ifexists` keeps the query valid before a column has ever been written.
 */
export const TRAFFIC_SOURCE: Readonly<Record<TrafficSourceKind, string>> = {
  classic: `let traffic = dependencies
| where cloud_RoleName != excludedRole
| extend targetHost = tolower(extract(${TARGET_HOST_PATTERN}, 1, target))
| where targetHost in (backendHosts)
| project timestamp, targetHost,
    identifierValue = tostring(customDimensions[headerKey]),
    resultCode = tostring(resultCode),
    latencyInMs = todouble(duration),
    itemCount = tolong(itemCount);`,
  workspace: `let traffic = AppDependencies
| where AppRoleName != excludedRole
| extend targetHost = tolower(extract(${TARGET_HOST_PATTERN}, 1, Target))
| where targetHost in (backendHosts)
| project timestamp = TimeGenerated, targetHost,
    identifierValue = tostring(Properties[headerKey]),
    resultCode = tostring(ResultCode),
    latencyInMs = todouble(DurationMs),
    itemCount = tolong(ItemCount);`,
  'gateway-logs': `let traffic = ApiManagementGatewayLogs
| where isempty(apiId) or ApiId == apiId
| extend targetHost = tolower(extract(${TARGET_HOST_PATTERN}, 1, BackendUrl))
| where isnotempty(apiId) or targetHost in (backendHosts) or BackendId in (backendIds)
| project timestamp = TimeGenerated, targetHost,
    identifierValue = tostring(BackendId),
    resultCode = iff(isnull(BackendResponseCode) or BackendResponseCode == 0, '', tostring(BackendResponseCode)),
    latencyInMs = todouble(BackendTime),
    itemCount = 1;`,
  'azure-diagnostics': `let traffic = AzureDiagnostics
| where ResourceProvider == 'MICROSOFT.APIMANAGEMENT' and Category == 'GatewayLogs'
| extend rowApiId = tostring(column_ifexists('apiId_s', '')), backendUrl = tostring(column_ifexists('backendUrl_s', '')),
    backendId = tostring(column_ifexists('backendId_s', '')), backendCode = todouble(column_ifexists('backendResponseCode_d', real(null)))
| where isempty(apiId) or rowApiId == apiId
| extend targetHost = tolower(extract(${TARGET_HOST_PATTERN}, 1, backendUrl))
| where isnotempty(apiId) or targetHost in (backendHosts) or backendId in (backendIds)
| project timestamp = TimeGenerated, targetHost,
    identifierValue = backendId,
    resultCode = iff(isnull(backendCode) or backendCode == 0, '', tostring(tolong(backendCode))),
    latencyInMs = todouble(column_ifexists('backendTime_d', real(null))),
    itemCount = 1;`,
};

/**
 * Probe counts per identity and outcome. `errorKey` is the status of an HTTP failure (or its error code);
 * `answerValue` keeps the raw identifier of 2xx answers only (to explain unidentified ones). `represented` is
 * the sum of `itemCount`: above `probes` when App Insights ingestion sampling dropped some of our records.
 * Columns: backend, probeKind, errorKey, answerValue, probes, tokens, represented.
 */
export const PROBE_SUMMARY_QUERY = `probes
| extend errorKey = case(probeKind != 'http', '', status != '', status, errorCode != '', errorCode, 'unknown'),
    answerValue = iff(probeKind == 'ok', identifierValue, '')
| summarize probes = count(), tokens = sum(totalTokens), represented = sum(itemCount) by backend, probeKind, errorKey, answerValue`;

/** Latency percentiles per identified backend (all outcomes). Columns: backend, p50, p95. */
export const PROBE_LATENCY_QUERY = `probes
| where isnotempty(backend)
| summarize p50 = percentile(latencyInMs, 50), p95 = percentile(latencyInMs, 95) by backend`;

/** Probe counts per time bin. Columns: startTime, backend, probeKind, probes. */
export const PROBE_BINS_QUERY = `probes
| summarize probes = count() by startTime = bin_at(timestamp, binSize, windowStart), backend, probeKind`;

/** Probe counts per run. Columns: runId, backend, probeKind, probes, firstProbeAt. */
export const PROBE_RUNS_QUERY = `probes
| summarize probes = count(), firstProbeAt = min(timestamp) by runId, backend, probeKind`;

/**
 * Start/finish state of the runs that started in the window (finish markers after the window end count when
 * the timespan reaches that far), with what the finish marker says was sent (`probesSent`) and how many
 * distinct probes of the run have arrived so far (`received`): a run is complete only when both agree.
 * Duplicated markers count once. Columns: runId, startedAtMs, started, finished, incomplete, probesSent,
 * finishedAtMs, received.
 */
export const RUN_STATES_QUERY = `runEvents
| summarize startedAtMs = max(startedAtMs),
    started = dcountif(eventName, eventName == ${RUN_STARTED}),
    finished = dcountif(eventName, eventName == ${RUN_FINISHED}),
    incomplete = dcountif(eventName, state == 'incomplete'),
    probesSent = max(probesSent),
    finishedAtMs = max(finishedAtMs) by runId
| where unixtime_milliseconds_todatetime(startedAtMs) >= windowStart and unixtime_milliseconds_todatetime(startedAtMs) < windowEnd
| join kind=leftouter runProbeCounts on runId
| project runId, startedAtMs, started, finished, incomplete, probesSent, finishedAtMs, received = coalesce(received, 0)`;

/**
 * Requests per host, identifier value and result code, weighted by `itemCount` (a sampled row stands for
 * itemCount requests); `rows` is the unweighted count, so the reader can say how much is estimated.
 * Columns: targetHost, identifierValue, resultCode, requests, rows.
 */
export const TRAFFIC_SUMMARY_QUERY = `traffic
| summarize requests = sum(itemCount), rows = count() by targetHost, identifierValue, resultCode`;

/** Latency percentiles per host and identifier value (weighted). Columns: targetHost, identifierValue, p50, p95, requests. */
export const TRAFFIC_LATENCY_QUERY = `traffic
| summarize p50 = percentilew(latencyInMs, itemCount, 50), p95 = percentilew(latencyInMs, itemCount, 95), requests = sum(itemCount) by targetHost, identifierValue`;

/** Requests per time bin (weighted). Columns: startTime, targetHost, identifierValue, isOk, requests. */
export const TRAFFIC_BINS_QUERY = `traffic
| extend isOk = resultCode matches regex @'^2\\d\\d$'
| summarize requests = sum(itemCount) by startTime = bin_at(timestamp, binSize, windowStart), targetHost, identifierValue, isOk`;

/** The columns each query returns (the reader checks them, so a changed query or service never reads as zeros). */
export const QUERY_COLUMNS: Readonly<Record<QueryName, readonly string[]>> = {
  probeSummary: ['backend', 'probeKind', 'errorKey', 'answerValue', 'probes', 'tokens', 'represented'],
  probeLatency: ['backend', 'p50', 'p95'],
  probeBins: ['startTime', 'backend', 'probeKind', 'probes'],
  probeRuns: ['runId', 'backend', 'probeKind', 'probes', 'firstProbeAt'],
  runStates: ['runId', 'startedAtMs', 'started', 'finished', 'incomplete', 'probesSent', 'finishedAtMs', 'received'],
  trafficSummary: ['targetHost', 'identifierValue', 'resultCode', 'requests', 'rows'],
  trafficLatency: ['targetHost', 'identifierValue', 'p50', 'p95', 'requests'],
  trafficBins: ['startTime', 'targetHost', 'identifierValue', 'isOk', 'requests'],
};

const PROBE_BODIES: Readonly<Record<ProbeQueryName, string>> = {
  probeSummary: PROBE_SUMMARY_QUERY,
  probeLatency: PROBE_LATENCY_QUERY,
  probeBins: PROBE_BINS_QUERY,
  probeRuns: PROBE_RUNS_QUERY,
  runStates: RUN_STATES_QUERY,
};

const TRAFFIC_BODIES: Readonly<Record<TrafficQueryName, string>> = {
  trafficSummary: TRAFFIC_SUMMARY_QUERY,
  trafficLatency: TRAFFIC_LATENCY_QUERY,
  trafficBins: TRAFFIC_BINS_QUERY,
};

/**
 * Composes one probe query: marker, escaped parameters, source for the flavour, body.
 * @throws KqlValueError when a parameter cannot be embedded (see `kqlString`).
 */
export function composeProbeQuery(name: ProbeQueryName, flavour: LogsSchemaFlavour, parameters: ProbeQueryParameters): string {
  const runIds = parameters.excludedRunIds ?? [];
  if (runIds.length > MAX_EXCLUDED_RUNS) {
    throw new KqlValueError('excluded runs', `at most ${MAX_EXCLUDED_RUNS}`);
  }
  // Inside dynamic([...]) only JSON literals are allowed: a run id is embedded as a JSON string.
  const excluded = runIds.map((runId) => jsonStringLiteral(runId));
  const prelude = [
    `${QUERY_MARKER}${name}`,
    `let poolName = ${kqlString(parameters.poolName, 'pool name')};`,
    `let apimService = ${kqlString(parameters.apimService, 'APIM service')};`,
    `let roleName = ${kqlString(parameters.cloudRoleName, 'cloud role name')};`,
    `let excludedRuns = dynamic([${excluded.join(', ')}]);`,
    `let binSize = ${kqlTimespanMs(parameters.binInMs, 'bin size')};`,
    `let windowStart = ${kqlDatetime(parameters.windowStartMs, 'window start')};`,
    `let windowEnd = ${kqlDatetime(parameters.windowEndMs, 'window end')};`,
  ];
  const source = name === 'runStates' ? RUN_EVENT_SOURCE[flavour] : PROBE_SOURCE[flavour];
  return [...prelude, source, PROBE_BODIES[name]].join('\n');
}

/**
 * Composes one all-traffic query.
 * @throws KqlValueError when a parameter cannot be embedded, or `backendHosts` is empty.
 */
export function composeTrafficQuery(
  name: TrafficQueryName,
  flavour: TrafficSourceKind,
  parameters: TrafficQueryParameters,
): string {
  if (parameters.backendHosts.length === 0) {
    throw new KqlValueError('backend hosts', 'empty list');
  }
  const hosts = parameters.backendHosts.map((host) => kqlString(host, 'backend host')).join(', ');
  const prelude = [
    `${QUERY_MARKER}${name}`,
    `let backendHosts = pack_array(${hosts});`,
    `let backendIds = dynamic([${(parameters.backendIds ?? []).map((id) => jsonStringLiteral(id)).join(', ')}]);`,
    `let apiId = ${kqlString(parameters.apiId ?? '', 'API id')};`,
    `let excludedRole = ${kqlString(parameters.excludeRoleName ?? '', 'cloud role name')};`,
    `let headerKey = ${kqlString(`Response-${parameters.headerName}`, 'header name')};`,
    `let binSize = ${kqlTimespanMs(parameters.binInMs, 'bin size')};`,
    `let windowStart = ${kqlDatetime(parameters.windowStartMs, 'window start')};`,
  ];
  return [...prelude, TRAFFIC_SOURCE[flavour], TRAFFIC_BODIES[name]].join('\n');
}

/** Reads the query name from a composed query's marker comment (null if absent). */
export function queryNameOf(query: string): QueryName | null {
  const firstLine = query.split('\n', 1)[0] ?? '';
  if (!firstLine.startsWith(QUERY_MARKER)) {
    return null;
  }
  const name = firstLine.slice(QUERY_MARKER.length).trim();
  return name in PROBE_BODIES || name in TRAFFIC_BODIES ? (name as QueryName) : null;
}
