import { kqlString, KqlValueError } from '../telemetry/kqlString';
import { QUERY_MARKER, TARGET_HOST_REGEX } from '../telemetry/queries';

/** Where APIM's gateway logs are: `ApiManagementGatewayLogs` (resource-specific) or `AzureDiagnostics`. */
export type GatewayLogsTable = 'resource-specific' | 'azure-diagnostics';

/** The query's name in its marker comment (`// apim-pool-verifier:gatewayAttempts`). */
export const GATEWAY_ATTEMPTS_QUERY_NAME = 'gatewayAttempts';

/** Columns the query returns; the reader checks them so a changed table never reads as zeros. */
export const GATEWAY_ATTEMPTS_COLUMNS = ['targetHost', 'backendId', 'attempts', 'throttled429', 'serverErrors'] as const;

/** Most (host, backend id) groups returned; more would mean the filter matched other APIs' backends. */
export const MAX_ATTEMPT_GROUPS = 500;

/**
 * What APIM's gateway logs can tell about backend calls (Reference: "API Management gateway log schema"; Azure
 * Monitor table reference `ApiManagementGatewayLogs`):
 * - known: one row per client request ("the following properties are logged for each API request") with one
 *   backend call's `BackendUrl`, `BackendId` and `BackendResponseCode` ("code of the HTTP response received from a
 *   backend"); `BackendTime` is the time of all backend I/O of the request;
 * - not known: the schema has no column per attempt and no retry count, so with a `retry` policy the calls before
 *   the recorded one (e.g. a 429 retried on another member) leave no trace; which call the row records is not
 *   documented (the one whose answer the gateway used is assumed). `Errors` / `LastErrorReason` describe policy
 *   and gateway errors, not a backend's answer, so a 429 that a retry recovered from is not there either;
 * - a request the gateway answered without calling a backend (a pool with every member's breaker open) has no
 *   `BackendUrl` and no `BackendResponseCode`: it names no member and is not counted.
 * So `attempts` here counts client requests whose recorded backend call went to a member, and `throttled429` those
 * whose recorded answer was 429 (the retries exhausted, or no retry): a lower bound of the member's 429s.
 */
const SOURCES: Readonly<Record<GatewayLogsTable, string>> = {
  'resource-specific': `let calls = ApiManagementGatewayLogs
| where isempty(apiId) or ApiId == apiId
| project targetHost = tolower(extract(@'${TARGET_HOST_REGEX}', 1, BackendUrl)), backendId = tostring(BackendId), code = toint(BackendResponseCode);`,
  'azure-diagnostics': `let calls = AzureDiagnostics
| where ResourceProvider == 'MICROSOFT.APIMANAGEMENT' and Category == 'GatewayLogs'
| where isempty(apiId) or tostring(column_ifexists('apiId_s', '')) == apiId
| project targetHost = tolower(extract(@'${TARGET_HOST_REGEX}', 1, tostring(column_ifexists('backendUrl_s', '')))),
    backendId = tostring(column_ifexists('backendId_s', '')),
    code = toint(column_ifexists('backendResponseCode_d', real(null)));`,
};

const BODY = `calls
| where isnotempty(targetHost) or code > 0
| where isnotempty(apiId) or targetHost in (backendHosts) or backendId in (backendIds)
| summarize attempts = count(), throttled429 = countif(code == 429), serverErrors = countif(code >= 500 and code <= 599) by targetHost, backendId
| top ${MAX_ATTEMPT_GROUPS} by attempts`;

/** Parameters of the query; all produced by the app, all escaped. */
export interface GatewayAttemptsQueryParameters {
  /** Lower-case host names of the pool's members. */
  readonly backendHosts: readonly string[];
  /** The pool's member backend ids. */
  readonly backendIds: readonly string[];
  /** The APIM API id (`ApiId`); empty = rows calling a member host or id, whatever the API. */
  readonly apiId: string;
}

/**
 * Composes the gateway-attempts query (the window is the query's timespan).
 * @throws KqlValueError when a value cannot be embedded, or there is no member host.
 */
export function composeGatewayAttemptsQuery(table: GatewayLogsTable, parameters: GatewayAttemptsQueryParameters): string {
  if (parameters.backendHosts.length === 0) throw new KqlValueError('backend hosts', 'empty list');
  return [
    `${QUERY_MARKER}${GATEWAY_ATTEMPTS_QUERY_NAME}`,
    `let backendHosts = pack_array(${parameters.backendHosts.map((host) => kqlString(host, 'backend host')).join(', ')});`,
    `let backendIds = pack_array(${parameters.backendIds.map((id) => kqlString(id, 'backend id')).join(', ') || "''"});`,
    `let apiId = ${kqlString(parameters.apiId, 'API id')};`,
    SOURCES[table],
    BODY,
  ].join('\n');
}
