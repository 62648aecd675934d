import { HttpRequest, InvocationContext } from '@azure/functions';
import { doctor } from '../../src/functions/doctor';
import { startFakeArmServer, type FakeArmServer } from '../lib/deploy/fakeArmServer';
import { chatCompletion, startFakeGateway, type FakeGateway } from '../lib/probe/fakeGateway';
import { doctorSettings } from '../support/doctorSettings';

const SECRET_KEY = 'SECRET-SUBSCRIPTION-KEY-api-doctor-31';
const KEYS = [
  'APIM_GATEWAY_URL',
  'APIM_SUBSCRIPTION_KEY',
  'POOL_DEFINITION_PATH',
  'ARM_ENDPOINT',
  'APIM_API_ID',
  'APIM_SUBSCRIPTION_ID',
  'APIM_RESOURCE_GROUP',
  'APIM_SERVICE_NAME',
  'AZURE_TOKEN_CREDENTIALS',
] as const;

describe('GET /api/doctor', () => {
  let arm: FakeArmServer;
  let gateway: FakeGateway;
  const saved = Object.fromEntries(KEYS.map((key) => [key, process.env[key]]));

  beforeAll(async () => {
    arm = await startFakeArmServer();
    gateway = await startFakeGateway(() => ({ type: 'json', region: 'West US', body: chatCompletion() }));
  });
  beforeEach(() => {
    Object.assign(process.env, {
      ...doctorSettings(gateway.url, arm.endpoint, SECRET_KEY),
      // Developer sign-ins only: none exists here, so the token fails at once and offline.
      AZURE_TOKEN_CREDENTIALS: 'dev',
    });
    arm.clearRequests();
  });
  afterAll(async () => {
    for (const key of KEYS) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    await arm.close();
    await gateway.close();
  });

  const call = async (): Promise<{ status: number | undefined; body: { status: string; checks: Array<{ name: string; status: string; fix?: string }> } }> => {
    const response = await doctor(new HttpRequest({ method: 'GET', url: 'http://localhost/api/doctor' }), new InvocationContext());
    return { status: response.status, body: response.jsonBody as never };
  };

  it('answers 503 naming the unresolved Key Vault reference, and calls nothing else', async () => {
    process.env.APIM_SUBSCRIPTION_KEY = '@Microsoft.KeyVault(VaultName=kv-apv-x;SecretName=apim-subscription-key)';
    const { status, body } = await call();
    expect(status).toBe(503);
    expect(body.checks[0]).toMatchObject({ name: 'Key Vault references', status: 'failed' });
    expect(arm.requests).toHaveLength(0);
  });

  it('answers 503 with the sign-in fix when the identity gets no ARM token, with the probe still checked and no secret', async () => {
    const { status, body } = await call();
    expect(status).toBe(503);
    expect(body.status).toBe('failed');
    expect(body.checks.find((check) => check.name === 'APIM pool (ARM read)')).toMatchObject({ status: 'failed', fix: expect.stringMatching(/^Sign in/) });
    expect(body.checks.find((check) => check.name === 'gateway probe')).toMatchObject({ status: 'ok' });
    expect(JSON.stringify(body)).not.toContain(SECRET_KEY);
  });
});
