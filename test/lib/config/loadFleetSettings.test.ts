import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError } from '../../../src/lib/config/ConfigError';
import { loadFleetSettings } from '../../../src/lib/config/loadFleetSettings';
import { DefinitionError } from '../../../src/lib/pool/DefinitionError';
import { minimalDocument } from '../pool/fixtures';

/** Settings of a Function App in azure, without the single-pool gateway and key. */
const AZURE_BASE = {
  VERIFIER_ENVIRONMENT: 'azure',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
  LOGS_SOURCE: 'appinsights',
  APPINSIGHTS_RESOURCE_ID: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Insights/components/ai',
  AzureWebJobsStorage__accountName: 'stverifier',
  POOL_DEFINITION_PATH: 'pools',
};

function write(folder: string, file: string, name: string, extra: Record<string, unknown>): void {
  const document = minimalDocument();
  document.pool.name = name;
  writeFileSync(join(folder, file), JSON.stringify({ ...document, ...extra }));
}

async function failure(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('loadFleetSettings', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'fleet-settings-'));
    mkdirSync(join(root, 'pools'));
    write(join(root, 'pools'), 'a.json', 'pool-a', {
      gateway: { url: 'https://apim-x.azure-api.net/a', subscriptionKeySetting: 'APIM_KEY_A' },
      alerts: { webhookUrlSetting: 'ALERT_TEAM_A' },
    });
    write(join(root, 'pools'), 'b.json', 'pool-b', { gateway: { url: 'https://apim-x.azure-api.net/b', subscriptionKeySetting: 'APIM_KEY_B' } });
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('reads a folder in azure where every pool has its own gateway and key: no single-pool gateway or key needed', async () => {
    const env = { ...AZURE_BASE, APIM_KEY_A: 'key-a', APIM_KEY_B: 'key-b', ALERT_TEAM_A: 'https://hooks.example.com/a', ALERT_WEBHOOK_URL: 'https://hooks.example.com/app' };
    const { settings, pools } = await loadFleetSettings(env, { appRoot: root });
    expect(settings.environment).toBe('azure');
    expect(pools.map((pool) => [pool.pool.name, pool.secrets])).toEqual([
      ['pool-a', { gatewayUrl: 'https://apim-x.azure-api.net/a', subscriptionKey: 'key-a', webhookUrl: 'https://hooks.example.com/a' }],
      ['pool-b', { gatewayUrl: 'https://apim-x.azure-api.net/b', subscriptionKey: 'key-b', webhookUrl: 'https://hooks.example.com/app' }],
    ]);
  });

  it('still catches a mistyped setting, and reports unset named settings of every pool in the same error', async () => {
    const env = { ...AZURE_BASE, APIM_KEY_A: 'key-a', PROBE_MAX_REQUEST: '10' };
    const error = await failure(loadFleetSettings(env, { appRoot: root }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.key)).toEqual(['PROBE_MAX_REQUEST', 'ALERT_TEAM_A', 'APIM_KEY_B']);
    expect((error as ConfigError).message).not.toContain('key-a');
  });

  it('requires APIM_GATEWAY_URL and APIM_SUBSCRIPTION_KEY in azure when a pool falls back to them', async () => {
    const folder = join(root, 'fallback');
    mkdirSync(folder);
    write(folder, 'c.json', 'pool-c', {});
    const error = await failure(loadFleetSettings({ ...AZURE_BASE, POOL_DEFINITION_PATH: 'fallback' }, { appRoot: root }));
    expect((error as ConfigError).issues.map((issue) => issue.key)).toEqual(['APIM_GATEWAY_URL', 'APIM_SUBSCRIPTION_KEY']);
  });

  it('keeps the single-file, single-pool settings working as before', async () => {
    write(root, 'single.json', 'pool-s', {});
    const env = { POOL_DEFINITION_PATH: 'single.json', APIM_GATEWAY_URL: 'https://apim-s.azure-api.net/openai', APIM_SUBSCRIPTION_KEY: 'key-s' };
    const { pools } = await loadFleetSettings(env, { appRoot: root });
    expect(pools).toHaveLength(1);
    expect(pools[0]?.secrets).toEqual({ gatewayUrl: 'https://apim-s.azure-api.net/openai', subscriptionKey: 'key-s', webhookUrl: undefined });
  });

  it('passes a definition problem through as a DefinitionError', async () => {
    const error = await failure(loadFleetSettings({ POOL_DEFINITION_PATH: 'absent.json' }, { appRoot: root }));
    expect(error).toBeInstanceOf(DefinitionError);
  });
});
