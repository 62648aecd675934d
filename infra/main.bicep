// apim-pool-verifier in Azure: a Function App on Flex Consumption (Linux, Node 22) that runs with one user-assigned
// managed identity and no keys: storage with shared keys disabled, Application Insights with local auth disabled,
// the APIM subscription key in Key Vault. The API Management service is existing (by name and resource group).
//
// `azd up` deploys it (azure.yaml, main.parameters.json); `az deployment group create -g <rg> -f infra/main.bicep`
// works as well. Compiled and linted in CI with the Bicep CLI (test/infra). The README's "Deploying to Azure"
// explains every parameter.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used to derive unique resource names.')
param environmentName string

@description('Region of the verifier\'s resources. It must offer Flex Consumption.')
param location string = resourceGroup().location

@description('Name of the existing API Management service.')
param apimServiceName string

@description('Resource group of the API Management service (default or empty: the verifier\'s own resource group).')
param apimResourceGroup string = ''

@description('Subscription of the API Management service (default: the verifier\'s own subscription).')
param apimSubscriptionId string = subscription().subscriptionId

@description('APIM API id (name) whose policy routes to the pool, e.g. openai.')
param apimApiId string

@description('API base URL including the API suffix, e.g. https://apim-x.azure-api.net/openai (APIM_GATEWAY_URL).')
param apimGatewayUrl string

@secure()
@description('APIM subscription key for the probes. Stored in Key Vault, referenced from the app settings, never output.')
param apimSubscriptionKey string

@description('Path of the pool definition inside the deployed package, e.g. examples/lab-pool.json (POOL_DEFINITION_PATH).')
param poolDefinitionPath string

@allowed([
  'verify-only'
  'deploy'
])
@description('verify-only (default): the app never writes to APIM and gets API Management Service Reader. deploy: the app makes APIM match the definition and gets API Management Service Contributor.')
param deployMode string = 'verify-only'

@allowed([
  'workspace'
  'appinsights'
])
@description('Where the app reads its probe windows back: the Log Analytics workspace (default) or the Application Insights resource.')
param logsSource string = 'workspace'

@description('Also send the APIM gateway logs to the workspace (diagnostic setting, resource-specific table ApiManagementGatewayLogs) and read it as ALL_TRAFFIC_SOURCE=gateway-logs. Needs write access to the APIM service for the person who deploys.')
param enableGatewayLogs bool = false

@description('Create the Azure Monitor alert rules of docs/alerts.md and an action group.')
param enableAlertRules bool = false

@description('E-mail address the action group notifies (with enableAlertRules). Empty = an action group without receivers.')
param alertEmail string = ''

@description('Pool name the alert rules watch (the pool definition\'s pool.name).')
param poolName string = 'openai-instance-backend-pool'

@secure()
@description('Optional webhook the app posts alerts to (ALERT_WEBHOOK_URL). Stored in Key Vault when given.')
param alertWebhookUrl string = ''

@allowed([
  'generic'
  'teams'
  'slack'
])
@description('Body format of the alert webhook (ALERT_WEBHOOK_FORMAT).')
param alertWebhookFormat string = 'generic'

@minValue(1)
@maxValue(10080)
@description('Minutes between reminders of an open incident (ALERT_REMINDER_MINUTES).')
param alertReminderMinutes int = 240

@description('Maximum number of Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance in MB (Flex Consumption: 512, 2048 or 4096).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Tags for every resource.')
param tags object = {}

// ---------------------------------------------------------------------------------------------------------------
// Built-in role definition ids (never role names: names can be localised, ids cannot). Each id checked against
// "Azure built-in roles", https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
// (categories: integration, monitor, analytics, storage, security). test/infra/roles.ts holds the same table and
// the tests compare every assignment in the compiled template with it.
// ---------------------------------------------------------------------------------------------------------------
var roles = {
  apimServiceReader: '71522526-b88f-4d52-b57f-d31fc3546d0d' // API Management Service Reader Role (integration)
  apimServiceContributor: '312a565d-c81f-4fd8-895a-4e21e48d571c' // API Management Service Contributor (integration)
  logAnalyticsReader: '73c42c96-874c-492b-b04d-ab87d138a893' // Log Analytics Reader (analytics)
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher (monitor)
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner (storage)
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor (storage)
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor (storage)
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User (security)
}

// azd substitutes an unset variable with an empty string: empty means "the verifier's own resource group".
var apimResourceGroupName = empty(apimResourceGroup) ? resourceGroup().name : apimResourceGroup

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var names = {
  identity: 'id-apv-${token}'
  storage: 'stapv${token}'
  workspace: 'log-apv-${token}'
  appInsights: 'appi-apv-${token}'
  keyVault: 'kv-apv-${take(token, 13)}'
  plan: 'plan-apv-${token}'
  functionApp: 'func-apv-${token}'
  actionGroup: 'ag-apv-${token}'
}
// The container Flex Consumption deploys the package from (functionAppConfig.deployment.storage).
var deploymentContainerName = 'app-package-${take(token, 32)}'
var subscriptionKeySecretName = 'apim-subscription-key'
var webhookSecretName = 'alert-webhook-url'

// ---------------------------------------------------------------------------------------------------------------
// Identity, storage, monitoring, Key Vault
// ---------------------------------------------------------------------------------------------------------------

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: names.identity
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: names.storage
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    // No account keys at all: the host, the deployment and the app's state tables use the identity.
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: names.workspace
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: names.appInsights
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Entra ID only: ingestion needs a token of an identity with Monitoring Metrics Publisher.
    DisableLocalAuth: true
  }
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: names.keyVault
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

resource subscriptionKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: keyVault
  name: subscriptionKeySecretName
  properties: {
    value: apimSubscriptionKey
  }
}

resource webhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(alertWebhookUrl)) {
  parent: keyVault
  name: webhookSecretName
  properties: {
    value: alertWebhookUrl
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Function App on Flex Consumption
// ---------------------------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: names.plan
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

// Every app setting the app reads in the azure environment, written once in `functionAppSettings` below
// (src/lib/config/azureSettings.ts lists the required ones; test/infra checks the compiled template against it).
// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not app settings on Flex Consumption:
// functionAppConfig.runtime replaces them.
var subscriptionKeyReference = '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${subscriptionKeySecretName})'
var webhookReference = '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=${webhookSecretName})'

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: names.functionApp
  location: location
  tags: union(tags, { 'azd-service-name': 'verifier' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity (there is no system-assigned one).
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
  dependsOn: [
    // The host needs its storage and the secret reachable from its first start.
    blobRoleAssignment
    queueRoleAssignment
    tableRoleAssignment
    keyVaultRoleAssignment
    deploymentContainer
  ]
}

// The settings as the site's `appsettings` config (a name → value map, which replaces the whole set): their values
// come from resources created in this deployment, which siteConfig.appSettings built with a for-expression cannot
// use (BCP178). An object literal keeps every name visible in the compiled template.
resource functionAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    VERIFIER_ENVIRONMENT: 'azure'
    APIM_GATEWAY_URL: apimGatewayUrl
    APIM_SUBSCRIPTION_KEY: subscriptionKeyReference
    POOL_DEFINITION_PATH: poolDefinitionPath
    DEPLOY_MODE: deployMode
    APIM_SUBSCRIPTION_ID: apimSubscriptionId
    APIM_RESOURCE_GROUP: apimResourceGroupName
    APIM_SERVICE_NAME: apimServiceName
    APIM_API_ID: apimApiId
    AZURE_CLIENT_ID: identity.properties.clientId
    // Host and app storage by identity (shared keys are off).
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    // Telemetry with Entra ID (local auth is disabled on the resource).
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.properties.clientId}'
    // Both targets are set; LOGS_SOURCE says which one the app reads.
    LOGS_SOURCE: logsSource
    LOGS_WORKSPACE_ID: workspace.properties.customerId
    APPINSIGHTS_RESOURCE_ID: appInsights.id
    ALL_TRAFFIC_SOURCE: enableGatewayLogs ? 'gateway-logs' : 'none'
    // Empty counts as absent for the app: no webhook unless one was given.
    ALERT_WEBHOOK_URL: empty(alertWebhookUrl) ? '' : webhookReference
    ALERT_WEBHOOK_FORMAT: alertWebhookFormat
    ALERT_REMINDER_MINUTES: string(alertReminderMinutes)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Role assignments (least privilege, each at the narrowest scope)
// ---------------------------------------------------------------------------------------------------------------

resource blobRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// Queues: the host's own, and the fleet's fan-out (issue 17): the timer sends to `probe-runs`, the queue trigger
// receives, updates and deletes there and creates and writes `probe-runs-poison`; Contributor covers all of these.
resource queueRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource tableRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

resource keyVaultRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: keyVault
  name: guid(keyVault.id, identity.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource metricsPublisherRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource workspaceReaderRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: workspace
  name: guid(workspace.id, identity.id, roles.logAnalyticsReader)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.logAnalyticsReader)
  }
}

// Resource-context queries (LOGS_SOURCE=appinsights) need read access on the component itself.
resource appInsightsReaderRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (logsSource == 'appinsights') {
  scope: appInsights
  name: guid(appInsights.id, identity.id, roles.logAnalyticsReader)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.logAnalyticsReader)
  }
}

module apimAccess 'modules/apimAccess.bicep' = {
  name: 'apim-pool-verifier-apim-access'
  scope: resourceGroup(apimSubscriptionId, apimResourceGroupName)
  params: {
    apimServiceName: apimServiceName
    principalId: identity.properties.principalId
    roleDefinitionGuid: deployMode == 'deploy' ? roles.apimServiceContributor : roles.apimServiceReader
    gatewayLogsWorkspaceId: enableGatewayLogs ? workspace.id : ''
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Optional: the alert rules of docs/alerts.md (the very file the docs show) and an action group
// ---------------------------------------------------------------------------------------------------------------

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (enableAlertRules) {
  name: names.actionGroup
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'apv'
    enabled: true
    emailReceivers: empty(alertEmail)
      ? []
      : [
          {
            name: 'pool-verifier-email'
            emailAddress: alertEmail
            useCommonAlertSchema: true
          }
        ]
  }
}

module alertRules '../docs/alerts/alert-rules.bicep' = if (enableAlertRules) {
  name: 'apim-pool-verifier-alert-rules'
  params: {
    appInsightsName: appInsights.name
    actionGroupId: actionGroup.id
    poolName: poolName
    location: location
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs (azd stores them in the environment; the post-provision hook prints the report URL). No secret here.
// ---------------------------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_FUNCTION_APP_NAME string = functionApp.name
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output VERIFIER_REPORT_URL string = 'https://${functionApp.properties.defaultHostName}/api/report'
output VERIFIER_IDENTITY_CLIENT_ID string = identity.properties.clientId
output VERIFIER_KEY_VAULT_NAME string = keyVault.name
output VERIFIER_WORKSPACE_ID string = workspace.properties.customerId
output VERIFIER_APPINSIGHTS_ID string = appInsights.id
output VERIFIER_DEPLOY_MODE string = deployMode
