import { ConfigError } from '../../../src/lib/config/ConfigError';
import { AZURE_HOST_MARKERS } from '../../../src/lib/config/azureSettings';
import { loadConfig, SECRET_KEYS, SETTING_KEYS } from '../../../src/lib/config/loadConfig';
import type { ConfigIssue } from '../../../src/lib/config/types';

type Env = Record<string, string | undefined>;

/** Settings for a real Azure setup, valid as they stand. */
const AZURE: Env = {
  APIM_GATEWAY_URL: 'https://apim-lab.azure-api.net/openai',
  APIM_SUBSCRIPTION_KEY: 'k-0123456789abcdef',
};

function issuesOf(env: Env): ConfigIssue[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected the settings to be rejected');
}

function messageFor(env: Env, key: string): string {
  const issue = issuesOf(env).find((candidate) => candidate.key === key);
  expect(issue).toBeDefined();
  return issue?.message ?? '';
}

describe('loadConfig', () => {
  it('returns every documented default for an empty environment, in the local environment', () => {
    expect(loadConfig({})).toEqual({
      environment: 'local',
      environmentReason: 'no Function App platform setting (WEBSITE_INSTANCE_ID, WEBSITE_SITE_NAME) is set',
      storageIdentity: undefined,
      poolDefinitionPath: 'examples/lab-pool.json',
      gatewayUrl: undefined,
      deploy: {
        mode: 'deploy',
        onStartup: true,
        deadlineInSeconds: 120,
        armEndpoint: 'https://management.azure.com',
        armApiVersion: undefined,
        subscriptionId: undefined,
        resourceGroup: undefined,
        serviceName: undefined,
        apiId: undefined,
        managedIdentityClientId: undefined,
      },
      probe: { schedule: '0 */5 * * * *', maxRequests: 100, concurrency: 4, timeoutInMs: 30000, sequential: true },
      verdict: { alphaRun: 1e-4, alphaHour: 2e-4, alphaDay: 1e-3, toleranceInPoints: 5, dispersionWarn: 1.25 },
      report: { primaryWindow: 'hour', binInMinutes: 5 },
      storePath: '.data/verifier.sqlite',
      telemetry: {
        cloudRoleName: 'apim-pool-verifier',
        logsSource: 'local',
        workspaceId: undefined,
        appInsightsResourceId: undefined,
        logsEndpoint: 'https://api.loganalytics.azure.com/v1',
        logsQueryTimeoutInMs: 30000,
        allTraffic: false,
        allTrafficSource: 'none',
        gatewayLogsTable: 'resource-specific',
        skipProbesWhenTrafficConclusive: false,
        reportCacheInSeconds: 60,
        ingestionAuthentication: undefined,
      },
      alerts: { webhookFormat: 'generic', reminderInMinutes: 240, stateStore: 'local' },
      secrets: {
        subscriptionKey: undefined,
        webhookUrl: undefined,
        appInsightsConnectionString: undefined,
        storageConnectionString: undefined,
      },
    });
  });

  it('returns a deeply frozen object', () => {
    const settings = loadConfig(AZURE);
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.probe)).toBe(true);
    expect(Object.isFrozen(settings.secrets)).toBe(true);
  });

  it('treats empty and blank values as absent, as Azure App Settings often carry them', () => {
    const settings = loadConfig({ APIM_GATEWAY_URL: '', PROBE_MAX_REQUESTS: '', PROBE_SEQUENTIAL: '  ', LOGS_SOURCE: '' });
    expect(settings.environment).toBe('local');
    expect(settings.probe.maxRequests).toBe(100);
    expect(settings.probe.sequential).toBe(true);
  });

  it('reads real values, trimming surrounding whitespace', () => {
    const settings = loadConfig({
      ...AZURE,
      PROBE_MAX_REQUESTS: ' 120 ',
      PROBE_CONCURRENCY: '8',
      DEPLOY_MODE: 'Verify-Only',
      REPORT_PRIMARY_WINDOW: 'day',
      VERDICT_ALPHA_RUN: '1e-5',
      VERDICT_TOLERANCE_POINTS: '2.5',
      ARM_API_VERSION: '2023-09-01-preview',
      APIM_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
      APIM_RESOURCE_GROUP: 'rg-aoai.lab(1)',
      APIM_SERVICE_NAME: 'apim-lab-1',
      ALERT_WEBHOOK_FORMAT: 'teams',
    });
    expect(settings.probe.maxRequests).toBe(120);
    expect(settings.probe.concurrency).toBe(8);
    expect(settings.deploy.mode).toBe('verify-only');
    expect(settings.report.primaryWindow).toBe('day');
    expect(settings.verdict.alphaRun).toBe(1e-5);
    expect(settings.verdict.toleranceInPoints).toBe(2.5);
    expect(settings.deploy.armApiVersion).toBe('2023-09-01-preview');
    expect(settings.deploy.resourceGroup).toBe('rg-aoai.lab(1)');
    expect(settings.alerts.webhookFormat).toBe('teams');
  });

  describe('environment', () => {
    it('stays local with a gateway URL outside a Function App (a real gateway, the local store), keeping the URL without a trailing slash', () => {
      const settings = loadConfig({ ...AZURE, APIM_GATEWAY_URL: 'https://apim-lab.azure-api.net/openai/' });
      expect(settings.environment).toBe('local');
      expect(settings.gatewayUrl).toBe('https://apim-lab.azure-api.net/openai');
      expect(settings.secrets.subscriptionKey).toBe('k-0123456789abcdef');
    });

    it('accepts embedded as an alias of local', () => {
      expect(loadConfig({ ...AZURE, VERIFIER_ENVIRONMENT: 'embedded' }).environment).toBe('local');
    });

    it('is azure inside a Function App (WEBSITE_INSTANCE_ID or WEBSITE_SITE_NAME), unless VERIFIER_ENVIRONMENT says local', () => {
      expect(issuesOf({ WEBSITE_INSTANCE_ID: 'abc123' }).map((issue) => issue.key)).toContain('APIM_GATEWAY_URL');
      expect(issuesOf({ WEBSITE_SITE_NAME: 'func-verifier' }).map((issue) => issue.key)).toContain('APIM_GATEWAY_URL');
      expect(loadConfig({ WEBSITE_SITE_NAME: 'func-verifier', VERIFIER_ENVIRONMENT: 'local' }).environment).toBe('local');
    });

    it('refuses azure without a gateway URL: misconfigured, never the emulator', () => {
      expect(issuesOf({ VERIFIER_ENVIRONMENT: 'azure' })).toContainEqual({
        key: 'APIM_GATEWAY_URL',
        message: 'is required in the azure environment (VERIFIER_ENVIRONMENT=azure)',
      });
    });

    it('refuses a gateway URL without a subscription key', () => {
      expect(issuesOf({ APIM_GATEWAY_URL: 'https://apim-lab.azure-api.net/openai' })).toEqual([
        { key: 'APIM_SUBSCRIPTION_KEY', message: 'is required when APIM_GATEWAY_URL is set' },
      ]);
    });

    it('refuses an unknown environment name, echoing it', () => {
      expect(messageFor({ VERIFIER_ENVIRONMENT: 'cloud' }, 'VERIFIER_ENVIRONMENT')).toBe(
        'must be one of local, azure (embedded is an alias of local), got "cloud"',
      );
    });
  });

  describe('integers', () => {
    it('accepts plain decimal digits', () => {
      expect(loadConfig({ PROBE_MAX_REQUESTS: '60' }).probe.maxRequests).toBe(60);
      expect(loadConfig({ PROBE_MAX_REQUESTS: '10000' }).probe.maxRequests).toBe(10000);
    });

    it.each(['6e1', '-1', '1.5', '0', '10001', '0x10', '60 requests', '1,000', 'Infinity'])(
      'rejects PROBE_MAX_REQUESTS=%p naming the range and the value',
      (value) => {
        expect(messageFor({ PROBE_MAX_REQUESTS: value }, 'PROBE_MAX_REQUESTS')).toBe(
          `must be an integer from 1 to 10000, got ${JSON.stringify(value)}`,
        );
      },
    );

    it.each([
      ['PROBE_CONCURRENCY', '65', '1 to 64'],
      ['PROBE_TIMEOUT_MS', '99', '100 to 300000'],
      ['REPORT_BIN_MINUTES', '1441', '1 to 1440'],
      ['LOGS_QUERY_TIMEOUT_MS', '999', '1000 to 600000'],
      ['ALERT_REMINDER_MINUTES', '0', '1 to 10080'],
    ])('rejects %s=%s outside %s', (key, value, range) => {
      expect(messageFor({ [key]: value }, key)).toContain(range);
    });
  });

  describe('booleans', () => {
    it.each([
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['yes', true],
      ['false', false],
      ['0', false],
      ['No', false],
    ])('reads %p as %p', (value, expected) => {
      expect(loadConfig({ DEPLOY_ON_STARTUP: value }).deploy.onStartup).toBe(expected);
    });

    it.each(['on', 'y', '2', 'truthy'])('rejects %p', (value) => {
      expect(messageFor({ ALL_TRAFFIC_MODE: value }, 'ALL_TRAFFIC_MODE')).toBe(
        `must be true, false, 1, 0, yes or no, got ${JSON.stringify(value)}`,
      );
    });
  });

  it('bounds one deploy by DEPLOY_DEADLINE_SECONDS (default 120) and names a bad value', () => {
    expect(loadConfig({}).deploy.deadlineInSeconds).toBe(120);
    expect(loadConfig({ DEPLOY_DEADLINE_SECONDS: '30' }).deploy.deadlineInSeconds).toBe(30);
    expect(() => loadConfig({ DEPLOY_DEADLINE_SECONDS: '0' })).toThrow(/DEPLOY_DEADLINE_SECONDS/);
  });

  describe('URLs', () => {
    it.each(['management.azure.com', 'ftp://management.azure.com', '/relative', 'https://'])('rejects ARM_ENDPOINT=%p', (value) => {
      expect(messageFor({ ARM_ENDPOINT: value }, 'ARM_ENDPOINT')).toMatch(/^is not an absolute http\(s\) URL|^must name a host/);
    });

    it('accepts http for local fakes', () => {
      expect(loadConfig({ LOGS_ENDPOINT: 'http://127.0.0.1:8080/v1' }).telemetry.logsEndpoint).toBe('http://127.0.0.1:8080/v1');
    });

    it('rejects credentials in a URL without echoing them, even under a non-secret key', () => {
      const message = messageFor({ ...AZURE, APIM_GATEWAY_URL: 'https://admin:pa55word@apim.example.com/openai' }, 'APIM_GATEWAY_URL');
      expect(message).toMatch(/credentials/);
      expect(message).not.toContain('pa55word');
    });
  });

  describe('PROBE_SCHEDULE', () => {
    it.each(['0 */5 * * * *', '*/30 * * * * *', '0 0 9-17 * * MON-FRI', '0 15 2 1 JAN,JUL *'])('accepts %p', (value) => {
      expect(loadConfig({ PROBE_SCHEDULE: value }).probe.schedule).toBe(value);
    });

    it('rejects a 5-field cron with a hint about the seconds field', () => {
      expect(messageFor({ PROBE_SCHEDULE: '*/5 * * * *' }, 'PROBE_SCHEDULE')).toBe(
        'has 5 fields; Azure Functions timers use NCRONTAB with seconds first (6 fields), e.g. "0 */5 * * * *", got "*/5 * * * *"',
      );
    });

    it.each([
      ['0 */5 * * * * *', /6 fields/],
      ['@hourly', /6 fields/],
      ['0 61 * * * *', /not a valid NCRONTAB expression/],
      ['0 0 0 30 2 *', /not a valid NCRONTAB expression/],
      ['0 0 0 L * *', /no L, W, # or \?/],
      ['0 0 0 ? * MON#2', /no L, W, # or \?/],
      ['every 5 minutes x y z', /only digits/],
      ['every 5 minutes x y', /6 fields .* has 5/],
      ['5 * * * 9', /6 fields .* has 5/],
    ])('rejects %p', (value, message) => {
      expect(messageFor({ PROBE_SCHEDULE: value }, 'PROBE_SCHEDULE')).toMatch(message);
    });
  });

  describe('alphas and thresholds', () => {
    it.each(['0', '0.5', '0.7', '-0.01', 'abc', '1e', 'NaN'])('rejects VERDICT_ALPHA_HOUR=%p', (value) => {
      expect(messageFor({ VERDICT_ALPHA_HOUR: value }, 'VERDICT_ALPHA_HOUR')).toBe(
        `must be a number greater than 0 and less than 0.5, got ${JSON.stringify(value)}`,
      );
    });

    it('accepts alphas in exponent or decimal notation', () => {
      const verdict = loadConfig({ VERDICT_ALPHA_RUN: '5E-5', VERDICT_ALPHA_DAY: '.01' }).verdict;
      expect(verdict.alphaRun).toBe(5e-5);
      expect(verdict.alphaDay).toBe(0.01);
    });

    it('rejects a dispersion threshold of 1 or less and a tolerance above 50 points', () => {
      const issues = issuesOf({ VERDICT_DISPERSION_WARN: '1', VERDICT_TOLERANCE_POINTS: '60' });
      expect(issues.map((issue) => issue.key)).toEqual(['VERDICT_TOLERANCE_POINTS', 'VERDICT_DISPERSION_WARN']);
    });
  });

  describe('logs source', () => {
    const workspaceId = '8b3e1c2a-1111-2222-3333-444455556666';
    const componentId =
      '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-lab/providers/microsoft.insights/components/appi-lab';

    it('needs LOGS_WORKSPACE_ID for workspace', () => {
      expect(messageFor({ LOGS_SOURCE: 'workspace' }, 'LOGS_WORKSPACE_ID')).toBe('is required when LOGS_SOURCE is workspace');
      expect(loadConfig({ LOGS_SOURCE: 'workspace', LOGS_WORKSPACE_ID: workspaceId }).telemetry.workspaceId).toBe(workspaceId);
    });

    it('needs an ARM id of a component for appinsights', () => {
      expect(messageFor({ LOGS_SOURCE: 'appinsights' }, 'APPINSIGHTS_RESOURCE_ID')).toBe(
        'is required when LOGS_SOURCE is appinsights',
      );
      expect(messageFor({ LOGS_SOURCE: 'appinsights', APPINSIGHTS_RESOURCE_ID: 'appi-lab' }, 'APPINSIGHTS_RESOURCE_ID')).toMatch(
        /ARM id of an Application Insights resource.*got "appi-lab"/,
      );
      expect(loadConfig({ LOGS_SOURCE: 'appinsights', APPINSIGHTS_RESOURCE_ID: componentId }).telemetry.appInsightsResourceId).toBe(
        componentId,
      );
    });

    it('rejects a workspace id that is not a GUID', () => {
      expect(messageFor({ LOGS_WORKSPACE_ID: 'law-lab' }, 'LOGS_WORKSPACE_ID')).toMatch(/GUID.*got "law-lab"/);
    });

    it('makes an all-traffic source without a Logs source a configuration error instead of ignoring it', () => {
      expect(messageFor({ ALL_TRAFFIC_MODE: 'true' }, 'ALL_TRAFFIC_MODE')).toMatch(/needs a Logs source.*LOGS_SOURCE/);
      expect(messageFor({ ALL_TRAFFIC_SOURCE: 'gateway-logs' }, 'ALL_TRAFFIC_SOURCE')).toMatch(/needs a Logs source/);
      expect(messageFor({ LOGS_SOURCE: 'appinsights', APPINSIGHTS_RESOURCE_ID: componentId, ALL_TRAFFIC_SOURCE: 'gateway-logs' }, 'LOGS_WORKSPACE_ID')).toMatch(
        /required when ALL_TRAFFIC_SOURCE is gateway-logs/,
      );
      expect(messageFor({ PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE: 'true' }, 'PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE')).toMatch(/needs ALL_TRAFFIC_SOURCE/);
    });

    it('reads ALL_TRAFFIC_MODE=true as the appinsights source and ALL_TRAFFIC_SOURCE by name', () => {
      const base = { LOGS_SOURCE: 'workspace', LOGS_WORKSPACE_ID: workspaceId };
      expect(loadConfig({ ...base, ALL_TRAFFIC_MODE: 'true' }).telemetry).toMatchObject({ allTraffic: true, allTrafficSource: 'appinsights' });
      expect(loadConfig({ ...base, ALL_TRAFFIC_SOURCE: 'gateway-logs', GATEWAY_LOGS_TABLE: 'azure-diagnostics', PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE: 'yes' }).telemetry).toMatchObject({
        allTraffic: true,
        allTrafficSource: 'gateway-logs',
        gatewayLogsTable: 'azure-diagnostics',
        skipProbesWhenTrafficConclusive: true,
      });
    });

    it('reads the Entra ingestion setting as the Functions host does and names a bad one', () => {
      expect(loadConfig({ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=8b3e1c2a-1111-2222-3333-444455556666' }).telemetry.ingestionAuthentication).toEqual({
        kind: 'aad',
        clientId: '8b3e1c2a-1111-2222-3333-444455556666',
      });
      expect(messageFor({ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=Key' }, 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toMatch(/must be AAD/);
      expect(messageFor({ REPORT_CACHE_SECONDS: '-1' }, 'REPORT_CACHE_SECONDS')).toMatch(/0 to 3600/);
    });
  });

  describe('alert state store', () => {
    const realStorage = 'DefaultEndpointsProtocol=https;AccountName=stlab;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net';

    it('defaults to table for a real storage connection string', () => {
      expect(loadConfig({ AzureWebJobsStorage: realStorage }).alerts.stateStore).toBe('table');
    });

    it('defaults to local for development storage or none', () => {
      expect(loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).alerts.stateStore).toBe('local');
      expect(loadConfig({}).alerts.stateStore).toBe('local');
    });

    it('follows ALERT_STATE_STORE over the default', () => {
      expect(loadConfig({ AzureWebJobsStorage: realStorage, ALERT_STATE_STORE: 'local' }).alerts.stateStore).toBe('local');
      expect(loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', ALERT_STATE_STORE: 'table' }).alerts.stateStore).toBe(
        'table',
      );
    });

    it('refuses table without a storage connection string', () => {
      expect(messageFor({ ALERT_STATE_STORE: 'table' }, 'ALERT_STATE_STORE')).toMatch(/needs AzureWebJobsStorage/);
    });
  });

  it('reports every bad key at once', () => {
    const issues = issuesOf({
      PROBE_MAX_REQUESTS: '6e1',
      PROBE_SEQUENTIAL: 'maybe',
      PROBE_SCHEDULE: '*/5 * * * *',
      VERDICT_ALPHA_RUN: '0.9',
      LOGS_SOURCE: 'kusto',
      APIM_SERVICE_NAME: '-apim-',
      APIM_GATEWAY_URL: 'https://apim-lab.azure-api.net/openai',
    });
    expect(issues.map((issue) => issue.key).sort()).toEqual(
      [
        'APIM_SERVICE_NAME',
        'APIM_SUBSCRIPTION_KEY',
        'LOGS_SOURCE',
        'PROBE_MAX_REQUESTS',
        'PROBE_SCHEDULE',
        'PROBE_SEQUENTIAL',
        'VERDICT_ALPHA_RUN',
      ].sort(),
    );
  });

  it('lists every issue in the error message as "KEY: message"', () => {
    let message = '';
    try {
      loadConfig({ PROBE_CONCURRENCY: '0', REPORT_PRIMARY_WINDOW: 'week' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      [
        '2 invalid settings:',
        '  PROBE_CONCURRENCY: must be an integer from 1 to 64, got "0"',
        '  REPORT_PRIMARY_WINDOW: must be one of run, hour, day, got "week"',
      ].join('\n'),
    );
  });

  describe('secrets', () => {
    const marker = 'S3CR3T-MARKER';
    const badSecrets: Env = {
      APIM_SUBSCRIPTION_KEY: `${marker}\u0001`,
      ALERT_WEBHOOK_URL: `hooks.example.com/${marker}`,
      APPLICATIONINSIGHTS_CONNECTION_STRING: `Endpoint=${marker}`,
      AzureWebJobsStorage: `${marker}`,
    };

    it('reports a bad value of every secret key without echoing it', () => {
      let error: unknown;
      try {
        loadConfig(badSecrets);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const configError = error as ConfigError;
      expect(configError.issues.map((issue) => issue.key).sort()).toEqual([...SECRET_KEYS].sort());
      expect(configError.message).not.toContain(marker);
      expect(JSON.stringify(configError.issues)).not.toContain(marker);
      expect(configError.issues.find((issue) => issue.key === 'ALERT_WEBHOOK_URL')?.message).toMatch(/^is not an absolute http\(s\) URL/);
    });

    it('keeps valid secrets under secrets only', () => {
      const settings = loadConfig({
        ...AZURE,
        ALERT_WEBHOOK_URL: 'https://hooks.example.com/services/T000/B000/XXXX',
        APPLICATIONINSIGHTS_CONNECTION_STRING:
          'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:1/',
      });
      const { secrets, ...rest } = settings;
      expect(secrets.webhookUrl).toBe('https://hooks.example.com/services/T000/B000/XXXX');
      expect(JSON.stringify(rest)).not.toMatch(/XXXX|InstrumentationKey|k-0123456789abcdef/);
    });
  });

  describe('reading the environment', () => {
    /** An environment that counts reads per key. */
    function countingEnv(values: Env): { env: Env; reads: Map<string, number> } {
      const reads = new Map<string, number>();
      const env = new Proxy(values, {
        get(target, key, receiver) {
          if (typeof key === 'string') {
            reads.set(key, (reads.get(key) ?? 0) + 1);
          }
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
      return { env, reads };
    }

    it('reads each setting at most once and only keys listed in SETTING_KEYS', () => {
      const { env, reads } = countingEnv({ ...AZURE, LOGS_SOURCE: 'workspace', LOGS_WORKSPACE_ID: '8b3e1c2a-1111-2222-3333-444455556666' });
      loadConfig(env);
      expect([...reads.entries()].filter(([, count]) => count > 1)).toEqual([]);
      expect([...reads.keys()].sort()).toEqual([...SETTING_KEYS, ...AZURE_HOST_MARKERS].sort());
    });
  });
});

describe('loadConfig on arbitrary values', () => {
  it('answers 2,000 random environments with Settings or a ConfigError, never another exception', () => {
    let state = 12345;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    const values = ['', ' ', '0', '1', '-1', '1e3', 'true', 'no', 'azure', 'table', 'workspace', 'https://x.example.com/',
      'http://', '\u0000', 'x'.repeat(5000), '0 */5 * * * *', '*/5 * * * *', '0 0 0 31 2 *', '.5', 'NaN', 'UseDevelopmentStorage=true'];
    let accepted = 0;
    for (let run = 0; run < 2000; run += 1) {
      const env: Record<string, string> = {};
      for (const key of SETTING_KEYS) {
        if (random() < 0.3) {
          env[key] = values[Math.floor(random() * values.length)] ?? '';
        }
      }
      try {
        loadConfig(env);
        accepted += 1;
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
      }
    }
    expect(accepted).toBeLessThan(2000);
  });
});
