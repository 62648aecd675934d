/**
 * Which environment the verifier runs in, and what the azure environment cannot do without.
 *
 * Pure: reads only the map it is given (no `process.env`), so tests and the infrastructure's own checks can
 * call it with any settings.
 */

/** `local`: SQLite store, optional embedded emulator. `azure`: Storage Tables, App Insights, Azure Monitor Logs. */
export type VerifierEnvironment = 'local' | 'azure';

/**
 * Settings the App Service / Functions platform sets on every instance of a Function App (and never on a laptop):
 * `WEBSITE_SITE_NAME` (the app's name) and `WEBSITE_INSTANCE_ID` (one id per VM instance). Documented in
 * "Azure runtime environment" (projectkudu/kudu wiki) and "Environment variables and app settings in Azure App
 * Service". Their presence means the code runs inside a Function App.
 */
export const AZURE_HOST_MARKERS: readonly string[] = Object.freeze(['WEBSITE_INSTANCE_ID', 'WEBSITE_SITE_NAME']);

/**
 * The setting names the azure environment requires (their absence makes the app `misconfigured`). For the storage
 * account, which can be given as a connection string (`AzureWebJobsStorage`) or by identity, this lists the
 * identity-based form Microsoft's templates use: `AzureWebJobsStorage__accountName` (or
 * `AzureWebJobsStorage__tableServiceUri` instead), with `AzureWebJobsStorage__credential=managedidentity` and
 * `AzureWebJobsStorage__clientId` for a user-assigned identity. The Logs source is `LOGS_SOURCE` (`workspace` with
 * `LOGS_WORKSPACE_ID`, or `appinsights` with `APPINSIGHTS_RESOURCE_ID`).
 *
 * The infrastructure (Bicep) imports this list to check that the Function App it declares sets every name.
 */
export const AZURE_REQUIRED_SETTINGS: readonly string[] = Object.freeze([
  'APIM_GATEWAY_URL',
  'APIM_SUBSCRIPTION_KEY',
  'POOL_DEFINITION_PATH',
  'AzureWebJobsStorage__accountName',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'LOGS_SOURCE',
]);

/** The identity-based storage settings (the Functions host's own convention for `AzureWebJobsStorage`). */
export const STORAGE_IDENTITY_KEYS = Object.freeze([
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__tableServiceUri',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
] as const);

/** How the environment was decided, for log lines and the health answer. */
export interface EnvironmentChoice {
  readonly environment: VerifierEnvironment;
  /** e.g. `VERIFIER_ENVIRONMENT=azure`, `WEBSITE_INSTANCE_ID is set (running in a Function App)`, `default`. */
  readonly because: string;
  /** VERIFIER_ENVIRONMENT's value when it is not one of local, embedded, azure (reported by loadConfig). */
  readonly invalid?: string;
}

/**
 * Decides the environment: `VERIFIER_ENVIRONMENT` (`local`, `azure`; `embedded` is an alias of `local`) wins;
 * otherwise `azure` when a Function App's platform settings ({@link AZURE_HOST_MARKERS}) are present, else
 * `local`. Never looks at APIM_GATEWAY_URL: a missing gateway in Azure is a misconfiguration, not a reason to
 * fall back to the emulator.
 */
export function detectEnvironment(env: Readonly<Record<string, string | undefined>>): EnvironmentChoice {
  const forced = env.VERIFIER_ENVIRONMENT?.trim().toLowerCase();
  if (forced === 'azure') return { environment: 'azure', because: 'VERIFIER_ENVIRONMENT=azure' };
  if (forced === 'local' || forced === 'embedded') return { environment: 'local', because: `VERIFIER_ENVIRONMENT=${forced}` };
  const marker = AZURE_HOST_MARKERS.find((key) => (env[key]?.trim() ?? '') !== '');
  const detected: EnvironmentChoice = marker
    ? { environment: 'azure', because: `${marker} is set (running in a Function App)` }
    : { environment: 'local', because: 'no Function App platform setting (WEBSITE_INSTANCE_ID, WEBSITE_SITE_NAME) is set' };
  return forced ? { ...detected, invalid: env.VERIFIER_ENVIRONMENT?.trim() ?? '' } : detected;
}

/** The setting that names what LOGS_SOURCE reads, per source; exactly one of them is required in Azure. */
export const AZURE_LOGS_TARGETS = Object.freeze({
  workspace: 'LOGS_WORKSPACE_ID',
  appinsights: 'APPINSIGHTS_RESOURCE_ID',
} as const);

/**
 * Identity-based storage settings the Functions host itself reads besides the account name (one service URI per
 * service, as Microsoft's Flex Consumption templates set them). Known, so a template or a user may set them; the
 * app reads `__tableServiceUri` when present (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity).
 */
export const AZURE_OPTIONAL_STORAGE_SETTINGS: readonly string[] = Object.freeze([
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  ...STORAGE_IDENTITY_KEYS,
]);
