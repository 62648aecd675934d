import { main, type CliIo } from '../../src/cli/main';
import { disposeServices } from '../../src/app/appState';
import type { EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { fakeCredential } from '../fakes/fakeCredential';
import { startFakeIngestion, type FakeIngestion } from '../fakes/fakeIngestion';
import { stopAppInsightsBackgroundWork } from '../fakes/stopAppInsightsBackgroundWork';
import { startWebhookReceiver, type WebhookReceiver } from '../lib/alerts/webhookReceiver';
import { LAB_POOL_PATH, recordUnhandledRejections, type RejectionRecorder } from '../corpus/support';
import { getReport, logs, registerFunctions, runStartupHook, runTimer, startLab, useServices } from '../faults/harness';

jest.mock('@azure/functions-core', () => require('../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

// The SDK's own statistics would call Microsoft endpoints: off for this file (jest gives each file its own env).
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

/**
 * Secrets sweep: the whole app runs with recognisable secret values — subscription key, webhook URL, App Insights
 * connection string, ARM bearer token — through the start-up deploy, a timer cycle with a drift alert to a local
 * webhook, the report (JSON and HTML), CLI verify (ok and with a wrong key). None of the secrets may appear in any
 * log line, console output, report, error message, CLI output or webhook payload.
 */

const SUBKEY = 'SECRET-SUBKEY-sweep-7f3a9c';
const WRONG_SUBKEY = 'SECRET-SUBKEY-wrong-51d0e2';
const WEBHOOK_SECRET = 'SECRET-WEBHOOK-sweep-91c2b4';
const TOKEN = 'SECRET-TOKEN-sweep-e8d7c6';
/** The instrumentation key of the connection string (a GUID, as the SDK requires). */
const IKEY = '5ec2e75e-c2e7-4000-8000-5ec2e75ec2e7';

let env: EmbeddedEnvironment;
let receiver: WebhookReceiver;
let ingestion: FakeIngestion;
let rejections: RejectionRecorder;
const credential = fakeCredential(TOKEN);
/** Everything a person or a log pipeline could read, with where it came from. */
const captured: { where: string; text: string }[] = [];

function capture(where: string, text: unknown): void {
  captured.push({ where, text: typeof text === 'string' ? text : JSON.stringify(text) });
}

async function cli(argv: string[], key: string): Promise<number> {
  const io: CliIo = { stdout: (t) => capture(`cli stdout ${argv[0]}`, t), stderr: (t) => capture(`cli stderr ${argv[0]}`, t), env: { APIM_SUBSCRIPTION_KEY: key } };
  return main(argv, io);
}

beforeAll(async () => {
  rejections = recordUnhandledRejections();
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => capture(`console.${method}`, args.map(String).join(' ')));
  }
  await registerFunctions();
  receiver = await startWebhookReceiver();
  ingestion = await startFakeIngestion(IKEY);
  env = await startLab({ subscriptionKey: SUBKEY });
  await useServices(
    {
      APIM_SUBSCRIPTION_KEY: SUBKEY,
      ALERT_WEBHOOK_URL: receiver.url(`/hook/${WEBHOOK_SECRET}`),
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
    },
    env,
    credential,
  );

  // Start-up deploy (bearer token to ARM), a healthy run, a drift run with an alert, the report.
  await runStartupHook();
  await runTimer();
  await env.faults.setFault('East US', { kind: 'down' });
  await runTimer();
  await env.faults.heal();
  const queries: Record<string, string>[] = [{}, { window: 'hour' }, { format: 'html' }, { window: 'week' }];
  for (const query of queries) {
    const { body } = await getReport(query);
    capture(`report ${JSON.stringify(query)}`, body);
  }
  // A failing invocation's error path: the report handler with a broken services factory.
  await useServices({ APIM_SUBSCRIPTION_KEY: SUBKEY, ALERT_WEBHOOK_URL: `https://user:${WEBHOOK_SECRET}@x/`, APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString }, env, credential).catch((error: unknown) =>
    capture('createServices error', (error as Error).message),
  );
  capture('report with broken settings', (await getReport()).body);
  await runTimer();
  await disposeServices();

  // CLI verify: a good key (text and JSON), then a wrong one (exit 4 with a message).
  await cli(['verify', '--pool', LAB_POOL_PATH, '--gateway', env.gatewayUrl, '--requests', '60'], SUBKEY);
  await cli(['verify', '--pool', LAB_POOL_PATH, '--gateway', env.gatewayUrl, '--requests', '60', '--json'], SUBKEY);
  capture('cli exit code with a wrong key', String(await cli(['verify', '--pool', LAB_POOL_PATH, '--gateway', env.gatewayUrl, '--requests', '20'], WRONG_SUBKEY)));

  for (const line of logs) capture('function log', line);
  for (const request of receiver.requests) capture('webhook payload', `${JSON.stringify(request.headers)}\n${request.body}`);
});

afterAll(async () => {
  await disposeServices();
  stopAppInsightsBackgroundWork();
  await env?.close();
  await receiver?.close();
  await ingestion?.close();
  rejections.uninstall();
});

describe('secrets never leak', () => {
  it('the secrets were really used: ARM got the token, the webhook an alert, ingestion telemetry, the CLI probes', () => {
    expect(credential.calls).toBeGreaterThan(0);
    expect(receiver.requests.length).toBeGreaterThan(0);
    expect(ingestion.envelopes().length).toBeGreaterThan(0);
    expect(captured.some((c) => c.where === 'cli stdout verify' && /West US|openai-instance1/.test(c.text))).toBe(true);
    expect(captured.some((c) => c.where === 'cli exit code with a wrong key' && c.text === '4')).toBe(true);
    expect(captured.some((c) => c.where.startsWith('report') && c.text.includes('openai-instance2'))).toBe(true);
  });

  it.each([
    ['the subscription key', SUBKEY],
    ['the wrong subscription key', WRONG_SUBKEY],
    ['the webhook URL secret', WEBHOOK_SECRET],
    ['the ARM bearer token', TOKEN],
    ['the App Insights instrumentation key', IKEY],
  ])('%s appears in no log, console line, report, error, CLI output or webhook payload', (_name, secret) => {
    const leaks = captured.filter((c) => c.text.toLowerCase().includes(secret.toLowerCase())).map((c) => c.where);
    expect(leaks).toEqual([]);
  });

  it.each([
    ['the subscription key', SUBKEY],
    ['the webhook URL secret', WEBHOOK_SECRET],
    ['the ARM bearer token', TOKEN],
  ])('%s is not sent to Application Insights', (_name, secret) => {
    expect(ingestion.rawBodies().filter((body) => body.includes(secret))).toEqual([]);
  });

  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
