import { createGatewayAttemptSource } from '../../src/app/createGatewayAttemptSource';
import { loadConfig } from '../../src/lib/config/loadConfig';
import { fakeCredential } from '../fakes/fakeCredential';
import { logsTable, startFakeLogAnalytics } from '../fakes/fakeLogAnalytics';
import { labPool } from '../lib/telemetry/labPool';

const workspaceId = '5e2b8a56-9f0e-4c1e-8f3a-0d2b7c6e4a11';

describe('where the report reads the gateway’s own record of backend calls', () => {
  it('reads nothing for a real gateway without gateway logs', () => {
    const settings = loadConfig({ APIM_GATEWAY_URL: 'https://apim.example/openai', APIM_SUBSCRIPTION_KEY: 'k' });
    expect(createGatewayAttemptSource({ settings, onEmulator: false, gatewayUrl: 'https://apim.example/openai', credential: fakeCredential(), apiId: undefined })).toBeUndefined();
  });

  it("reads APIM's gateway logs from the workspace, in the table GATEWAY_LOGS_TABLE names, for the API", async () => {
    const logs = await startFakeLogAnalytics(() => ({
      status: 200,
      body: { tables: [logsTable([['targetHost', 'string'], ['backendId', 'string'], ['attempts', 'long'], ['throttled429', 'long'], ['serverErrors', 'long']], [['aoai-nov26-instance2.openai.azure.com', 'openai-instance-backend-pool', 7, 5, 0]])] },
    }));
    try {
      const settings = loadConfig({
        LOGS_SOURCE: 'workspace',
        LOGS_WORKSPACE_ID: workspaceId,
        LOGS_ENDPOINT: logs.endpoint,
        ALL_TRAFFIC_SOURCE: 'gateway-logs',
        GATEWAY_LOGS_TABLE: 'azure-diagnostics',
      });
      const source = createGatewayAttemptSource({ settings, onEmulator: false, gatewayUrl: 'https://apim.example/openai', credential: fakeCredential(), apiId: 'azure-openai-api' });
      const attempts = await source!.readBackendAttempts(labPool(), { fromMs: 0, toMs: 3_600_000 });
      expect(attempts.byBackend['openai-instance2']).toEqual({ attempts: 7, throttled429: 5, serverErrors: 0, breakerTrips: null });
      expect(logs.queries[0]!.target).toEqual({ kind: 'workspace', workspaceId });
      expect(logs.queries[0]!.query).toMatch(/\bAzureDiagnostics\b/);
      expect(logs.queries[0]!.query).toContain("let apiId = 'azure-openai-api';");
    } finally {
      await logs.close();
    }
  });
});
