import type { DeployMode } from '../deploy/types';

/**
 * Settings, read once from the environment (App Settings in Azure, `local.settings.json` `Values` locally)
 * by `loadConfig(env)`. Fully defaulted and readonly: nothing downstream re-checks.
 * Secrets live under `secrets` so that code that logs settings can drop one branch.
 */
export interface Settings {
  /**
   * VERIFIER_ENVIRONMENT. `embedded`: start the embedded emulator and point everything at it; `azure`: use real
   * endpoints. Default: `embedded` when APIM_GATEWAY_URL is absent, else `azure`.
   */
  readonly environment: 'embedded' | 'azure';
  /** POOL_DEFINITION_PATH, default `examples/lab-pool.json` (relative to the app root). */
  readonly poolDefinitionPath: string;
  /** APIM_GATEWAY_URL: API base URL including the API suffix, e.g. `https://apim-x.azure-api.net/openai`. */
  readonly gatewayUrl: string | undefined;

  readonly deploy: {
    /** DEPLOY_MODE: `deploy` (default) or `verify-only`. */
    readonly mode: DeployMode;
    /** DEPLOY_ON_STARTUP, default true. */
    readonly onStartup: boolean;
    /** ARM_ENDPOINT, default `https://management.azure.com`. */
    readonly armEndpoint: string;
    /** ARM_API_VERSION, overrides the definition's `apim.armApiVersion` (default 2024-05-01). */
    readonly armApiVersion: string | undefined;
    /** APIM_SUBSCRIPTION_ID / APIM_RESOURCE_GROUP / APIM_SERVICE_NAME / APIM_API_ID override the definition's `apim`. */
    readonly subscriptionId: string | undefined;
    readonly resourceGroup: string | undefined;
    readonly serviceName: string | undefined;
    readonly apiId: string | undefined;
    /** AZURE_CLIENT_ID: client id of a user-assigned managed identity (DefaultAzureCredential reads it too). */
    readonly managedIdentityClientId: string | undefined;
  };

  readonly probe: {
    /** PROBE_SCHEDULE: NCRONTAB with seconds (Azure Functions timer), default `0 *\/5 * * * *`. */
    readonly schedule: string;
    /** PROBE_MAX_REQUESTS: maximum probes per run, default 100 (1–10000): 12 runs an hour give the ~1,180 answers the hour window needs to show the 2:1 lab pool ok at ±5 points with power 0.95 (docs/statistics.md). */
    readonly maxRequests: number;
    /** PROBE_CONCURRENCY: default 4 (1–64). */
    readonly concurrency: number;
    /** PROBE_TIMEOUT_MS: per-probe timeout, default 30000 (100–300000). */
    readonly timeoutInMs: number;
    /** PROBE_SEQUENTIAL: stop a run early once the sequential test is decisive, default true. */
    readonly sequential: boolean;
  };

  readonly verdict: {
    /** VERDICT_ALPHA_RUN, default 1e-4. */
    readonly alphaRun: number;
    /** VERDICT_ALPHA_HOUR, default 2e-4. */
    readonly alphaHour: number;
    /** VERDICT_ALPHA_DAY, default 1e-3. */
    readonly alphaDay: number;
    /** VERDICT_TOLERANCE_POINTS: practical-significance gate in percentage points, default 5. */
    readonly toleranceInPoints: number;
    /** VERDICT_DISPERSION_WARN: φ above which the independence assumption is flagged, default 1.25. */
    readonly dispersionWarn: number;
  };

  readonly report: {
    /** REPORT_PRIMARY_WINDOW: `run`, `hour` (default) or `day`. */
    readonly primaryWindow: 'run' | 'hour' | 'day';
    /** REPORT_BIN_MINUTES: time-bin width of the share-over-time chart, default 5. */
    readonly binInMinutes: number;
  };

  /** STORE_PATH: the local SQLite store, default `.data/verifier.sqlite`. */
  readonly storePath: string;

  readonly telemetry: {
    /** TELEMETRY_CLOUD_ROLE_NAME, default `apim-pool-verifier`. */
    readonly cloudRoleName: string;
    /** LOGS_SOURCE: `local` (SQLite, default), `workspace` (LOGS_WORKSPACE_ID) or `appinsights` (APPINSIGHTS_RESOURCE_ID). */
    readonly logsSource: 'local' | 'workspace' | 'appinsights';
    readonly workspaceId: string | undefined;
    readonly appInsightsResourceId: string | undefined;
    /** LOGS_ENDPOINT, default `https://api.loganalytics.azure.com/v1`. */
    readonly logsEndpoint: string;
    /** LOGS_QUERY_TIMEOUT_MS, default 30000. */
    readonly logsQueryTimeoutInMs: number;
    /** ALL_TRAFFIC_MODE: also query APIM's own telemetry of real traffic, default false. */
    readonly allTraffic: boolean;
  };

  readonly alerts: {
    /** ALERT_WEBHOOK_FORMAT: `generic` (default), `teams` or `slack`. */
    readonly webhookFormat: 'generic' | 'teams' | 'slack';
    /** ALERT_REMINDER_MINUTES: remind while an incident lasts, default 240. */
    readonly reminderInMinutes: number;
    /** ALERT_STATE_STORE: `local` (SQLite) or `table` (Azure Table Storage via AzureWebJobsStorage); default `table` when AzureWebJobsStorage is a real connection string. */
    readonly stateStore: 'local' | 'table';
  };

  /** Values that must never be logged, reported or sent in telemetry. */
  readonly secrets: {
    /** APIM_SUBSCRIPTION_KEY. */
    readonly subscriptionKey: string | undefined;
    /** ALERT_WEBHOOK_URL. */
    readonly webhookUrl: string | undefined;
    /** APPLICATIONINSIGHTS_CONNECTION_STRING. */
    readonly appInsightsConnectionString: string | undefined;
    /** AzureWebJobsStorage. */
    readonly storageConnectionString: string | undefined;
  };
}

/** One bad setting. The value is echoed only for non-secret keys. */
export interface ConfigIssue {
  readonly key: string;
  readonly message: string;
}
