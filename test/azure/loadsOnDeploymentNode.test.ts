import { AZURE_LOGS_TARGETS, AZURE_REQUIRED_SETTINGS } from '../../src/lib/config/azureSettings';

// The native SQLite addon must never be needed here: loading it fails the test instead of crashing the run on
// another Node major version.
jest.mock('better-sqlite3', () => {
  throw new Error('better-sqlite3 was loaded by code the azure environment uses');
});

/** The settings a Function App gets from infra/main.bicep, with placeholder values of the right shape. */
function azureAppSettings(): Record<string, string> {
  return {
    VERIFIER_ENVIRONMENT: 'azure',
    APIM_GATEWAY_URL: 'https://apim.example.net/openai',
    APIM_SUBSCRIPTION_KEY: 'placeholder-key',
    POOL_DEFINITION_PATH: 'examples/lab-pool.json',
    DEPLOY_MODE: 'verify-only',
    AzureWebJobsStorage__accountName: 'stverifier',
    AzureWebJobsStorage__blobServiceUri: 'https://st.blob.core.windows.net/',
    AzureWebJobsStorage__queueServiceUri: 'https://st.queue.core.windows.net/',
    AzureWebJobsStorage__tableServiceUri: 'https://st.table.core.windows.net/',
    AzureWebJobsStorage__credential: 'managedidentity',
    AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000001',
    APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000002;IngestionEndpoint=https://example.net/',
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=00000000-0000-0000-0000-000000000001',
    LOGS_SOURCE: 'workspace',
    LOGS_WORKSPACE_ID: '00000000-0000-0000-0000-000000000003',
  };
}

describe('the azure environment on the deployment Node', () => {
  it('runs on the Node major version the runner was asked for', () => {
    // Set by tools/test-node22.js; on the machine's own Node the first run has no expectation.
    const expected = process.env.VERIFIER_TEST_NODE_MAJOR;
    if (expected !== undefined) {
      expect(process.versions.node.split('.')[0]).toBe(expected);
    }
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
  });

  it('reads the Function App settings the infrastructure sets without loading the SQLite addon', async () => {
    const { loadConfig } = await import('../../src/lib/config/loadConfig');
    const env = azureAppSettings();
    for (const key of AZURE_REQUIRED_SETTINGS) {
      expect(env).toHaveProperty(key);
    }
    expect(env).toHaveProperty(AZURE_LOGS_TARGETS.workspace);
    const settings = loadConfig(env);
    expect(settings.environment).toBe('azure');
    expect(settings.deploy.mode).toBe('verify-only');
    expect(settings.telemetry.logsSource).toBe('workspace');
  });

  it('parses and exports the example pool definition without the SQLite addon', async () => {
    const { loadPoolDefinition } = await import('../../src/lib/pool');
    const { exportTemplate } = await import('../../src/lib/deploy/exportTemplate');
    const pool = await loadPoolDefinition(`${__dirname}/../../examples/lab-pool.json`);
    expect(pool.backends.length).toBeGreaterThan(0);
    expect(exportTemplate(pool, 'bicep')).toContain("'Microsoft.ApiManagement/service/backends@");
  });
});
