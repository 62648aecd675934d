import { HttpRequest, InvocationContext } from '@azure/functions';
import { disposeServices } from '../../src/app/appState';
import { createServices } from '../../src/app/createServices';
import { configureServicesExplicitly } from '../../src/app/defaultServices';
import { sharedFunctionsCoreShim } from '../../src/local/functionsCoreShim';

jest.mock('@azure/functions-core', () => require('../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

/**
 * A Function App with missing settings: `/api/health` answers 503 `misconfigured` naming the settings (never
 * their values), the timer logs the same line, and nothing falls back to the emulator.
 */

const registry = sharedFunctionsCoreShim.registry;
const APP_ROOT = require('node:path').resolve(__dirname, '..', '..') as string;
const SECRET = 'SECRET-SUBKEY-health-0042';

beforeAll(async () => {
  await import('../../src/functions/health');
  await import('../../src/functions/probeTimer');
});

afterEach(() => disposeServices());

function context(lines: string[]): InvocationContext {
  return new InvocationContext({ functionName: 'test', logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')) });
}

it('answers 503 misconfigured naming the missing settings, and the timer logs the same line', async () => {
  let emulatorStarts = 0;
  // In a Function App (WEBSITE_INSTANCE_ID), a subscription key but no gateway, pool, storage, App Insights or Logs.
  configureServicesExplicitly(() =>
    createServices(
      { WEBSITE_INSTANCE_ID: 'a1b2c3', APIM_SUBSCRIPTION_KEY: SECRET, PROBE_MAX_REQUEST: '30' },
      { appRoot: APP_ROOT, startEmbedded: async () => { emulatorStarts += 1; throw new Error('must not start'); } },
    ),
  );
  const health = registry.functions.get('health');
  const response = (await health!.handler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }), context([]))) as { status: number; jsonBody: Record<string, unknown> };
  expect(response.status).toBe(503);
  const line = 'misconfigured: missing or invalid settings PROBE_MAX_REQUEST, APIM_GATEWAY_URL, POOL_DEFINITION_PATH, APPLICATIONINSIGHTS_CONNECTION_STRING, LOGS_SOURCE, AzureWebJobsStorage__accountName';
  expect(response.jsonBody).toEqual({
    status: 'misconfigured',
    lastRunAt: null,
    reason: line,
    settings: ['PROBE_MAX_REQUEST', 'APIM_GATEWAY_URL', 'POOL_DEFINITION_PATH', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'LOGS_SOURCE', 'AzureWebJobsStorage__accountName'],
  });
  expect(JSON.stringify(response.jsonBody)).not.toContain(SECRET);

  const lines: string[] = [];
  const timer = registry.functions.get('probeTimer');
  await timer!.handler({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } }, context(lines));
  expect(lines[0]).toBe(`Probe runs not queued: ${line}`);
  expect(lines.join('\n')).toMatch(/PROBE_MAX_REQUEST: is not a known setting; did you mean PROBE_MAX_REQUESTS\?/);
  expect(lines.join('\n')).not.toContain(SECRET);
  expect(emulatorStarts).toBe(0);
});
