import type { DeployMode } from '../deploy/types';
import type { IngestionAuthentication } from '../telemetry/parseAuthenticationString';

/**
 * Settings, read once from the environment (App Settings in Azure, `local.settings.json` `Values` locally)
 * by `loadConfig(env)`. Fully defaulted and readonly: nothing downstream re-checks.
 * Secrets live under `secrets` so that code that logs settings can drop one branch.
 */
export interface Settings {
  /**
   * VERIFIER_ENVIRONMENT: `local` (SQLite store; the embedded emulator when APIM_GATEWAY_URL is absent; `embedded`
   * is accepted as an alias) or `azure` (Storage Tables, App Insights, Azure Monitor Logs; never the emulator).
   * Default: `azure` inside a Function App (WEBSITE_INSTANCE_ID or WEBSITE_SITE_NAME set by the platform), else `local`.
   */
  readonly environment: 'local' | 'azure';
  /** Why `environment` was chosen (e.g. `VERIFIER_ENVIRONMENT=azure`), for log lines. */
  readonly environmentReason: string;
  /**
   * POOL_DEFINITION_PATH (relative to the app root): a definition file, or a folder whose `*.json` files are one
   * pool each (`loadFleetDefinitions`). Local default `examples/lab-pool.json`; required in azure (the lab pool is
   * never a default there).
   */
  readonly poolDefinitionPath: string;
  /** APIM_GATEWAY_URL: API base URL including the API suffix, e.g. `https://apim-x.azure-api.net/openai`. */
  readonly gatewayUrl: string | undefined;

  readonly deploy: {
    /** DEPLOY_MODE: `deploy` or `verify-only`. Default `deploy` locally, `verify-only` in azure (writing to APIM is opt-in there). */
    readonly mode: DeployMode;
    /** DEPLOY_ON_STARTUP, default true. */
    readonly onStartup: boolean;
    /** DEPLOY_DEADLINE_SECONDS: overall deadline of one deploy (reads, retries, writes), default 120 (10–3600). */
    readonly deadlineInSeconds: number;
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

  /** STORE_PATH: the local SQLite store, default `.data/verifier.sqlite`. Never used in azure. */
  readonly storePath: string;

  /**
   * The storage account for shared state (Tables) when given by identity: AzureWebJobsStorage__tableServiceUri, or
   * AzureWebJobsStorage__accountName (→ `https://<name>.table.core.windows.net`), with
   * AzureWebJobsStorage__credential (`managedidentity`) and AzureWebJobsStorage__clientId (a user-assigned
   * identity). Undefined when not given (then the connection string `AzureWebJobsStorage` is used, if any).
   */
  readonly storageIdentity:
    | {
        readonly tableServiceUri: string;
        /**
         * The queue service of the fleet's fan-out: AzureWebJobsStorage__queueServiceUri, else
         * `https://<accountName>.queue.core.windows.net`; undefined when neither is set (only __tableServiceUri).
         */
        readonly queueServiceUri: string | undefined;
        readonly clientId: string | undefined;
        readonly credential: 'managedidentity' | 'default';
      }
    | undefined;

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
    /** ALL_TRAFFIC_MODE (kept for compatibility; true = ALL_TRAFFIC_SOURCE `appinsights`): whether an all-traffic source is set. */
    readonly allTraffic: boolean;
    /**
     * ALL_TRAFFIC_SOURCE: where real traffic is read beside the probes. `gateway-logs`: APIM's resource logs in
     * the workspace (`ApiManagementGatewayLogs`, one unsampled row per request, needs LOGS_WORKSPACE_ID and
     * APIM_API_ID to filter on the API); `appinsights`: APIM's backend dependencies in App Insights (often
     * sampled, weighted by itemCount); `none` (default unless ALL_TRAFFIC_MODE=true). Needs LOGS_SOURCE ≠ local.
     */
    readonly allTrafficSource: 'none' | 'gateway-logs' | 'appinsights';
    /** GATEWAY_LOGS_TABLE: `resource-specific` (ApiManagementGatewayLogs, default) or `azure-diagnostics` (AzureDiagnostics). */
    readonly gatewayLogsTable: 'resource-specific' | 'azure-diagnostics';
    /** PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE: the timer sends no probes while the all-traffic hour is conclusive, default false. */
    readonly skipProbesWhenTrafficConclusive: boolean;
    /** REPORT_CACHE_SECONDS: evidence for /api/report is fetched at most once per this interval and shared, default 60 (0 = no cache). */
    readonly reportCacheInSeconds: number;
    /**
     * APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `Authorization=AAD[;ClientId=<uami>]` (as the Functions host reads
     * it): the verifier's own telemetry is sent with an Entra token (role Monitoring Metrics Publisher).
     */
    readonly ingestionAuthentication: IngestionAuthentication | undefined;
  };

  readonly alerts: {
    /** ALERT_WEBHOOK_FORMAT: `generic` (default), `teams` or `slack`. */
    readonly webhookFormat: 'generic' | 'teams' | 'slack';
    /** ALERT_REMINDER_MINUTES: remind while an incident lasts, default 240. */
    readonly reminderInMinutes: number;
    /**
     * ALERT_STATE_STORE: `local` (SQLite) or `table` (Azure Table Storage via AzureWebJobsStorage, either form).
     * Locally the default is `table` when AzureWebJobsStorage is a real connection string; always `table` in azure.
     */
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
