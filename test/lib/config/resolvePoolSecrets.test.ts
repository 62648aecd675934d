import { ConfigError } from '../../../src/lib/config/ConfigError';
import { loadConfig } from '../../../src/lib/config/loadConfig';
import { resolvePoolSecrets, settingsNamedBy } from '../../../src/lib/config/resolvePoolSecrets';
import type { ResolvedPool } from '../../../src/lib/pool/types';

type PoolSecretsInput = Pick<ResolvedPool, 'name' | 'gateway' | 'alerts'>;

function pool(gateway: Partial<PoolSecretsInput['gateway']> = {}, webhookUrlSetting?: string): PoolSecretsInput {
  return {
    name: 'gpt-4o-pool',
    gateway: { url: gateway.url, subscriptionKeySetting: gateway.subscriptionKeySetting },
    alerts: { webhookUrlSetting },
  };
}

const APP = {
  APIM_GATEWAY_URL: 'https://apim-app.azure-api.net/openai/',
  APIM_SUBSCRIPTION_KEY: 'app-key-0123456789',
  ALERT_WEBHOOK_URL: 'https://hooks.example.com/app-secret-path',
};

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolvePoolSecrets', () => {
  it("falls back to the app's single-pool settings when the definition names none", () => {
    expect(resolvePoolSecrets(pool(), APP)).toEqual({
      gatewayUrl: 'https://apim-app.azure-api.net/openai',
      subscriptionKey: 'app-key-0123456789',
      webhookUrl: 'https://hooks.example.com/app-secret-path',
    });
  });

  it('gives undefined for what neither the definition nor the settings give', () => {
    expect(resolvePoolSecrets(pool(), {})).toEqual({ gatewayUrl: undefined, subscriptionKey: undefined, webhookUrl: undefined });
  });

  it('uses the gateway URL and the settings the definition names', () => {
    const env = { ...APP, APIM_KEY_GPT4O: '  gpt4o-key-abc  ', TEAM_A_WEBHOOK_URL: 'https://hooks.example.com/team-a/' };
    expect(
      resolvePoolSecrets(pool({ url: 'https://apim-x.azure-api.net/gpt4o', subscriptionKeySetting: 'APIM_KEY_GPT4O' }, 'TEAM_A_WEBHOOK_URL'), env),
    ).toEqual({ gatewayUrl: 'https://apim-x.azure-api.net/gpt4o', subscriptionKey: 'gpt4o-key-abc', webhookUrl: 'https://hooks.example.com/team-a' });
  });

  it('refuses a named setting that is missing or blank, naming it and the pool, never falling back to the app', () => {
    const error = configError(() =>
      resolvePoolSecrets(pool({ subscriptionKeySetting: 'APIM_KEY_GPT4O' }, 'TEAM_A_WEBHOOK_URL'), { ...APP, TEAM_A_WEBHOOK_URL: '   ' }),
    );
    expect(error.issues).toEqual([
      { key: 'APIM_KEY_GPT4O', message: expect.stringContaining('is not set or is empty (named by gateway.subscriptionKeySetting of pool "gpt-4o-pool")') },
      { key: 'TEAM_A_WEBHOOK_URL', message: expect.stringContaining('is not set or is empty (named by alerts.webhookUrlSetting of pool "gpt-4o-pool")') },
    ]);
    expect(error.message).not.toContain(APP.APIM_SUBSCRIPTION_KEY);
    expect(error.message).not.toContain('app-secret-path');
  });

  it('refuses bad values of named settings without ever showing them', () => {
    const env = {
      APIM_KEY_GPT4O: 'secret key with spaces',
      TEAM_A_WEBHOOK_URL: 'https://user:hunter2@hooks.example.com/secret-token',
      TEAM_B_WEBHOOK_URL: 'hooks.example.com/secret-token-b',
    };
    const error = configError(() => resolvePoolSecrets(pool({ subscriptionKeySetting: 'APIM_KEY_GPT4O' }, 'TEAM_A_WEBHOOK_URL'), env));
    const errorB = configError(() => resolvePoolSecrets(pool({}, 'TEAM_B_WEBHOOK_URL'), env));
    expect(error.issues.map((issue) => issue.key)).toEqual(['APIM_KEY_GPT4O', 'TEAM_A_WEBHOOK_URL']);
    expect(error.issues[0]?.message).toMatch(/visible ASCII.*its value is not shown/);
    expect(error.issues[1]?.message).toMatch(/must not contain credentials.*its value is not shown/);
    expect(errorB.issues[0]?.message).toMatch(/is not an absolute http\(s\) URL.*its value is not shown/);
    for (const text of [error.message, errorB.message]) {
      for (const secret of ['secret key', 'hunter2', 'secret-token', 'hooks.example.com']) expect(text).not.toContain(secret);
    }
  });

  it('refuses a bad fallback setting without showing its secret value', () => {
    const error = configError(() => resolvePoolSecrets(pool(), { ALERT_WEBHOOK_URL: 'not a url secret-xyz' }));
    expect(error.issues).toEqual([{ key: 'ALERT_WEBHOOK_URL', message: expect.stringContaining('absolute http(s) URL') }]);
    expect(error.message).not.toContain('secret-xyz');
  });
});

describe('settingsNamedBy and loadConfig', () => {
  const pools = [pool({ subscriptionKeySetting: 'APIM_KEY_GPT4O' }, 'ALERT_TEAM_A'), pool({ subscriptionKeySetting: 'APIM_KEY_GPT4O' }), pool()];

  it('lists each named setting once, sorted', () => {
    expect(settingsNamedBy(pools)).toEqual(['ALERT_TEAM_A', 'APIM_KEY_GPT4O']);
  });

  it('lets loadConfig take the named settings for known ones, not for mistyped settings', () => {
    const env = { APIM_KEY_GPT4O: 'k', ALERT_TEAM_A: 'https://hooks.example.com/a' };
    expect(configError(() => loadConfig(env)).issues.map((issue) => issue.key)).toEqual(['ALERT_TEAM_A', 'APIM_KEY_GPT4O']);
    expect(() => loadConfig(env, { definitionSettings: settingsNamedBy(pools) })).not.toThrow();
  });
});
