import type { TokenCredential } from '@azure/core-auth';
import { LogsQueryClient } from '@azure/monitor-query-logs';

/** Options of {@link createLogsQueryClient}. */
export interface CreateLogsQueryClientOptions {
  /** Token credential with read access to the workspace / App Insights data (e.g. `DefaultAzureCredential`). */
  readonly credential: TokenCredential;
  /** Log Analytics query endpoint including `/v1`, e.g. `https://api.loganalytics.azure.com/v1` (LOGS_ENDPOINT). */
  readonly endpoint?: string;
  /** Token scope; default {@link logsScopeOf} the endpoint. */
  readonly scope?: string;
}

/** Public-cloud hosts of the Logs query API; the SDK's default audience (`api.loganalytics.io`) fits them. */
const PUBLIC_HOSTS = new Set(['api.loganalytics.azure.com', 'api.loganalytics.io']);

/**
 * The token scope for a Logs endpoint: the SDK's default `https://api.loganalytics.io/.default` for the public
 * cloud, else the endpoint's origin + `/.default` (`https://api.loganalytics.us/.default`,
 * `https://api.loganalytics.azure.cn/.default` — docs "Azure Monitor Log Analytics API request format" per cloud),
 * so a sovereign cloud's endpoint never gets a public-cloud token.
 */
export function logsScopeOf(endpoint: string): string {
  const url = new URL(endpoint);
  return PUBLIC_HOSTS.has(url.hostname.toLowerCase()) ? 'https://api.loganalytics.io/.default' : `${url.origin}/.default`;
}

/**
 * Builds the Azure Monitor Logs query client (`@azure/monitor-query-logs`). The endpoint must be https: the SDK
 * refuses to send a bearer token over http, even to a local fake.
 * @throws TypeError when the endpoint is not an https URL.
 */
export function createLogsQueryClient(options: CreateLogsQueryClientOptions): LogsQueryClient {
  if (options.endpoint === undefined) {
    return new LogsQueryClient(options.credential);
  }
  let url: URL;
  try {
    url = new URL(options.endpoint);
  } catch (error) {
    throw new TypeError('Logs endpoint is not a URL', { cause: error });
  }
  if (url.protocol !== 'https:') {
    throw new TypeError(`Logs endpoint must be https (got ${url.protocol})`);
  }
  return new LogsQueryClient(options.credential, {
    endpoint: options.endpoint.replace(/\/+$/, ''),
    credentials: { scopes: [options.scope ?? logsScopeOf(options.endpoint)] },
  });
}
