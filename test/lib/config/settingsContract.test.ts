import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { HOST_KEYS, loadConfig, SECRET_KEYS, SETTING_KEYS } from '../../../src/lib/config/loadConfig';

const root = join(__dirname, '..', '..', '..');
const sample = JSON.parse(readFileSync(join(root, 'local.settings.sample.json'), 'utf8')) as {
  IsEncrypted: boolean;
  Values: Record<string, string>;
};

describe('local.settings.sample.json', () => {
  it('uses the Functions format with the node worker and development storage', () => {
    expect(sample.IsEncrypted).toBe(false);
    expect(sample.Values['FUNCTIONS_WORKER_RUNTIME']).toBe('node');
    expect(sample.Values['AzureWebJobsStorage']).toBe('UseDevelopmentStorage=true');
  });

  it('names only keys that loadConfig or the Functions host knows', () => {
    const known = new Set<string>([...SETTING_KEYS, ...HOST_KEYS]);
    expect(Object.keys(sample.Values).filter((key) => !known.has(key))).toEqual([]);
  });

  it('lists every setting loadConfig reads', () => {
    expect(SETTING_KEYS.filter((key) => !(key in sample.Values))).toEqual([]);
  });

  it('carries no secret: secret keys are empty or an obvious <placeholder>', () => {
    for (const key of SECRET_KEYS) {
      const value = sample.Values[key] ?? '';
      expect(value === '' || /^<[^>]+>$/.test(value) || value === 'UseDevelopmentStorage=true').toBe(true);
    }
  });

  it('cannot turn the demo half-real: no endpoint URL, and no value that overrides the demo\'s schedule, store or window', () => {
    // Copying the sample to local.settings.json (as the README suggests) must leave `npm start` on the embedded
    // environment: a real ARM_ENDPOINT would send the start-up deploy to Azure with the developer's sign-in.
    const urls = Object.entries(sample.Values).filter(([, value]) => /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim()));
    expect(urls).toEqual([]);
    for (const key of ['PROBE_SCHEDULE', 'STORE_PATH', 'REPORT_PRIMARY_WINDOW', 'APIM_GATEWAY_URL', 'VERIFIER_ENVIRONMENT']) {
      expect([key, sample.Values[key]]).toEqual([key, '']);
    }
  });

  it('loads as it stands, selecting the local environment', () => {
    const settings = loadConfig(sample.Values);
    expect(settings.environment).toBe('local');
    expect(settings.alerts.stateStore).toBe('local');
  });
});

describe('the Settings contract (src/lib/config/types.ts)', () => {
  const contract = readFileSync(join(root, 'src', 'lib', 'config', 'types.ts'), 'utf8');
  const documented = new Set(contract.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|AzureWebJobsStorage(?:__[a-zA-Z]+)?/g) ?? []);

  it('has every documented environment variable in SETTING_KEYS', () => {
    const known: readonly string[] = [...SETTING_KEYS, ...HOST_KEYS];
    expect([...documented].filter((key) => !known.includes(key))).toEqual([]);
  });

  it('documents every key of SETTING_KEYS', () => {
    expect(SETTING_KEYS.filter((key) => !documented.has(key))).toEqual([]);
  });
});
