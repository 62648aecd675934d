// The Azure Monitor alert rules of docs/alerts.md. Compiled and linted by the real Bicep CLI in CI (test/infra);
// infra/main.bicep deploys this file as a module when enableAlertRules is true.

@description('Name of the Application Insights resource the verifier writes to.')
param appInsightsName string

@description('Resource id of the action group to notify.')
param actionGroupId string

@description('The pool to watch (the pool definition\'s pool.name).')
param poolName string = 'openai-instance-backend-pool'

param location string = resourceGroup().location

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// 1. Log alert on the PoolVerification event: fires when the latest run is not healthy, one alert per health.
resource poolUnhealthy 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'pool-verifier-${poolName}-unhealthy'
  location: location
  kind: 'LogAlert'
  properties: {
    displayName: 'APIM pool ${poolName}: drift, failover or config drift'
    description: 'The apim-pool-verifier found that the pool does not follow its definition. See GET /api/report.'
    severity: 2
    enabled: true
    scopes: [ appInsights.id ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          // Multi-line Bicep strings do not interpolate: the pool name goes in with format().
          query: format('''
customEvents
| where name == "PoolVerification"
| extend pool = tostring(customDimensions.pool), health = tostring(customDimensions.health)
| where pool == "{0}"
| summarize arg_max(timestamp, health) by pool
| where health != "ok"
''', poolName)
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            { name: 'pool', operator: 'Include', values: [ '*' ] }
            { name: 'health', operator: 'Include', values: [ '*' ] }
          ]
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: [ actionGroupId ] }
  }
}

// 2. Heartbeat: the verifier itself stopped (no PoolVerification for 30 minutes).
resource verifierSilent 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'pool-verifier-${poolName}-silent'
  location: location
  kind: 'LogAlert'
  properties: {
    displayName: 'APIM pool verifier for ${poolName} stopped reporting'
    severity: 3
    enabled: true
    scopes: [ appInsights.id ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT30M'
    criteria: {
      allOf: [
        {
          query: format('''
customEvents
| where name == "PoolVerification" and tostring(customDimensions.pool) == "{0}"
| summarize runs = count()
''', poolName)
          timeAggregation: 'Total'
          metricMeasureColumn: 'runs'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: [ actionGroupId ] }
  }
}

// 3. Metric alert on PoolHealth (cheaper and faster than a log query; no KQL).
resource poolHealthMetric 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'pool-verifier-${poolName}-health-metric'
  location: 'global'
  properties: {
    description: 'PoolHealth is 1 when the latest verification of ${poolName} was drift, failover or config drift.'
    severity: 2
    enabled: true
    scopes: [ appInsights.id ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'unhealthy'
          metricNamespace: 'azure.applicationinsights'
          metricName: 'PoolHealth'
          dimensions: [ { name: 'pool', operator: 'Include', values: [ poolName ] } ]
          timeAggregation: 'Maximum'
          operator: 'GreaterThan'
          threshold: 0
          // The metric does not exist until the first run has emitted it.
          skipMetricValidation: true
        }
      ]
    }
    autoMitigate: true
    actions: [ { actionGroupId: actionGroupId } ]
  }
}
