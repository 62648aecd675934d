import { DefinitionError, resolvePool } from '../../../src/lib/pool';
import { minimalDocument } from './fixtures';

/** The issues `resolvePool` reports for the minimal document with `extra` merged in at the top level. */
function issuesWith(extra: Record<string, unknown>): { path: string; message: string }[] {
  try {
    resolvePool({ ...minimalDocument(), ...extra });
  } catch (error) {
    if (error instanceof DefinitionError) return error.issues.map((issue) => ({ ...issue }));
    throw error;
  }
  return [];
}

const HEX_KEY = 'abcdef0123456789abcdef0123456789';

describe('definition sections gateway and alerts', () => {
  it('resolves both sections, dropping trailing slashes from the gateway URL', () => {
    const pool = resolvePool({
      ...minimalDocument(),
      gateway: { url: 'https://apim-x.azure-api.net/openai/', subscriptionKeySetting: 'APIM_KEY_GPT4O' },
      alerts: { webhookUrlSetting: 'TEAM_A_WEBHOOK_URL' },
    });
    expect(pool.gateway).toEqual({ url: 'https://apim-x.azure-api.net/openai', subscriptionKeySetting: 'APIM_KEY_GPT4O' });
    expect(pool.alerts).toEqual({ webhookUrlSetting: 'TEAM_A_WEBHOOK_URL' });
    expect(Object.isFrozen(pool.gateway)).toBe(true);
  });

  it('resolves absent sections to undefined members', () => {
    const pool = resolvePool(minimalDocument());
    expect(pool.gateway).toEqual({ url: undefined, subscriptionKeySetting: undefined });
    expect(pool.alerts).toEqual({ webhookUrlSetting: undefined });
  });

  it('accepts setting names with __ sections', () => {
    expect(issuesWith({ gateway: { subscriptionKeySetting: 'Keys__Gpt4o_Prod' }, alerts: { webhookUrlSetting: '_HOOK' } })).toEqual([]);
  });

  it.each([
    ['a 32-hex subscription key', HEX_KEY, 'looks like a key'],
    ['an upper-case hex key', HEX_KEY.toUpperCase(), 'looks like a key'],
    ['a base62 key', 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f', 'looks like a key'],
    ['a hex key inside a name', `KEY_${HEX_KEY}`, 'looks like a key'],
    ['a URL', 'https://hooks.example.com/services/T000/B000/XXXX', 'looks like a URL'],
  ])('refuses %s as a setting name without echoing it', (_label, value, expected) => {
    for (const [section, key] of [
      ['gateway', 'subscriptionKeySetting'],
      ['alerts', 'webhookUrlSetting'],
    ] as const) {
      const issues = issuesWith({ [section]: { [key]: value } });
      expect(issues).toHaveLength(1);
      expect(issues[0]?.path).toBe(`$.${section}.${key}`);
      expect(issues[0]?.message).toContain(expected);
      expect(issues[0]?.message).toContain('write that setting\'s name here');
      expect(JSON.stringify(issues)).not.toContain(value);
      expect(JSON.stringify(issues)).not.toContain(value.slice(0, 12));
    }
  });

  it.each([
    ['a name starting with a digit', '1KEY'],
    ['a name with a dash', 'APIM-KEY'],
    ['a name with a space', 'APIM KEY'],
    ['a Key Vault reference written in place of a name', '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/k)'],
  ])('refuses %s, showing the rule but not the value', (_label, value) => {
    const issues = issuesWith({ gateway: { subscriptionKeySetting: value } });
    expect(issues).toEqual([{ path: '$.gateway.subscriptionKeySetting', message: expect.stringMatching(/must be the NAME of an app setting.*the value is not shown/) }]);
    expect(issues[0]?.message).not.toContain(value);
  });

  it('refuses an empty, an over-long and a non-string setting name', () => {
    expect(issuesWith({ alerts: { webhookUrlSetting: '' } })).toEqual([{ path: '$.alerts.webhookUrlSetting', message: 'must not be empty' }]);
    expect(issuesWith({ alerts: { webhookUrlSetting: 'A'.repeat(129) } })[0]?.message).toBe('must be 1–128 characters long, got 129');
    expect(issuesWith({ alerts: { webhookUrlSetting: 42 } })[0]?.message).toBe('must be a string, got 42');
  });

  it('takes long names of words and one-letter runs for names, not keys', () => {
    expect(issuesWith({ gateway: { subscriptionKeySetting: 'APIM_SUBSCRIPTION_KEY_FOR_GPT4O_PROD_EASTUS_2' } })).toEqual([]);
    expect(issuesWith({ gateway: { subscriptionKeySetting: 'A'.repeat(40) } })).toEqual([]);
  });

  it.each([
    ['a query string', 'https://apim-x.azure-api.net/openai?subscription-key=s3cr3tvalue', 'without credentials, query or fragment'],
    ['a fragment', 'https://apim-x.azure-api.net/openai#frag', 'without credentials, query or fragment'],
    ['credentials', 'https://user:pa55word@apim-x.azure-api.net/openai', 'must not contain credentials'],
    ['no scheme', 'apim-x.azure-api.net/openai', 'absolute http(s)'],
    ['another scheme', 'ftp://apim-x.azure-api.net/openai', 'absolute http(s)'],
    ['no host', 'https:///openai', 'host'],
  ])('refuses a gateway URL with %s, never echoing a secret part', (_label, url, expected) => {
    const issues = issuesWith({ gateway: { url } });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('$.gateway.url');
    expect(issues[0]?.message).toContain(expected);
    expect(issues[0]?.message).not.toMatch(/s3cr3tvalue|pa55word/);
  });

  it('refuses unknown keys in both sections, with a suggestion when one is close', () => {
    expect(issuesWith({ gateway: { url: 'https://apim-x.azure-api.net/openai', subscriptionKey: HEX_KEY } })).toEqual([
      { path: '$.gateway.subscriptionKey', message: 'unknown key (allowed here: url, subscriptionKeySetting)' },
    ]);
    expect(issuesWith({ gateway: { subscriptionKeySeting: 'APIM_KEY' } })).toEqual([
      { path: '$.gateway.subscriptionKeySeting', message: 'unknown key (did you mean "subscriptionKeySetting"?)' },
    ]);
    expect(issuesWith({ alerts: { webhookUrl: 'https://hooks.example.com/x' } })).toEqual([
      { path: '$.alerts.webhookUrl', message: 'unknown key (allowed here: webhookUrlSetting)' },
    ]);
  });

  it('refuses sections that are not objects', () => {
    expect(issuesWith({ gateway: 'https://apim-x.azure-api.net/openai', alerts: [] })).toEqual([
      { path: '$.gateway', message: 'must be an object, got "https://apim-x.azure-api.net/openai"' },
      { path: '$.alerts', message: 'must be an object, got an array of 0' },
    ]);
  });

  it('refuses control and bidi characters in a setting name', () => {
    const issues = issuesWith({ gateway: { subscriptionKeySetting: 'APIM\u202eKEY' } });
    expect(issues).toEqual([{ path: '$.gateway.subscriptionKeySetting', message: expect.stringContaining('U+202E') }]);
  });
});
