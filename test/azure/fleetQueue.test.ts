import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { startEmbeddedFleet, type EmbeddedFleet } from '../../src/emulator/startEmbeddedFleet';
import { loadFleetDefinitions } from '../../src/lib/pool/loadFleetDefinitions';
import { encodePoolRunMessage, tryDecodePoolRunMessage } from '../../src/lib/queue/poolRunMessage';
import { PROBE_QUEUE_NAME, type PoolRunMessage } from '../../src/lib/queue/types';
import type { FleetOverview } from '../../src/lib/report/fleet/types';
import type { Report } from '../../src/lib/report/types';
import { evidenceScope, scopeSharedState } from '../../src/lib/state/evidenceScope';
import { createTableClient, createTableSharedState } from '../../src/lib/state/tableSharedState';
import { startFakeIngestion, type FakeIngestion } from '../fakes/fakeIngestion';
import { startFakeLogAnalytics, type FakeLogAnalytics } from '../fakes/fakeLogAnalytics';
import { startAzurite, type RunningAzurite } from '../lib/alerts/azurite';
import { startAppInstance, type AppInstance } from './support/appInstance';
import { startWebhookReceiver, type WebhookReceiver } from '../lib/alerts/webhookReceiver';
import { answerFromEnvelopes } from '../lib/telemetry/appInsightsQueryEvaluator';
import { waitUntil } from '../support/waitUntil';

/**
 * Issue 17 "Done when", in the azure environment: a fleet of three pools (a folder of definitions, each with its own
 * gateway URL and subscription-key setting, one with its own webhook setting) watched by one app process (the real
 * registered functions on the local host, `better-sqlite3` unloadable) against Azurite (Tables for the shared
 * state, its queue service for the fan-out), the fake App Insights ingestion and Logs API, and the embedded
 * emulator hosting one API per pool. One timer tick puts one message per pool on `probe-runs`; the queue trigger
 * runs each pool; a drifting pool pages its own webhook only; bad messages end in `probe-runs-poison`, and a
 * poisoned run shows in its pool's report and the overview.
 */

const APP_ROOT = path.resolve(__dirname, '..', '..');
const APP_INSIGHTS_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-verifier/providers/Microsoft.Insights/components/appi-verifier';
const POOLS = ['pool-a', 'pool-b', 'pool-c'] as const;
/** Pool b has its own webhook setting; a and c page the app's ALERT_WEBHOOK_URL. */
const POOL_B_HOOK = '/hook/SECRET-WEBHOOK-pool-b';
const DEFAULT_HOOK = '/hook/SECRET-WEBHOOK-default';
const MAX_DEQUEUE_COUNT = 2;

let azurite: RunningAzurite;
let ingestion: FakeIngestion;
let logsApi: FakeLogAnalytics;
let fleet: EmbeddedFleet;
let webhook: WebhookReceiver;
let workDir: string;
let appDir: string;
let queueProxy: QueueProxy;
/** The app process (test/azure/support/appProcess.ts: real functions, azure environment, fake credential). */
let app: AppInstance | undefined;
let baseUrl = '';

/** Every Put Message (`POST /{account}/{queue}/messages`) the app sent to Azurite's queue service. */
interface QueueProxy {
  readonly port: number;
  readonly puts: { readonly queue: string; readonly text: string }[];
  close(): Promise<void>;
}

/**
 * A loopback pass-through in front of Azurite's queue service that records the messages put: the test counts what
 * a tick enqueued without racing the app's queue trigger, which polls the same queue. (Shared Key signatures cover
 * the path and the x-ms headers, not the port, so Azurite accepts the forwarded requests.)
 */
async function startQueueProxy(targetPort: number): Promise<QueueProxy> {
  const puts: { queue: string; text: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const route = /^\/[^/]+\/([^/?]+)\/messages(?:\?|$)/.exec(req.url ?? '');
      const text = /<MessageText>([^<]*)<\/MessageText>/.exec(body.toString('utf8'));
      if (req.method === 'POST' && route?.[1] && text?.[1] !== undefined) puts.push({ queue: route[1], text: text[1] });
      const forward = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    puts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A pool of two backends on hosts of its own (regions identify them), weights 1:1, lab-style breakers. */
function definition(pool: string, gatewayUrl: string, keySetting: string, webhookSetting: string | undefined): unknown {
  const backend = (member: number, region: string): unknown => ({
    name: `${pool}-member${member}`,
    url: `https://aoai-fleet-${pool}-${member}.openai.azure.com/openai`,
    region,
    priority: 1,
    weight: 1,
    circuitBreaker: {
      name: `${pool}-member${member}-breaker`,
      failureCondition: { count: 1, interval: 'PT1M', statusCodeRanges: [{ min: 429, max: 429 }] },
      tripDuration: 'PT1M',
      acceptRetryAfter: true,
    },
  });
  return {
    pool: { name: pool, description: `Fleet test pool ${pool}.`, backends: [backend(1, 'West US'), backend(2, 'East US')] },
    probe: { deployment: 'gpt-4o', apiVersion: '2024-02-01', subscriptionKeyHeader: 'api-key' },
    gateway: { url: gatewayUrl, subscriptionKeySetting: keySetting },
    ...(webhookSetting ? { alerts: { webhookUrlSetting: webhookSetting } } : {}),
  };
}

const keySettingOf = (pool: string): string => `APIM_KEY_${pool.slice(-1).toUpperCase()}`;

/** Writes the fleet's definition folder; `gatewayUrlOf` gives each pool's API URL. */
function writeDefinitions(dir: string, gatewayUrlOf: (pool: string) => string): void {
  mkdirSync(dir, { recursive: true });
  POOLS.forEach((pool, index) => {
    const body = definition(pool, gatewayUrlOf(pool), keySettingOf(pool), pool === 'pool-b' ? 'POOL_B_WEBHOOK_URL' : undefined);
    writeFileSync(path.join(dir, `0${index + 1}-${pool}.json`), `${JSON.stringify(body, null, 2)}\n`);
  });
}

function settings(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_EXTRA_CA_CERTS: path.join(APP_ROOT, 'test', 'fixtures', 'tls', 'cert.pem'),
    APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
    WEBSITE_SITE_NAME: 'func-pool-verifier-fleet-test',
    TEST_APP_ROOT: appDir,
    POOL_DEFINITION_PATH: 'pools',
    // Every pool names its own key setting; the emulator has one subscription key.
    ...Object.fromEntries(POOLS.map((pool) => [keySettingOf(pool), fleet.subscriptionKey])),
    DEPLOY_MODE: 'deploy',
    ARM_ENDPOINT: fleet.armEndpoint,
    APIM_SUBSCRIPTION_ID: fleet.apim.subscriptionId,
    APIM_RESOURCE_GROUP: fleet.apim.resourceGroup,
    APIM_SERVICE_NAME: fleet.apim.serviceName,
    // The app reaches Azurite's queue service through the recording pass-through.
    AzureWebJobsStorage: azurite.connectionString.replace(`QueueEndpoint=http://127.0.0.1:${azurite.queuePort}/`, `QueueEndpoint=http://127.0.0.1:${queueProxy.port}/`),
    APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
    LOGS_SOURCE: 'appinsights',
    APPINSIGHTS_RESOURCE_ID: APP_INSIGHTS_ID,
    LOGS_ENDPOINT: logsApi.endpoint,
    LOGS_QUERY_TIMEOUT_MS: '5000',
    PROBE_MAX_REQUESTS: '80',
    PROBE_CONCURRENCY: '2',
    PROBE_TIMEOUT_MS: '2000',
    PROBE_SEQUENTIAL: 'false',
    REPORT_PRIMARY_WINDOW: 'run',
    ALERT_WEBHOOK_URL: webhook.url(DEFAULT_HOOK),
    POOL_B_WEBHOOK_URL: webhook.url(POOL_B_HOOK),
  };
}

/** The app, once started (beforeAll). */
function running(): AppInstance {
  if (app === undefined) throw new Error('the app process was not started');
  return app;
}
/** Every line the app printed. */
const lines = (): string[] => running().lines;

let ticks = 0;
/** Fires the app's timer and drives the tick to its end (the host drains the queue); the function lines since. */
async function tick(): Promise<string[]> {
  const mark = lines().length;
  const id = `t${++ticks}`;
  const done = running().waitFor(new RegExp(`^timer-done ${id} `), 120_000);
  running().send(`timer ${id}`);
  expect(await done).toBe(`timer-done ${id} ok`);
  return lines().slice(mark).filter((line) => line.startsWith('log [probeTimer]') || line.startsWith('log [probePool]'));
}

async function getJson<T>(route: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${baseUrl}/api/${route}`);
  return { status: response.status, body: (await response.json()) as T };
}

const reportOf = async (pool: string): Promise<Report> => {
  const { status, body } = await getJson<Report>(`report?pool=${encodeURIComponent(pool)}`);
  expect(status).toBe(200);
  return body;
};

const queueClient = (name: string): QueueClient => new QueueClient(azurite.connectionString, name);

/** Bodies (as stored) of up to 32 visible messages of a queue; none when it does not exist yet. */
async function peek(name: string): Promise<string[]> {
  const client = queueClient(name);
  if (!(await client.exists())) return [];
  return (await client.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((item) => item.messageText);
}

const hookRequests = (hookPath: string): number => webhook.requests.filter((request) => request.path === hookPath).length;

beforeAll(async () => {
  // Started one by one so that whatever started is closed by afterAll even when a later one fails.
  ingestion = await startFakeIngestion();
  webhook = await startWebhookReceiver();
  azurite = await startAzurite({ queue: true });
  queueProxy = await startQueueProxy(azurite.queuePort ?? 0);
  logsApi = await startFakeLogAnalytics((query) => answerFromEnvelopes(ingestion.envelopes(), query));
  workDir = mkdtempSync(path.join(tmpdir(), 'apv-fleet-queue-'));
  // The emulator needs the definitions (one API per pool, its path from gateway.url) before its port is known:
  // started from a draft folder, then the app's folder is written with the real URLs.
  writeDefinitions(path.join(workDir, 'draft'), (pool) => `http://127.0.0.1:1/${pool}`);
  fleet = await startEmbeddedFleet(await loadFleetDefinitions(path.join(workDir, 'draft')), { port: 0, latencyScale: 0, seed: 17 });
  appDir = path.join(workDir, 'app');
  writeDefinitions(path.join(appDir, 'pools'), (pool) => fleet.gatewayUrlOf(pool));
  // The queue trigger's settings come from host.json: few attempts, no visibility delay, short polls (fast poison).
  const hostJson = {
    version: '2.0',
    extensions: { queues: { batchSize: 16, maxDequeueCount: MAX_DEQUEUE_COUNT, visibilityTimeout: '00:00:00', maxPollingInterval: '00:00:00.500', messageEncoding: 'base64' } },
  };
  writeFileSync(path.join(appDir, 'host.json'), JSON.stringify(hostJson));
  app = startAppInstance('app', appDir, settings());
  // Without a build the process transpiles the sources on load: slow on a busy machine, hence the bound.
  const ready = await app.waitFor(/^ready /, 150_000, true);
  baseUrl = ready.slice('ready '.length);
  await app.waitFor(/^startup-settled$/, 60_000, true);
}, 240_000);

afterAll(async () => {
  if (app && app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
  await Promise.all([queueProxy?.close(), azurite?.stop(), ingestion?.close(), logsApi?.close(), webhook?.close(), fleet?.close()]);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('a fleet in the azure environment, fanned out through the Storage queue', () => {
  it('deploys every pool, each through its own API', async () => {
    expect(fleet.apis.map((api) => api.path)).toEqual([...POOLS]);
    // Two backends and the pool, per pool.
    expect(fleet.armLog.filter((entry) => entry.method === 'PUT').length).toBe(3 * POOLS.length);
  });

  it('one tick queues one message per pool on probe-runs; after the drain every pool has a complete run, its own report, a row in the overview, and health counts them', async () => {
    const putsBefore = queueProxy.puts.length;
    const functionLines = await tick();
    // The timer put exactly one message per pool on probe-runs, through Azurite's queue service, all for one tick.
    const puts = queueProxy.puts.slice(putsBefore);
    expect(puts.map((put) => put.queue)).toEqual(POOLS.map(() => PROBE_QUEUE_NAME));
    const messages = puts.map((put) => tryDecodePoolRunMessage(put.text)).filter((m): m is PoolRunMessage => m !== undefined);
    expect(messages.map((m) => m.pool).sort()).toEqual([...POOLS]);
    expect(new Set(messages.map((m) => m.tick)).size).toBe(1);
    expect(functionLines).toContain(`log [probeTimer] Tick: queued a probe run for 3 of 3 pools.`);
    // One run per pool, each started from its own message, none retried.
    for (const pool of POOLS) {
      expect(functionLines.filter((line) => line.startsWith(`log [probePool] [${pool}] Probe run for the tick at `))).toHaveLength(1);
    }
    expect(functionLines.filter((line) => /Probe run for the tick at /.test(line))).toHaveLength(POOLS.length);
    expect(functionLines.filter((line) => /failed/.test(line))).toEqual([]);
    // The messages went through Azurite's queue service: the queue exists and the trigger deleted them all.
    expect(await queueClient(PROBE_QUEUE_NAME).exists()).toBe(true);
    expect(await peek(PROBE_QUEUE_NAME)).toEqual([]);
    expect(await peek(`${PROBE_QUEUE_NAME}-poison`)).toEqual([]);

    const tables = createTableSharedState(createTableClient({ kind: 'connection-string', connectionString: azurite.connectionString }));
    for (const pool of POOLS) {
      const scope = evidenceScope({ embedded: false, gatewayUrl: fleet.gatewayUrlOf(pool), apim: fleet.apim });
      const [run] = await scopeSharedState(tables, scope, pool).recentRuns(pool, 1);
      expect(run).toMatchObject({ state: 'complete', probesSent: 80 });
      const report = await reportOf(pool);
      expect(report.pool).toBe(pool);
      expect(report.windows.find((w) => w.name === 'run')?.total).toBe(80);
      expect(report.backends.map((b) => b.name).sort()).toEqual([`${pool}-member1`, `${pool}-member2`]);
      // Each pool's probes went to its own API.
      expect(fleet.accessLog.entries().filter((entry) => entry.apiPath === pool && entry.status === 200).length).toBeGreaterThanOrEqual(80);
    }

    const overview = await getJson<FleetOverview>('report');
    expect(overview.status).toBe(200);
    expect(overview.body.pools.map((row) => row.pool).sort()).toEqual([...POOLS]);
    expect(overview.body.pools.every((row) => row.poisoned === null)).toBe(true);
    // The same overview as a page, for a browser.
    const page = await fetch(`${baseUrl}/api/report`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBeTruthy();
    const html = await page.text();
    for (const pool of POOLS) expect(html).toContain(pool);
    for (const secret of [fleet.subscriptionKey, 'SECRET-WEBHOOK']) expect(html).not.toContain(secret);

    const health = await getJson<{ status: string; pools: unknown }>('health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', pools: { total: 3, ok: 3, stale: 0 } } });
  }, 180_000);

  it('a pool that drifts opens an incident for that pool only and pages its own webhook; the others stay quiet', async () => {
    const ownBefore = hookRequests(POOL_B_HOOK);
    const defaultBefore = hookRequests(DEFAULT_HOOK);
    // Pool b's East US member is down: every answer comes from West US, against weights 1:1.
    await fleet.faults.setFault('aoai-fleet-pool-b-2.openai.azure.com', { kind: 'down' });
    try {
      await tick();
    } finally {
      await fleet.faults.heal();
    }
    const b = await reportOf('pool-b');
    expect(b.status).toBe('drift');
    expect(b.alerts.state).toMatchObject({ pool: 'pool-b', health: 'drift' });
    expect(b.alerts.recent[0]).toMatchObject({ kind: 'alert', delivered: true });
    expect(hookRequests(POOL_B_HOOK) - ownBefore).toBe(1);
    expect(webhook.requests.filter((request) => request.path === POOL_B_HOOK).at(-1)?.body).toContain('pool-b');
    expect(hookRequests(DEFAULT_HOOK) - defaultBefore).toBe(0);
    for (const pool of ['pool-a', 'pool-c']) {
      const report = await reportOf(pool);
      expect(report.status).not.toBe('drift');
      expect(report.alerts.state?.health).not.toBe('drift');
      expect(report.alerts.recent.filter((event) => event.kind === 'alert')).toEqual([]);
    }
    const overview = (await getJson<FleetOverview>('report')).body;
    expect(overview.pools[0]?.pool).toBe('pool-b');
  }, 180_000);

  it('a malformed message ends in probe-runs-poison after maxDequeueCount attempts, and the app keeps serving', async () => {
    const mark = lines().length;
    const notJson = Buffer.from('this is not a probe-run message', 'utf8').toString('base64');
    const missingField = Buffer.from(JSON.stringify({ pool: 'pool-a', tick: new Date().toISOString() }), 'utf8').toString('base64');
    await queueClient(PROBE_QUEUE_NAME).sendMessage(notJson);
    await queueClient(PROBE_QUEUE_NAME).sendMessage(missingField);
    // The host's poller (every 0.5 s at most) takes them; each fails on every attempt, then moves to the poison queue.
    await waitUntil(async () => (await peek(`${PROBE_QUEUE_NAME}-poison`)).length === 2, 'both bad messages are in probe-runs-poison', 30_000, 100);
    expect((await peek(`${PROBE_QUEUE_NAME}-poison`)).sort()).toEqual([notJson, missingField].sort());
    expect(await peek(PROBE_QUEUE_NAME)).toEqual([]);
    const since = lines().slice(mark);
    expect(since.filter((line) => /probePool failed \(attempt 1 of 2\): Not a probe-run message/.test(line))).toHaveLength(2);
    expect(since.filter((line) => /Message has reached MaxDequeueCount of 2\. Moving message to queue 'probe-runs-poison'/.test(line))).toHaveLength(2);
    expect(running().child.exitCode).toBeNull();
    expect((await getJson<{ status: string }>('health')).status).toBe(200);
    // Bad messages name no pool: no pool's overview row counts them.
    const overview = (await getJson<FleetOverview>('report')).body;
    expect(overview.pools.every((row) => row.poisoned === null)).toBe(true);
  }, 60_000);

  it('a poisoned run of one pool shows as a finding in its report and as poisoned in its overview row', async () => {
    const rows = (await getJson<FleetOverview>('report')).body.pools;
    const service = rows.find((row) => row.pool === 'pool-c')?.service ?? '';
    expect(service).not.toBe('');
    // As the host leaves a run that failed on every attempt.
    await queueClient(`${PROBE_QUEUE_NAME}-poison`).sendMessage(encodePoolRunMessage({ pool: 'pool-c', service, tick: new Date().toISOString() }));
    let overview: FleetOverview | undefined;
    await waitUntil(
      async () => {
        overview = (await getJson<FleetOverview>('report')).body;
        return overview.pools.some((row) => row.poisoned !== null);
      },
      'the overview shows the poisoned run',
      15_000,
      200,
    );
    expect(overview?.pools.find((row) => row.pool === 'pool-c')?.poisoned).toMatchObject({ count: 1 });
    expect(overview?.pools.filter((row) => row.poisoned !== null).map((row) => row.pool)).toEqual(['pool-c']);
    expect(overview?.counts.poisoned).toBe(1);
    await waitUntil(async () => (await reportOf('pool-c')).findings.some((finding) => finding.kind === 'poisoned-runs'), 'pool-c reports its poisoned run', 15_000, 200);
    for (const pool of ['pool-a', 'pool-b']) expect((await reportOf(pool)).findings.some((finding) => finding.kind === 'poisoned-runs')).toBe(false);
  }, 60_000);

  it('never loaded better-sqlite3, and no key or webhook URL shows in its output or reports', async () => {
    const secrets = [fleet.subscriptionKey, 'SECRET-WEBHOOK'];
    const pages = [await getJson<unknown>('report'), ...(await Promise.all(POOLS.map((pool) => getJson<unknown>(`report?pool=${pool}`))))];
    for (const page of pages) for (const secret of secrets) expect(JSON.stringify(page.body)).not.toContain(secret);
    const exited = running().waitFor(/^native-sqlite-loaded /, 30_000);
    running().send('exit');
    expect(await exited).toBe('native-sqlite-loaded false');
    expect(lines().filter((line) => /^fatal |stderr .*Error|better-sqlite3 must not be loaded/.test(line))).toEqual([]);
    const output = lines().join('\n');
    for (const secret of secrets) expect(output).not.toContain(secret);
    // Nor in what went to App Insights.
    const telemetry = JSON.stringify(ingestion.envelopes());
    for (const secret of secrets) expect(telemetry).not.toContain(secret);
  });
});
