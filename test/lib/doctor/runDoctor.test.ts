import { createArmClient } from '../../../src/lib/deploy/armClient';
import { runDoctor, type DoctorCheck, type DoctorPorts } from '../../../src/lib/doctor/runDoctor';
import { runProbes } from '../../../src/lib/probe/runProbes';
import { startFakeArmServer, type FakeArmServer } from '../deploy/fakeArmServer';
import { fakeCredential } from '../../fakes/fakeCredential';
import { chatCompletion, startFakeGateway, type FakeGateway } from '../probe/fakeGateway';
import { labPool } from '../probe/labPool';

const SUBSCRIPTION_KEY = 'doctor-secret-key-5f2a91';
const LOCATION = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rg-apim-lab', serviceName: 'apim-nov26' };
const POLICY = `<policies><inbound><base /><set-backend-service backend-id="openai-instance-backend-pool" /></inbound><backend><forward-request buffer-request-body="true" /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>`;

const SERVICE_ID = `/subscriptions/${LOCATION.subscriptionId}/resourceGroups/${LOCATION.resourceGroup}/providers/Microsoft.ApiManagement/service/${LOCATION.serviceName}`;
const POOL_PROPERTIES = {
  type: 'Pool',
  pool: {
    services: [
      { id: `${SERVICE_ID}/backends/openai-instance1`, priority: 1, weight: 2 },
      { id: `${SERVICE_ID}/backends/openai-instance2`, priority: 1, weight: 1 },
    ],
  },
};

/** ARM's answer when the identity lacks read access (the real error code and message shape). */
const AUTHORIZATION_FAILED_READ = {
  error: {
    code: 'AuthorizationFailed',
    message:
      "The client '11111111-2222-3333-4444-555555555555' with object id '11111111-2222-3333-4444-555555555555' does not have " +
      "authorization to perform action 'Microsoft.ApiManagement/service/backends/read' over scope " +
      "'/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26/backends/openai-instance-backend-pool' " +
      'or the scope is invalid. If access was recently granted, please refresh your credentials.',
  },
};

describe('runDoctor', () => {
  let arm: FakeArmServer;
  let gateway: FakeGateway;

  beforeAll(async () => {
    arm = await startFakeArmServer();
    gateway = await startFakeGateway(() => ({ type: 'json', region: 'West US', body: chatCompletion() }));
  });
  afterAll(async () => {
    await arm.close();
    await gateway.close();
  });
  beforeEach(() => {
    arm.reset();
    arm.seed('openai-instance-backend-pool', POOL_PROPERTIES);
    arm.policies.set('openai', POLICY);
    gateway.setScript(() => ({ type: 'json', region: 'West US', body: chatCompletion() }));
  });

  function env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
      APIM_GATEWAY_URL: gateway.url,
      APIM_SUBSCRIPTION_KEY: SUBSCRIPTION_KEY,
      POOL_DEFINITION_PATH: 'lab.json',
      DEPLOY_MODE: 'verify-only',
      APIM_SUBSCRIPTION_ID: LOCATION.subscriptionId,
      APIM_RESOURCE_GROUP: LOCATION.resourceGroup,
      APIM_SERVICE_NAME: LOCATION.serviceName,
      APIM_API_ID: 'openai',
      ...overrides,
    };
  }

  function ports(environment: Record<string, string | undefined>): DoctorPorts {
    return {
      env: environment,
      loadPool: async () => labPool(),
      createArm: (settings) =>
        createArmClient({
          endpoint: arm.endpoint,
          credential: fakeCredential(),
          apiVersion: settings.deploy.armApiVersion ?? '2024-05-01',
          retry: { maxRetries: 0 },
          identityDescription: 'user-assigned managed identity 11111111-2222-3333-4444-555555555555',
        }),
      identityDescription: 'user-assigned managed identity 11111111-2222-3333-4444-555555555555',
      runProbes,
    };
  }

  const byName = (checks: DoctorCheck[]): Record<string, DoctorCheck> => Object.fromEntries(checks.map((check) => [check.name, check]));
  const printed = (checks: DoctorCheck[]): string => JSON.stringify(checks);

  it('passes every check when each connection works', async () => {
    const checks = await runDoctor(ports(env()));
    expect(checks.map((check) => [check.name, check.status])).toEqual([
      ['Key Vault references', 'ok'],
      ['required settings', 'ok'],
      ['pool definition', 'ok'],
      ['APIM pool (ARM read)', 'ok'],
      ['API policy', 'ok'],
      ['gateway probe', 'ok'],
    ]);
    expect(byName(checks)['gateway probe']!.detail).toBe('answered 200 by openai-instance1');
  });

  it('names the reader role, the service and the identity when ARM answers 403 AuthorizationFailed', async () => {
    arm.script({ method: 'GET', resource: 'openai-instance-backend-pool', action: { kind: 'respond', status: 403, body: AUTHORIZATION_FAILED_READ } });
    const check = byName(await runDoctor(ports(env())))['APIM pool (ARM read)']!;
    expect(check).toEqual({
      name: 'APIM pool (ARM read)',
      status: 'failed',
      detail: 'ARM answered 403 AuthorizationFailed for GET backends/openai-instance-backend-pool',
      fix:
        'Grant API Management Service Reader Role (71522526-b88f-4d52-b57f-d31fc3546d0d) on /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26 to user-assigned managed identity 11111111-2222-3333-4444-555555555555.',
    });
  });

  it('names the contributor role in deploy mode', async () => {
    arm.script({ method: 'GET', resource: 'openai-instance-backend-pool', action: { kind: 'respond', status: 403, body: AUTHORIZATION_FAILED_READ } });
    const check = byName(await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' }))))['APIM pool (ARM read)']!;
    expect(check.fix).toMatch(/^Grant API Management Service Contributor \(312a565d-c81f-4fd8-895a-4e21e48d571c\) on /);
  });

  it('reports a policy read refused with 403 with the reader role', async () => {
    arm.script({ method: 'GET', resource: 'policy', action: { kind: 'respond', status: 403, body: AUTHORIZATION_FAILED_READ } });
    const check = byName(await runDoctor(ports(env())))['API policy']!;
    expect(check.status).toBe('failed');
    expect(check.fix).toMatch(/^Grant API Management Service Reader Role \(71522526-b88f-4d52-b57f-d31fc3546d0d\)/);
  });

  it('fails the policy check when the API does not route to the pool', async () => {
    arm.policies.set('openai', '<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>');
    const check = byName(await runDoctor(ports(env())))['API policy']!;
    expect(check).toMatchObject({ status: 'failed', fix: 'Add <set-backend-service backend-id="openai-instance-backend-pool" /> to the inbound policy of API openai.' });
  });

  it('fails the pool check in verify-only mode when the pool is not deployed, and passes it in deploy mode', async () => {
    arm.reset();
    arm.policies.set('openai', POLICY);
    expect(byName(await runDoctor(ports(env())))['APIM pool (ARM read)']!.status).toBe('failed');
    expect(byName(await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' }))))['APIM pool (ARM read)']!.status).toBe('ok');
  });

  it('says the subscription key is refused when the gateway answers 401, and never prints the key', async () => {
    gateway.setScript(() => ({ type: 'json', status: 401, body: { statusCode: 401, message: 'Access denied due to invalid subscription key.' } }));
    const checks = await runDoctor(ports(env()));
    expect(byName(checks)['gateway probe']).toMatchObject({ status: 'failed', fix: expect.stringMatching(/^Set APIM_SUBSCRIPTION_KEY to a valid key/) });
    expect(printed(checks)).not.toContain(SUBSCRIPTION_KEY);
  });

  it('fails the probe when no member matches the identifying header', async () => {
    gateway.setScript(() => ({ type: 'json', region: 'North Europe', body: chatCompletion() }));
    expect(byName(await runDoctor(ports(env())))['gateway probe']).toMatchObject({ status: 'failed', detail: 'answered 200, but no member matched the x-ms-region header' });
  });

  it('detects a Key Vault reference that reached the app unresolved, names the role, and stops there', async () => {
    const reference = '@Microsoft.KeyVault(VaultName=kv-apv-x;SecretName=apim-subscription-key)';
    const probesBefore = gateway.requests.length;
    const checks = await runDoctor(ports(env({ APIM_SUBSCRIPTION_KEY: reference })));
    expect(checks[0]).toMatchObject({
      name: 'Key Vault references',
      status: 'failed',
      detail: 'APIM_SUBSCRIPTION_KEY reached the app as the literal @Microsoft.KeyVault(...) text: the reference did not resolve.',
      fix: expect.stringContaining('Key Vault Secrets User (4633458b-17de-408a-b874-0445c86b69e6)'),
    });
    expect(checks.filter((check) => check.status === 'skipped').map((check) => check.name)).toEqual(['pool definition', 'APIM pool (ARM read)', 'API policy', 'gateway probe']);
    expect(arm.requests).toHaveLength(0);
    expect(gateway.requests).toHaveLength(probesBefore);
  });

  it('names every required Azure setting that is missing inside a Function App', async () => {
    const checks = await runDoctor(ports(env({ WEBSITE_SITE_NAME: 'func-apv-x' })));
    const check = byName(checks)['required settings']!;
    expect(check.status).toBe('failed');
    expect(check.detail).toBe(
      'missing: AzureWebJobsStorage__accountName, APPLICATIONINSIGHTS_CONNECTION_STRING, LOGS_SOURCE',
    );
  });

  it('reports bad settings by name without echoing a secret', async () => {
    const checks = await runDoctor(ports(env({ PROBE_MAX_REQUESTS: 'many', APIM_SUBSCRIPTION_KEY: undefined })));
    const settings = byName(checks).settings!;
    expect(settings.status).toBe('failed');
    expect(settings.detail).toContain('PROBE_MAX_REQUESTS');
    expect(printed(checks)).not.toContain(SUBSCRIPTION_KEY);
  });
});
