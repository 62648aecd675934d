import { AZURE_HOST_MARKERS, detectEnvironment, STORAGE_IDENTITY_KEYS } from './azureSettings';
import { AuthenticationStringError, parseAuthenticationString } from '../telemetry/parseAuthenticationString';
import { ConfigError } from './ConfigError';
import { SECRET_KEYS, SettingsReader } from './SettingsReader';
import type { Settings } from './types';
import { unknownSettingIssues } from './unknownSettings';

/** Every environment variable `loadConfig` reads (the `Values` of `local.settings.json` / App Settings). */
export const SETTING_KEYS = Object.freeze([
  'VERIFIER_ENVIRONMENT',
  'POOL_DEFINITION_PATH',
  'APIM_GATEWAY_URL',
  'APIM_SUBSCRIPTION_KEY',
  'DEPLOY_MODE',
  'DEPLOY_ON_STARTUP',
  'DEPLOY_DEADLINE_SECONDS',
  'ARM_ENDPOINT',
  'ARM_API_VERSION',
  'APIM_SUBSCRIPTION_ID',
  'APIM_RESOURCE_GROUP',
  'APIM_SERVICE_NAME',
  'APIM_API_ID',
  'AZURE_CLIENT_ID',
  'PROBE_SCHEDULE',
  'PROBE_MAX_REQUESTS',
  'PROBE_CONCURRENCY',
  'PROBE_TIMEOUT_MS',
  'PROBE_SEQUENTIAL',
  'VERDICT_ALPHA_RUN',
  'VERDICT_ALPHA_HOUR',
  'VERDICT_ALPHA_DAY',
  'VERDICT_TOLERANCE_POINTS',
  'VERDICT_DISPERSION_WARN',
  'REPORT_PRIMARY_WINDOW',
  'REPORT_BIN_MINUTES',
  'STORE_PATH',
  'TELEMETRY_CLOUD_ROLE_NAME',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'LOGS_SOURCE',
  'LOGS_WORKSPACE_ID',
  'APPINSIGHTS_RESOURCE_ID',
  'LOGS_ENDPOINT',
  'LOGS_QUERY_TIMEOUT_MS',
  'ALL_TRAFFIC_MODE',
  'ALL_TRAFFIC_SOURCE',
  'GATEWAY_LOGS_TABLE',
  'PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE',
  'REPORT_CACHE_SECONDS',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'ALERT_WEBHOOK_URL',
  'ALERT_WEBHOOK_FORMAT',
  'ALERT_REMINDER_MINUTES',
  'ALERT_STATE_STORE',
  'AzureWebJobsStorage',
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__tableServiceUri',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'AzureWebJobsStorage__queueServiceUri',
] as const);

/** A key of `SETTING_KEYS`. */
export type SettingKey = (typeof SETTING_KEYS)[number];

/**
 * Keys the Functions host or platform sets or reads; they may appear in `local.settings.json`. `loadConfig` reads only
 * the platform's WEBSITE_INSTANCE_ID / WEBSITE_SITE_NAME (to detect the azure environment).
 */
export const HOST_KEYS = Object.freeze(['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsFeatureFlags', ...AZURE_HOST_MARKERS] as const);

export { SECRET_KEYS };

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Settings the pool definitions name (`gateway.subscriptionKeySetting`, `alerts.webhookUrlSetting`). */
  readonly definitionSettings?: readonly string[];
  /** Every pool definition gives its own `gateway.url`: APIM_GATEWAY_URL is then not required in azure. */
  readonly everyPoolHasGateway?: boolean;
  /** Every pool definition names its key setting: APIM_SUBSCRIPTION_KEY is then not required. */
  readonly everyPoolNamesKey?: boolean;
}

/** Defaults of every setting that has one (see `Settings` in `./types`). */
export const SETTING_DEFAULTS = Object.freeze({
  POOL_DEFINITION_PATH: 'examples/lab-pool.json',
  DEPLOY_MODE: 'deploy',
  DEPLOY_ON_STARTUP: true,
  DEPLOY_DEADLINE_SECONDS: 120,
  ARM_ENDPOINT: 'https://management.azure.com',
  PROBE_SCHEDULE: '0 */5 * * * *',
  PROBE_MAX_REQUESTS: 100,
  PROBE_CONCURRENCY: 4,
  PROBE_TIMEOUT_MS: 30_000,
  PROBE_SEQUENTIAL: true,
  VERDICT_ALPHA_RUN: 1e-4,
  VERDICT_ALPHA_HOUR: 2e-4,
  VERDICT_ALPHA_DAY: 1e-3,
  VERDICT_TOLERANCE_POINTS: 5,
  VERDICT_DISPERSION_WARN: 1.25,
  REPORT_PRIMARY_WINDOW: 'hour',
  REPORT_BIN_MINUTES: 5,
  STORE_PATH: '.data/verifier.sqlite',
  TELEMETRY_CLOUD_ROLE_NAME: 'apim-pool-verifier',
  LOGS_SOURCE: 'local',
  LOGS_ENDPOINT: 'https://api.loganalytics.azure.com/v1',
  LOGS_QUERY_TIMEOUT_MS: 30_000,
  ALL_TRAFFIC_MODE: false,
  GATEWAY_LOGS_TABLE: 'resource-specific',
  PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE: false,
  REPORT_CACHE_SECONDS: 60,
  ALERT_WEBHOOK_FORMAT: 'generic',
  ALERT_REMINDER_MINUTES: 240,
} as const);

const SERVICE_NAME = /^(?=.{1,50}$)[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;
const API_ID = /^[^<>*%&:\\?/+#\s]{1,256}$/;
const GUID_TEXT = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const APP_INSIGHTS_ID = new RegExp(
  `^/subscriptions/${GUID_TEXT}/resourceGroups/[^/]+/providers/Microsoft\\.Insights/components/[^/]+$`,
  'i',
);
const DEVELOPMENT_STORAGE = /^UseDevelopmentStorage=true(;|$)/i;
const ALPHA_RANGE = { min: 0, max: 0.5, exclusive: true } as const;

/**
 * Reads every setting once from `env` (App Settings in Azure, `Values` of `local.settings.json` locally, or a
 * plain object in tests), applies the defaults documented on `Settings`, and returns a deeply frozen object.
 *
 * Rules beyond the per-key types:
 * - Values are trimmed; empty or blank values count as absent.
 * - `environment` comes from `detectEnvironment` (VERIFIER_ENVIRONMENT, else `azure` inside a Function App, else
 *   `local`). In azure, APIM_GATEWAY_URL, APIM_SUBSCRIPTION_KEY, POOL_DEFINITION_PATH, a storage account (either
 *   form), APPLICATIONINSIGHTS_CONNECTION_STRING and a Logs source are required, DEPLOY_MODE defaults to
 *   `verify-only` and alert state is always in Tables. APIM_GATEWAY_URL needs APIM_SUBSCRIPTION_KEY everywhere.
 * - A setting that looks like ours (a known prefix) but is not known is an error with a "did you mean".
 * - Integers are decimal digits only; booleans are true/false/1/0/yes/no; URLs are absolute http(s) without
 *   credentials (a trailing `/` is dropped); alphas lie strictly between 0 and 0.5.
 * - PROBE_SCHEDULE is a 6-field NCRONTAB (seconds first); a 5-field cron gets a hint.
 * - LOGS_SOURCE `workspace` needs LOGS_WORKSPACE_ID (a GUID); `appinsights` needs APPINSIGHTS_RESOURCE_ID (an
 *   ARM id of a Microsoft.Insights component).
 * - ALL_TRAFFIC_SOURCE (`gateway-logs` | `appinsights`; ALL_TRAFFIC_MODE=true means `appinsights`) needs a Logs
 *   source (LOGS_SOURCE other than `local`); `gateway-logs` needs LOGS_WORKSPACE_ID (APIM's diagnostic setting
 *   sends its logs to a workspace). PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE needs an all-traffic source.
 * - APPLICATIONINSIGHTS_AUTHENTICATION_STRING is `Authorization=AAD` with an optional `;ClientId=<GUID>`.
 * - ALERT_STATE_STORE defaults to `table` when AzureWebJobsStorage is a real connection string (not
 *   `UseDevelopmentStorage=true`), else `local`; `table` needs AzureWebJobsStorage.
 *
 * @param options.definitionSettings names of settings the pool definitions name (`settingsNamedBy`): known, so not
 *   reported as mistyped settings even with one of our prefixes (`APIM_KEY_GPT4O`). Their values are not read here
 *   (see `resolvePoolSecrets`).
 * @param options.everyPoolHasGateway / options.everyPoolNamesKey when every definition gives its own gateway URL /
 *   names its own key setting, APIM_GATEWAY_URL / APIM_SUBSCRIPTION_KEY are not required (`loadFleetSettings`).
 * @throws ConfigError listing every bad key at once; secret values (APIM_SUBSCRIPTION_KEY, ALERT_WEBHOOK_URL,
 *   APPLICATIONINSIGHTS_CONNECTION_STRING, AzureWebJobsStorage) are never echoed.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, options: LoadConfigOptions = {}): Settings {
  const read = new SettingsReader(env);

  const choice = detectEnvironment(env);
  const environment = choice.environment;
  const azure = environment === 'azure';
  if (choice.invalid !== undefined) read.fail('VERIFIER_ENVIRONMENT', 'must be one of local, azure (embedded is an alias of local)', choice.invalid);
  for (const issue of unknownSettingIssues(env, [...SETTING_KEYS, ...HOST_KEYS, ...(options.definitionSettings ?? [])])) read.fail(issue.key, issue.message);

  const gatewayUrl = read.url('APIM_GATEWAY_URL');
  const gatewayGiven = read.has('APIM_GATEWAY_URL');
  const subscriptionKey = read.string('APIM_SUBSCRIPTION_KEY', undefined, 4096);
  if (azure && !gatewayGiven && options.everyPoolHasGateway !== true) {
    // No silent fallback: in azure a missing gateway is a misconfiguration, never the embedded emulator.
    read.fail('APIM_GATEWAY_URL', `is required in the azure environment (${choice.because})`);
  }
  if ((gatewayGiven || azure) && subscriptionKey === undefined && options.everyPoolNamesKey !== true) {
    read.fail('APIM_SUBSCRIPTION_KEY', azure ? 'is required in the azure environment' : 'is required when APIM_GATEWAY_URL is set');
  }

  if (azure && !read.has('POOL_DEFINITION_PATH')) {
    read.fail('POOL_DEFINITION_PATH', 'is required in the azure environment (the lab pool is never a default there)');
  }
  const poolDefinitionPath = read.string('POOL_DEFINITION_PATH', SETTING_DEFAULTS.POOL_DEFINITION_PATH);

  const deploy: Settings['deploy'] = {
    // Writing to APIM must be chosen explicitly in azure.
    mode: read.choice('DEPLOY_MODE', ['deploy', 'verify-only'] as const, azure ? 'verify-only' : SETTING_DEFAULTS.DEPLOY_MODE),
    onStartup: read.boolean('DEPLOY_ON_STARTUP', SETTING_DEFAULTS.DEPLOY_ON_STARTUP),
    deadlineInSeconds: read.integer('DEPLOY_DEADLINE_SECONDS', SETTING_DEFAULTS.DEPLOY_DEADLINE_SECONDS, 10, 3_600),
    armEndpoint: read.url('ARM_ENDPOINT', SETTING_DEFAULTS.ARM_ENDPOINT),
    armApiVersion: read.matching('ARM_API_VERSION', API_VERSION, 'an api-version like 2024-05-01 or 2023-09-01-preview'),
    subscriptionId: read.guid('APIM_SUBSCRIPTION_ID'),
    resourceGroup: read.matching(
      'APIM_RESOURCE_GROUP',
      RESOURCE_GROUP,
      'a resource group name (1–90 letters, digits, - _ . ( ), not ending with a period)',
    ),
    serviceName: read.matching(
      'APIM_SERVICE_NAME',
      SERVICE_NAME,
      'an APIM service name (1–50 letters, digits and -, starting with a letter)',
    ),
    apiId: read.matching('APIM_API_ID', API_ID, 'an APIM API id (no whitespace or < > * % & : \\ ? / + #)'),
    managedIdentityClientId: read.guid('AZURE_CLIENT_ID'),
  };

  const probe: Settings['probe'] = {
    schedule: read.schedule('PROBE_SCHEDULE', SETTING_DEFAULTS.PROBE_SCHEDULE),
    maxRequests: read.integer('PROBE_MAX_REQUESTS', SETTING_DEFAULTS.PROBE_MAX_REQUESTS, 1, 10_000),
    concurrency: read.integer('PROBE_CONCURRENCY', SETTING_DEFAULTS.PROBE_CONCURRENCY, 1, 64),
    timeoutInMs: read.integer('PROBE_TIMEOUT_MS', SETTING_DEFAULTS.PROBE_TIMEOUT_MS, 100, 300_000),
    sequential: read.boolean('PROBE_SEQUENTIAL', SETTING_DEFAULTS.PROBE_SEQUENTIAL),
  };

  const verdict: Settings['verdict'] = {
    alphaRun: read.number('VERDICT_ALPHA_RUN', SETTING_DEFAULTS.VERDICT_ALPHA_RUN, ALPHA_RANGE),
    alphaHour: read.number('VERDICT_ALPHA_HOUR', SETTING_DEFAULTS.VERDICT_ALPHA_HOUR, ALPHA_RANGE),
    alphaDay: read.number('VERDICT_ALPHA_DAY', SETTING_DEFAULTS.VERDICT_ALPHA_DAY, ALPHA_RANGE),
    toleranceInPoints: read.number('VERDICT_TOLERANCE_POINTS', SETTING_DEFAULTS.VERDICT_TOLERANCE_POINTS, {
      min: 0,
      max: 50,
      exclusive: false,
    }),
    dispersionWarn: read.number('VERDICT_DISPERSION_WARN', SETTING_DEFAULTS.VERDICT_DISPERSION_WARN, {
      min: 1,
      max: 100,
      exclusive: true,
    }),
  };

  const report: Settings['report'] = {
    primaryWindow: read.choice('REPORT_PRIMARY_WINDOW', ['run', 'hour', 'day'] as const, SETTING_DEFAULTS.REPORT_PRIMARY_WINDOW),
    binInMinutes: read.integer('REPORT_BIN_MINUTES', SETTING_DEFAULTS.REPORT_BIN_MINUTES, 1, 1440),
  };

  const storePath = read.string('STORE_PATH', SETTING_DEFAULTS.STORE_PATH);

  const appInsightsConnectionString = read.string('APPLICATIONINSIGHTS_CONNECTION_STRING', undefined, 4096);
  if (appInsightsConnectionString !== undefined && !/(^|;)\s*InstrumentationKey\s*=\s*[^;\s]/i.test(appInsightsConnectionString)) {
    read.fail(
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
      'is not a valid Application Insights connection string (expected InstrumentationKey=…;IngestionEndpoint=…)',
    );
  }

  if (azure && appInsightsConnectionString === undefined) {
    read.fail('APPLICATIONINSIGHTS_CONNECTION_STRING', 'is required in the azure environment (probes are written to Application Insights)');
  }

  const logsSource = read.choice('LOGS_SOURCE', ['local', 'workspace', 'appinsights'] as const, SETTING_DEFAULTS.LOGS_SOURCE);
  if (azure && logsSource === 'local') {
    read.fail(
      'LOGS_SOURCE',
      read.has('LOGS_SOURCE')
        ? 'must be workspace or appinsights in the azure environment (there is no local store)'
        : 'is required in the azure environment: workspace (with LOGS_WORKSPACE_ID) or appinsights (with APPINSIGHTS_RESOURCE_ID)',
      read.raw('LOGS_SOURCE'),
    );
  }
  const workspaceId = read.guid('LOGS_WORKSPACE_ID');
  const appInsightsResourceId = read.matching(
    'APPINSIGHTS_RESOURCE_ID',
    APP_INSIGHTS_ID,
    'the ARM id of an Application Insights resource (/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Insights/components/<name>)',
  );
  if (logsSource === 'workspace' && !read.has('LOGS_WORKSPACE_ID')) {
    read.fail('LOGS_WORKSPACE_ID', 'is required when LOGS_SOURCE is workspace');
  }
  if (logsSource === 'appinsights' && !read.has('APPINSIGHTS_RESOURCE_ID')) {
    read.fail('APPINSIGHTS_RESOURCE_ID', 'is required when LOGS_SOURCE is appinsights');
  }
  const allTrafficMode = read.boolean('ALL_TRAFFIC_MODE', SETTING_DEFAULTS.ALL_TRAFFIC_MODE);
  const namedSource = read.choice('ALL_TRAFFIC_SOURCE', ['none', 'gateway-logs', 'appinsights'] as const);
  const allTrafficSource = namedSource ?? (allTrafficMode ? 'appinsights' : 'none');
  if (allTrafficSource !== 'none' && logsSource === 'local') {
    // Silence here would mean a report without the window the user asked for.
    const key = namedSource === undefined ? 'ALL_TRAFFIC_MODE' : 'ALL_TRAFFIC_SOURCE';
    read.fail(key, `needs a Logs source: set LOGS_SOURCE to workspace or appinsights (it is local, where APIM's own logs do not exist)`);
  }
  if (allTrafficSource === 'gateway-logs' && !read.has('LOGS_WORKSPACE_ID')) {
    read.fail('LOGS_WORKSPACE_ID', "is required when ALL_TRAFFIC_SOURCE is gateway-logs (the workspace APIM's diagnostic setting sends its gateway logs to)");
  }
  const skipProbes = read.boolean('PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE', SETTING_DEFAULTS.PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE);
  if (skipProbes && allTrafficSource === 'none') {
    read.fail('PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE', 'needs ALL_TRAFFIC_SOURCE (gateway-logs or appinsights): without real traffic the probes are the only evidence');
  }
  let ingestionAuthentication: Settings['telemetry']['ingestionAuthentication'];
  try {
    ingestionAuthentication = parseAuthenticationString(read.raw('APPLICATIONINSIGHTS_AUTHENTICATION_STRING'));
  } catch (error) {
    if (!(error instanceof AuthenticationStringError)) throw error;
    read.fail('APPLICATIONINSIGHTS_AUTHENTICATION_STRING', error.message);
  }
  const telemetry: Settings['telemetry'] = {
    cloudRoleName: read.string('TELEMETRY_CLOUD_ROLE_NAME', SETTING_DEFAULTS.TELEMETRY_CLOUD_ROLE_NAME, 256),
    logsSource,
    workspaceId,
    appInsightsResourceId,
    logsEndpoint: read.url('LOGS_ENDPOINT', SETTING_DEFAULTS.LOGS_ENDPOINT),
    logsQueryTimeoutInMs: read.integer('LOGS_QUERY_TIMEOUT_MS', SETTING_DEFAULTS.LOGS_QUERY_TIMEOUT_MS, 1_000, 600_000),
    allTraffic: allTrafficSource !== 'none',
    allTrafficSource,
    gatewayLogsTable: read.choice('GATEWAY_LOGS_TABLE', ['resource-specific', 'azure-diagnostics'] as const, SETTING_DEFAULTS.GATEWAY_LOGS_TABLE),
    skipProbesWhenTrafficConclusive: skipProbes,
    reportCacheInSeconds: read.integer('REPORT_CACHE_SECONDS', SETTING_DEFAULTS.REPORT_CACHE_SECONDS, 0, 3600),
    ingestionAuthentication,
  };

  const webhookUrl = read.url('ALERT_WEBHOOK_URL');
  const storageConnectionString = read.string('AzureWebJobsStorage', undefined, 4096);
  if (storageConnectionString !== undefined && !isStorageConnectionString(storageConnectionString)) {
    read.fail(
      'AzureWebJobsStorage',
      'is not a valid storage connection string (expected UseDevelopmentStorage=true or DefaultEndpointsProtocol=…;AccountName=…;…)',
    );
  }
  const storageIdentity = readStorageIdentity(read);
  const realStorage = storageConnectionString !== undefined && !DEVELOPMENT_STORAGE.test(storageConnectionString);
  const anyStorage = storageConnectionString !== undefined || storageIdentity !== undefined;
  if (azure && !anyStorage) {
    read.fail(
      'AzureWebJobsStorage__accountName',
      'is required in the azure environment (or AzureWebJobsStorage__tableServiceUri, or the connection string AzureWebJobsStorage): all shared state lives in Storage Tables',
    );
  }
  const stateStore = azure
    ? 'table'
    : read.choice('ALERT_STATE_STORE', ['local', 'table'] as const, realStorage || storageIdentity !== undefined ? 'table' : 'local');
  if (azure && read.raw('ALERT_STATE_STORE')?.toLowerCase() === 'local') {
    read.fail('ALERT_STATE_STORE', 'must be table in the azure environment (alert state is shared by every instance)', 'local');
  }
  if (stateStore === 'table' && !anyStorage && read.has('ALERT_STATE_STORE')) {
    read.fail('ALERT_STATE_STORE', 'is table, which needs AzureWebJobsStorage (a storage connection string) or AzureWebJobsStorage__accountName', 'table');
  }
  const alerts: Settings['alerts'] = {
    webhookFormat: read.choice('ALERT_WEBHOOK_FORMAT', ['generic', 'teams', 'slack'] as const, SETTING_DEFAULTS.ALERT_WEBHOOK_FORMAT),
    reminderInMinutes: read.integer('ALERT_REMINDER_MINUTES', SETTING_DEFAULTS.ALERT_REMINDER_MINUTES, 1, 10_080),
    stateStore,
  };

  if (read.issues.length > 0) {
    throw new ConfigError(read.issues);
  }

  const settings: Settings = {
    environment,
    environmentReason: choice.because,
    poolDefinitionPath,
    gatewayUrl,
    deploy,
    probe,
    verdict,
    report,
    storePath,
    storageIdentity,
    telemetry,
    alerts,
    secrets: {
      subscriptionKey,
      webhookUrl,
      appInsightsConnectionString,
      storageConnectionString,
    },
  };
  return deepFreeze(settings);
}

/**
 * The identity-based storage settings, the Functions host's own convention: `__tableServiceUri` (an https URL) or
 * `__accountName` (a storage account name), `__credential` (`managedidentity` is the only value the host defines),
 * `__clientId` (a user-assigned identity's client id).
 */
function readStorageIdentity(read: SettingsReader): Settings['storageIdentity'] {
  const [accountNameKey, tableServiceUriKey, credentialKey, clientIdKey] = STORAGE_IDENTITY_KEYS;
  const accountName = read.matching(accountNameKey, /^[a-z0-9]{3,24}$/, 'a storage account name (3–24 lower-case letters and digits)');
  const tableServiceUri = read.url(tableServiceUriKey);
  const credential = read.choice(credentialKey, ['managedidentity'] as const);
  const clientId = read.guid(clientIdKey);
  const uri = tableServiceUri ?? (accountName !== undefined ? `https://${accountName}.table.core.windows.net` : undefined);
  // The queue trigger's endpoint (issue 17's fan-out): __queueServiceUri, else derived from __accountName as the host does.
  const queueServiceUri = read.url('AzureWebJobsStorage__queueServiceUri') ?? (accountName !== undefined ? `https://${accountName}.queue.core.windows.net` : undefined);
  if (uri === undefined) {
    if (read.has(credentialKey) || read.has(clientIdKey)) {
      read.fail(accountNameKey, `is required when ${read.has(clientIdKey) ? clientIdKey : credentialKey} is set`);
    }
    return undefined;
  }
  return { tableServiceUri: uri, queueServiceUri, clientId, credential: credential === 'managedidentity' ? 'managedidentity' : 'default' };
}

/** `UseDevelopmentStorage=true`, or `;`-separated `name=value` pairs naming an account or an endpoint. */
function isStorageConnectionString(value: string): boolean {
  if (DEVELOPMENT_STORAGE.test(value)) {
    return true;
  }
  const pairs = value.split(';').filter((pair) => pair.trim() !== '');
  const wellFormed = pairs.length > 0 && pairs.every((pair) => /^\s*[A-Za-z]+\s*=.+$/.test(pair));
  return wellFormed && /(^|;)\s*(AccountName|BlobEndpoint|TableEndpoint|QueueEndpoint)\s*=/i.test(value);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) {
      deepFreeze(member);
    }
  }
  return value;
}
