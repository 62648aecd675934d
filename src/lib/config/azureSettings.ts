/**
 * App settings that must be present when the app runs in the `azure` environment (a Function App), beyond
 * `SETTING_KEYS` of `./loadConfig` — and the single list the infrastructure (`infra/main.bicep`) is tested
 * against: every name here is set by the template, and the template sets no name outside these lists,
 * `SETTING_KEYS` and `HOST_KEYS`.
 *
 * - Storage by identity (shared keys disabled), the form Microsoft's Flex Consumption templates use: one service
 *   URI per service the host and the app use, `__credential=managedidentity`, and `__clientId` of the
 *   user-assigned identity (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity).
 * - Application Insights with local auth disabled: the connection string plus
 *   `APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD;ClientId=<client id>`
 *   (https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication).
 * - LOGS_SOURCE and its target (LOGS_WORKSPACE_ID or APPINSIGHTS_RESOURCE_ID, see `AZURE_LOGS_TARGETS`).
 */
export const AZURE_REQUIRED_SETTINGS: readonly string[] = Object.freeze([
  'APIM_GATEWAY_URL',
  'APIM_SUBSCRIPTION_KEY',
  'POOL_DEFINITION_PATH',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'LOGS_SOURCE',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
]);

/** The setting that names what LOGS_SOURCE reads, per source; exactly one of them is required in Azure. */
export const AZURE_LOGS_TARGETS = Object.freeze({
  workspace: 'LOGS_WORKSPACE_ID',
  appinsights: 'APPINSIGHTS_RESOURCE_ID',
} as const);

/**
 * Identity-based storage setting names the Functions host also accepts (one account name instead of the service
 * URIs). Known, so a template or a user may use them, but not required.
 */
export const AZURE_OPTIONAL_STORAGE_SETTINGS: readonly string[] = Object.freeze(['AzureWebJobsStorage__accountName']);
