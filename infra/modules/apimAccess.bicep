// What the verifier needs on the existing API Management service, deployed into the APIM service's own resource
// group (it may differ from the verifier's): one role assignment and, optionally, the diagnostic setting that
// sends the gateway's resource logs to the verifier's workspace.

@description('Name of the existing API Management service.')
param apimServiceName string

@description('Principal (object) id of the verifier\'s user-assigned managed identity.')
param principalId string

@description('Built-in role definition id (GUID) to grant on the APIM service: Reader for verify-only, Contributor for deploy.')
param roleDefinitionGuid string

@description('Resource id of the Log Analytics workspace that receives the gateway logs; empty = no diagnostic setting.')
param gatewayLogsWorkspaceId string = ''

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: apimServiceName
}

resource apimRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: apim
  name: guid(apim.id, principalId, roleDefinitionGuid)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
  }
}

// Resource-specific mode ('Dedicated') writes the table ApiManagementGatewayLogs, which the all-traffic source reads;
// the legacy AzureDiagnostics mode would not. Category GatewayLogs: see
// https://learn.microsoft.com/azure/api-management/monitor-api-management-reference (resource logs).
resource gatewayLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(gatewayLogsWorkspaceId)) {
  scope: apim
  name: 'apim-pool-verifier-gateway-logs'
  properties: {
    workspaceId: gatewayLogsWorkspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'GatewayLogs'
        enabled: true
      }
    ]
  }
}

@description('Resource id of the APIM service (for the verifier\'s settings and the doctor).')
output apimId string = apim.id
