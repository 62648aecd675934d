import { createServices } from '../../src/app/createServices';
import { AZURE_REQUIRED_SETTINGS } from '../../src/lib/config/azureSettings';
import { ConfigError } from '../../src/lib/config/ConfigError';
import { loadConfig } from '../../src/lib/config/loadConfig';
import { runsPerHourOf } from '../../src/app/runsPerHourOf';
import { runStartup } from '../../src/app/runStartup';
import { scheduleWarning } from '../../src/app/scheduleWarning';
import { DefinitionError } from '../../src/lib/pool/DefinitionError';
import { APP_ROOT, recordUnhandledRejections, type RejectionRecorder } from './support';

/**
 * Bad settings: `loadConfig` throws one ConfigError naming every bad key (with what is allowed), echoes
 * non-secret values and never a secret one; `createServices` fails the same way before it opens anything.
 */

const GATEWAY = { APIM_GATEWAY_URL: 'https://apim-x.azure-api.net/openai', APIM_SUBSCRIPTION_KEY: 'SECRET-SUBKEY-corpus-0001' };

/** A complete azure-environment configuration (identity-based storage, as Microsoft's templates do); each case breaks one thing. */
const AZURE_READY: Record<string, string> = {
  WEBSITE_INSTANCE_ID: 'a1b2c3d4e5f6',
  WEBSITE_SITE_NAME: 'func-pool-verifier',
  ...GATEWAY,
  POOL_DEFINITION_PATH: 'pools/production.json',
  AzureWebJobsStorage__accountName: 'stverifier01',
  AzureWebJobsStorage__credential: 'managedidentity',
  AzureWebJobsStorage__clientId: '11111111-2222-3333-4444-555555555555',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-1111-4222-8333-444444444444;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/',
  LOGS_SOURCE: 'workspace',
  LOGS_WORKSPACE_ID: '8b3e1c2a-1111-2222-3333-444455556666',
};

interface Case {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly key: string;
  readonly cause: RegExp;
  /** A value that must not appear in the error (a secret). */
  readonly secret?: string;
}

const CASES: readonly Case[] = [
  { name: 'gateway URL that is not a URL', env: { APIM_GATEWAY_URL: 'apim-x.azure-api.net', APIM_SUBSCRIPTION_KEY: 'k' }, key: 'APIM_GATEWAY_URL', cause: /http/ },
  { name: 'gateway URL with ftp scheme', env: { APIM_GATEWAY_URL: 'ftp://apim-x.azure-api.net/openai', APIM_SUBSCRIPTION_KEY: 'k' }, key: 'APIM_GATEWAY_URL', cause: /http/ },
  { name: 'gateway URL with credentials in it', env: { APIM_GATEWAY_URL: 'https://user:SECRET-PASS-77@apim-x.azure-api.net/openai', APIM_SUBSCRIPTION_KEY: 'k' }, key: 'APIM_GATEWAY_URL', cause: /credential|user/i, secret: 'SECRET-PASS-77' },
  { name: 'gateway URL without the subscription key', env: { APIM_GATEWAY_URL: 'https://apim-x.azure-api.net/openai' }, key: 'APIM_SUBSCRIPTION_KEY', cause: /required/ },
  { name: 'azure environment without a gateway', env: { VERIFIER_ENVIRONMENT: 'azure' }, key: 'APIM_GATEWAY_URL', cause: /^is required in the azure environment \(VERIFIER_ENVIRONMENT=azure\)$/ },
  { name: 'unknown environment', env: { VERIFIER_ENVIRONMENT: 'cloud' }, key: 'VERIFIER_ENVIRONMENT', cause: /local, azure \(embedded is an alias of local\)/ },
  // The azure environment (detected from the Function App's own settings): every requirement, each by name.
  { name: 'gateway missing in a Function App', env: { ...AZURE_READY, APIM_GATEWAY_URL: '' }, key: 'APIM_GATEWAY_URL', cause: /^is required in the azure environment \(WEBSITE_INSTANCE_ID is set \(running in a Function App\)\)$/ },
  { name: 'subscription key missing in azure', env: { ...AZURE_READY, APIM_SUBSCRIPTION_KEY: '' }, key: 'APIM_SUBSCRIPTION_KEY', cause: /^is required in the azure environment$/ },
  { name: 'lab pool refused as a default in azure', env: { ...AZURE_READY, POOL_DEFINITION_PATH: '' }, key: 'POOL_DEFINITION_PATH', cause: /^is required in the azure environment \(the lab pool is never a default there\)$/ },
  { name: 'no storage account in azure', env: { ...AZURE_READY, AzureWebJobsStorage__accountName: '', AzureWebJobsStorage__credential: '', AzureWebJobsStorage__clientId: '' }, key: 'AzureWebJobsStorage__accountName', cause: /^is required in the azure environment \(or AzureWebJobsStorage__tableServiceUri/ },
  { name: 'no Logs source in azure', env: { ...AZURE_READY, LOGS_SOURCE: '' }, key: 'LOGS_SOURCE', cause: /^is required in the azure environment: workspace/ },
  { name: 'the local Logs source in azure', env: { ...AZURE_READY, LOGS_SOURCE: 'local' }, key: 'LOGS_SOURCE', cause: /^must be workspace or appinsights in the azure environment/ },
  { name: 'no App Insights in azure', env: { ...AZURE_READY, APPLICATIONINSIGHTS_CONNECTION_STRING: '' }, key: 'APPLICATIONINSIGHTS_CONNECTION_STRING', cause: /^is required in the azure environment/ },
  { name: 'local alert state in azure', env: { ...AZURE_READY, ALERT_STATE_STORE: 'local' }, key: 'ALERT_STATE_STORE', cause: /^must be table in the azure environment/ },
  { name: 'identity storage with a bad account name', env: { ...AZURE_READY, AzureWebJobsStorage__accountName: 'Not_An_Account' }, key: 'AzureWebJobsStorage__accountName', cause: /storage account name/ },
  { name: 'identity storage with a client id that is not a GUID', env: { ...AZURE_READY, AzureWebJobsStorage__clientId: 'my-identity' }, key: 'AzureWebJobsStorage__clientId', cause: /GUID/ },
  { name: 'identity storage with an unknown credential kind', env: { ...AZURE_READY, AzureWebJobsStorage__credential: 'connectionstring' }, key: 'AzureWebJobsStorage__credential', cause: /managedidentity/ },
  { name: 'identity client id without an account', env: { AzureWebJobsStorage__clientId: '11111111-2222-3333-4444-555555555555' }, key: 'AzureWebJobsStorage__accountName', cause: /^is required when AzureWebJobsStorage__clientId is set$/ },
  // Misspelt settings that look like ours: named, with the setting meant.
  { name: 'misspelt PROBE_MAX_REQUEST', env: { PROBE_MAX_REQUEST: '30' }, key: 'PROBE_MAX_REQUEST', cause: /^is not a known setting; did you mean PROBE_MAX_REQUESTS\?$/ },
  { name: 'misspelt ALERT_WEBHOK_URL (secret value)', env: { ALERT_WEBHOK_URL: 'https://hooks.example/SECRET-WEBHOOK-typo-9' }, key: 'ALERT_WEBHOK_URL', cause: /^is not a known setting; did you mean ALERT_WEBHOOK_URL\?$/, secret: 'SECRET-WEBHOOK-typo-9' },
  { name: 'lower-case setting name', env: { deploy_mode: 'deploy' }, key: 'deploy_mode', cause: /^is not a known setting; did you mean DEPLOY_MODE\?$/ },
  { name: 'unknown setting far from any', env: { REPORT_COLOUR_SCHEME: 'dark' }, key: 'REPORT_COLOUR_SCHEME', cause: /^is not a known setting \(see the settings table in the README\)$/ },
  { name: 'negative probe count', env: { PROBE_MAX_REQUESTS: '-5' }, key: 'PROBE_MAX_REQUESTS', cause: /integer from 1/ },
  { name: 'zero probe count', env: { PROBE_MAX_REQUESTS: '0' }, key: 'PROBE_MAX_REQUESTS', cause: /integer from 1/ },
  { name: 'probe count in exponent notation', env: { PROBE_MAX_REQUESTS: '6e1' }, key: 'PROBE_MAX_REQUESTS', cause: /6e1/ },
  { name: 'probe count above the maximum', env: { PROBE_MAX_REQUESTS: '100001' }, key: 'PROBE_MAX_REQUESTS', cause: /10000/ },
  { name: 'negative concurrency', env: { PROBE_CONCURRENCY: '-4' }, key: 'PROBE_CONCURRENCY', cause: /integer/ },
  { name: 'negative timeout', env: { PROBE_TIMEOUT_MS: '-300' }, key: 'PROBE_TIMEOUT_MS', cause: /integer/ },
  { name: 'five-field cron', env: { PROBE_SCHEDULE: '*/5 * * * *' }, key: 'PROBE_SCHEDULE', cause: /seconds|6/ },
  { name: 'cron in prose', env: { PROBE_SCHEDULE: 'every five minutes' }, key: 'PROBE_SCHEDULE', cause: /./ },
  { name: 'cron with an impossible minute', env: { PROBE_SCHEDULE: '0 61 * * * *' }, key: 'PROBE_SCHEDULE', cause: /./ },
  { name: 'not-a-boolean early stop', env: { PROBE_SEQUENTIAL: 'maybe' }, key: 'PROBE_SEQUENTIAL', cause: /true|false/ },
  { name: 'alpha of zero', env: { VERDICT_ALPHA_RUN: '0' }, key: 'VERDICT_ALPHA_RUN', cause: /0\.5|between/ },
  { name: 'alpha above one half', env: { VERDICT_ALPHA_HOUR: '0.7' }, key: 'VERDICT_ALPHA_HOUR', cause: /0\.5/ },
  { name: 'alpha NaN', env: { VERDICT_ALPHA_DAY: 'NaN' }, key: 'VERDICT_ALPHA_DAY', cause: /number/ },
  { name: 'negative tolerance', env: { VERDICT_TOLERANCE_POINTS: '-1' }, key: 'VERDICT_TOLERANCE_POINTS', cause: /./ },
  { name: 'unknown headline window', env: { REPORT_PRIMARY_WINDOW: 'week' }, key: 'REPORT_PRIMARY_WINDOW', cause: /run.*hour.*day/ },
  { name: 'unknown deploy mode', env: { DEPLOY_MODE: 'yes' }, key: 'DEPLOY_MODE', cause: /verify-only/ },
  { name: 'ARM endpoint without a scheme', env: { ARM_ENDPOINT: 'management.azure.com' }, key: 'ARM_ENDPOINT', cause: /http/ },
  { name: 'subscription id that is not a GUID', env: { APIM_SUBSCRIPTION_ID: 'my-subscription' }, key: 'APIM_SUBSCRIPTION_ID', cause: /GUID/i },
  { name: 'workspace logs without a workspace id', env: { LOGS_SOURCE: 'workspace' }, key: 'LOGS_WORKSPACE_ID', cause: /required/ },
  { name: 'webhook URL that is not a URL (secret)', env: { ALERT_WEBHOOK_URL: 'hooks.example/SECRET-WEBHOOK-corpus-1' }, key: 'ALERT_WEBHOOK_URL', cause: /http/, secret: 'SECRET-WEBHOOK-corpus-1' },
  { name: 'malformed App Insights connection string (secret)', env: { APPLICATIONINSIGHTS_CONNECTION_STRING: 'Key=SECRET-AI-corpus-2' }, key: 'APPLICATIONINSIGHTS_CONNECTION_STRING', cause: /InstrumentationKey/, secret: 'SECRET-AI-corpus-2' },
  { name: 'malformed storage connection string (secret)', env: { AzureWebJobsStorage: 'SECRET-STORAGE-corpus-3' }, key: 'AzureWebJobsStorage', cause: /connection string/, secret: 'SECRET-STORAGE-corpus-3' },
  { name: 'table alert store without storage', env: { ALERT_STATE_STORE: 'table' }, key: 'ALERT_STATE_STORE', cause: /AzureWebJobsStorage/ },
  // Issue 15: every URL setting refuses credentials and never echoes them; a URL needs a host.
  { name: 'gateway URL with no host', env: { APIM_GATEWAY_URL: 'https:///openai', APIM_SUBSCRIPTION_KEY: 'k' }, key: 'APIM_GATEWAY_URL', cause: /must name a host/ },
  { name: 'gateway URL with credentials behind backslashes', env: { APIM_GATEWAY_URL: 'https:\\\\user:SECRET-PASS-78@apim-x.azure-api.net/openai', APIM_SUBSCRIPTION_KEY: 'k' }, key: 'APIM_GATEWAY_URL', cause: /credentials/, secret: 'SECRET-PASS-78' },
  { name: 'ARM endpoint with credentials', env: { ARM_ENDPOINT: 'https://me:SECRET-ARM-79@management.example.net' }, key: 'ARM_ENDPOINT', cause: /credentials/, secret: 'SECRET-ARM-79' },
  { name: 'Logs endpoint with a user name only', env: { LOGS_ENDPOINT: 'https://SECRET-USER-80@api.loganalytics.example.net/v1' }, key: 'LOGS_ENDPOINT', cause: /credentials/, secret: 'SECRET-USER-80' },
  { name: 'webhook URL with credentials (secret)', env: { ALERT_WEBHOOK_URL: 'https://hook:SECRET-WEBHOOK-corpus-81@hooks.example.net/x' }, key: 'ALERT_WEBHOOK_URL', cause: /credentials/, secret: 'SECRET-WEBHOOK-corpus-81' },
  { name: 'webhook URL with no host (secret)', env: { ALERT_WEBHOOK_URL: 'https:///SECRET-WEBHOOK-corpus-82' }, key: 'ALERT_WEBHOOK_URL', cause: /host/, secret: 'SECRET-WEBHOOK-corpus-82' },
  { name: 'unknown webhook format', env: { ALERT_WEBHOOK_FORMAT: 'email' }, key: 'ALERT_WEBHOOK_FORMAT', cause: /generic.*teams.*slack/ },
];

let rejections: RejectionRecorder;
beforeAll(() => {
  rejections = recordUnhandledRejections();
});
afterAll(() => rejections.uninstall());

describe('the azure environment', () => {
  it('accepts the complete identity-based configuration, deploying nothing unless asked (verify-only)', () => {
    const settings = loadConfig(AZURE_READY);
    expect(settings.environment).toBe('azure');
    expect(settings.deploy.mode).toBe('verify-only');
    expect(settings.alerts.stateStore).toBe('table');
    expect(settings.storageIdentity).toEqual({
      tableServiceUri: 'https://stverifier01.table.core.windows.net',
      queueServiceUri: 'https://stverifier01.queue.core.windows.net',
      clientId: '11111111-2222-3333-4444-555555555555',
      credential: 'managedidentity',
    });
    expect(loadConfig({ ...AZURE_READY, DEPLOY_MODE: 'deploy' }).deploy.mode).toBe('deploy');
  });

  it('names every setting of AZURE_REQUIRED_SETTINGS when none is given', () => {
    const keys = (() => {
      try {
        loadConfig({ WEBSITE_INSTANCE_ID: 'a1b2c3d4e5f6' });
      } catch (error) {
        return (error as ConfigError).issues.map((issue) => issue.key);
      }
      return [];
    })();
    expect([...keys].sort()).toEqual([...AZURE_REQUIRED_SETTINGS].sort());
  });

  it('createServices in a Function App without a gateway never starts the emulator', async () => {
    let started = 0;
    const error = await createServices({ ...AZURE_READY, APIM_GATEWAY_URL: '' }, { appRoot: APP_ROOT, startEmbedded: async () => { started += 1; throw new Error('must not start'); } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // The definitions are read before the gateway is known to be needed (a definition may name its own), so the
    // missing definition file is what is reported here; either way nothing falls back to the emulator.
    expect(error instanceof ConfigError || error instanceof DefinitionError).toBe(true);
    expect(started).toBe(0);
  });
});

describe('bad settings', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: ConfigError naming the key, no secret echoed', (_name, c) => {
    let error: unknown;
    try {
      loadConfig(c.env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issue = (error as ConfigError).issues.find((i) => i.key === c.key);
    expect(issue?.message).toMatch(c.cause);
    expect((error as ConfigError).message).toContain(c.key);
    if (c.secret) expect((error as ConfigError).message).not.toContain(c.secret);
    // The subscription key never appears, whatever else is wrong.
    expect((error as ConfigError).message).not.toContain(GATEWAY.APIM_SUBSCRIPTION_KEY);
  });

  it('reports every bad key at once, not just the first', () => {
    const env = Object.assign({}, ...CASES.filter((c) => c.key.startsWith('VERDICT') || c.key.startsWith('PROBE_')).slice(0, 5).map((c) => c.env)) as Record<string, string>;
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect((error as ConfigError).issues.map((i) => i.key).sort()).toEqual(Object.keys(env).sort());
  });

  it('createServices refuses bad settings before opening a store or starting anything', async () => {
    let started = 0;
    await expect(
      createServices({ PROBE_MAX_REQUESTS: '-1', STORE_PATH: ':memory:' }, { appRoot: APP_ROOT, startEmbedded: async () => { started += 1; throw new Error('must not start'); } }),
    ).rejects.toBeInstanceOf(ConfigError);
    expect(started).toBe(0);
  });

  it('createServices refuses a missing definition file naming it, before starting the emulator', async () => {
    let started = 0;
    const error = await createServices({ POOL_DEFINITION_PATH: 'no/such/pool.json', STORE_PATH: ':memory:' }, {
      appRoot: APP_ROOT,
      startEmbedded: async () => {
        started += 1;
        throw new Error('must not start');
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toMatch(/no\/such\/pool\.json does not exist/);
    expect(started).toBe(0);
  });

  // Was a bug: cron-parser's next() is strictly after `currentDate`, so the firing at `fromMs` was never counted
  // (the default read 11.958, a daily schedule 0). Fixed by starting at `fromMs - 1`; computed once per app.
  it.each([
    ['0 */5 * * * *', 12],
    ['0 0 * * * *', 1],
    ['*/15 * * * * *', 240],
    // A daily run at midnight reads 0 runs an hour (its one firing is the one skipped).
    ['0 0 0 * * *', 1 / 24],
  ])('the schedule %s fires %d times an hour', (schedule, perHour) => {
    expect(runsPerHourOf(schedule)).toBe(perHour);
  });

  describe('a schedule that fires less than once a day (issue 15: accepted without a word)', () => {
    it.each([
      ['every four years (29 February)', '0 0 0 29 2 *', /fires less than once in a week/],
      ['monthly', '0 0 0 1 * *', /fires less than once in a week|fires 1 time in a week/],
      ['weekly', '0 0 6 * * MON', /fires 1 time in a week/],
      ['weekdays only', '0 0 6 * * MON-FRI', /fires 5 times in a week/],
    ])('%s is warned about', (_name, schedule, count) => {
      expect(scheduleWarning(schedule)).toMatch(count);
      expect(scheduleWarning(schedule)).toMatch(/can never be conclusive/);
    });

    it.each([['0 */5 * * * *'], ['0 0 0 * * *'], ['0 0 */6 * * *']])('%s (at least daily) is not', (schedule) => {
      expect(scheduleWarning(schedule)).toBeUndefined();
    });

    it('is logged at start-up, and the app still starts', async () => {
      const services = await createServices(
        { PROBE_SCHEDULE: '0 0 0 29 2 *', DEPLOY_ON_STARTUP: 'false', STORE_PATH: ':memory:', APIM_GATEWAY_URL: 'https://apim-x.azure-api.net/openai', APIM_SUBSCRIPTION_KEY: 'k' },
        { appRoot: APP_ROOT },
      );
      try {
        const lines: string[] = [];
        await runStartup(services, (line) => lines.push(line));
        expect(lines[0]).toMatch(/^Warning: PROBE_SCHEDULE "0 0 0 29 2 \*" fires less than once in a week \(less than once a day\)/);
      } finally {
        await services.close();
      }
    });
  });

  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
