import { main, type CliIo } from '../../src/cli/main';
import { startFakeArmServer, type FakeArmServer } from '../lib/deploy/fakeArmServer';
import { chatCompletion, startFakeGateway, type FakeGateway } from '../lib/probe/fakeGateway';
import { doctorSettings } from '../support/doctorSettings';

const SECRET_KEY = 'SECRET-SUBSCRIPTION-KEY-doctor-77';

async function run(argv: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe('apim-pool-verifier doctor', () => {
  let arm: FakeArmServer;
  let gateway: FakeGateway;
  const saved = process.env.AZURE_TOKEN_CREDENTIALS;

  beforeAll(async () => {
    // DefaultAzureCredential limited to developer sign-ins: with none on this machine it fails at once, offline.
    process.env.AZURE_TOKEN_CREDENTIALS = 'dev';
    arm = await startFakeArmServer();
    gateway = await startFakeGateway(() => ({ type: 'json', region: 'West US', body: chatCompletion() }));
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.AZURE_TOKEN_CREDENTIALS;
    else process.env.AZURE_TOKEN_CREDENTIALS = saved;
    await arm.close();
    await gateway.close();
  });

  const env = (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({
    ...doctorSettings(gateway.url, arm.endpoint, SECRET_KEY),
    ...overrides,
  });

  it('exits 3 and prints the fix when a Key Vault reference reached the app unresolved', async () => {
    const result = await run(['doctor'], env({ APIM_SUBSCRIPTION_KEY: '@Microsoft.KeyVault(VaultName=kv;SecretName=apim-subscription-key)' }));
    expect(result.code).toBe(3);
    expect(result.stdout.split('\n')[0]).toBe(
      'FAILED  Key Vault references: APIM_SUBSCRIPTION_KEY reached the app as the literal @Microsoft.KeyVault(...) text: the reference did not resolve.',
    );
    expect(result.stdout).toContain('        fix: Grant Key Vault Secrets User (4633458b-17de-408a-b874-0445c86b69e6) on the vault');
    expect(arm.requests).toHaveLength(0);
  });

  it('exits 4 with "sign in" when no Azure identity gives an ARM token, and still probes the gateway', async () => {
    const result = await run(['doctor', '--json'], env());
    const { checks } = JSON.parse(result.stdout) as { checks: Array<{ name: string; status: string; fix?: string }> };
    expect(result.code).toBe(4);
    const arm = checks.find((check) => check.name === 'APIM pool (ARM read)')!;
    expect(arm.status).toBe('failed');
    expect(arm.fix).toMatch(/^Sign in \(az login\)/);
    expect(checks.find((check) => check.name === 'gateway probe')).toMatchObject({ status: 'ok' });
    expect(result.stdout + result.stderr).not.toContain(SECRET_KEY);
  });
});
