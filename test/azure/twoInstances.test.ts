import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { evidenceScope, scopeSharedState } from '../../src/lib/state/evidenceScope';
import { createTableClient, createTableSharedState } from '../../src/lib/state/tableSharedState';
import type { SharedState } from '../../src/lib/state/types';
import type { Report } from '../../src/lib/report/types';
import { startFakeIngestion, type FakeIngestion } from '../fakes/fakeIngestion';
import { startFakeLogAnalytics, type FakeLogAnalytics } from '../fakes/fakeLogAnalytics';
import { waitUntil } from '../support/waitUntil';
import { startAzurite, type RunningAzurite } from '../lib/alerts/azurite';
import { startWebhookReceiver, type WebhookReceiver } from '../lib/alerts/webhookReceiver';
import { answerFromEnvelopes } from '../lib/telemetry/appInsightsQueryEvaluator';
import { startAppInstance, type AppInstance } from './support/appInstance';

/**
 * Two instances, one truth: two app processes (each the real registered functions on the local host) in the azure
 * environment, against one Azurite and the same fake App Insights ingestion and Logs query API, probing the
 * emulator's gateway. `better-sqlite3` cannot even be resolved in them; their app folder is read-only and they
 * have no STORE_PATH.
 */

const APP_ROOT = path.resolve(__dirname, '..', '..');
const POOL = 'openai-instance-backend-pool';
const PROBE_TIMEOUT_MS = 2_000;
const APP_INSIGHTS_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-verifier/providers/Microsoft.Insights/components/appi-verifier';

let azurite: RunningAzurite;
let ingestion: FakeIngestion;
let logsApi: FakeLogAnalytics;
let lab: EmbeddedEnvironment;
let webhook: WebhookReceiver;
let appDir: string;
let state: SharedState;
const instances: Instance[] = [];

type Instance = AppInstance;

function settings(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_EXTRA_CA_CERTS: path.join(APP_ROOT, 'test', 'fixtures', 'tls', 'cert.pem'),
    APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
    // What the Functions platform sets on every instance: the azure environment is detected from it.
    WEBSITE_SITE_NAME: 'func-pool-verifier-test',
    TEST_APP_ROOT: appDir,
    APIM_GATEWAY_URL: lab.gatewayUrl,
    APIM_SUBSCRIPTION_KEY: lab.subscriptionKey,
    POOL_DEFINITION_PATH: 'pool.json',
    DEPLOY_MODE: 'deploy',
    ARM_ENDPOINT: lab.armEndpoint,
    APIM_SUBSCRIPTION_ID: lab.apim.subscriptionId,
    APIM_RESOURCE_GROUP: lab.apim.resourceGroup,
    APIM_SERVICE_NAME: lab.apim.serviceName,
    AzureWebJobsStorage: azurite.connectionString,
    APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
    LOGS_SOURCE: 'appinsights',
    APPINSIGHTS_RESOURCE_ID: APP_INSIGHTS_ID,
    LOGS_ENDPOINT: logsApi.endpoint,
    LOGS_QUERY_TIMEOUT_MS: '5000',
    // Enough answers for a run to show a missing backend at α = 1e-4 (about 37 identified answers; docs/statistics.md).
    PROBE_MAX_REQUESTS: '80',
    PROBE_CONCURRENCY: '2',
    PROBE_TIMEOUT_MS: String(PROBE_TIMEOUT_MS),
    PROBE_SEQUENTIAL: 'false',
    PROBE_SCHEDULE: '*/5 * * * * *',
    REPORT_PRIMARY_WINDOW: 'run',
    ALERT_WEBHOOK_URL: webhook.url('/hook/SECRET-WEBHOOK-two-instances'),
  };
}

/**
 * How an app process loads the code: the compiled `dist/` when it is at least as new as every source file (as after
 * `npm test`'s build: much faster to start), else the TypeScript sources transpiled on load. Never a stale build.
 */
function startInstance(name: string): Instance {
  const instance = startAppInstance(name, appDir, settings());
  instances.push(instance);
  return instance;
}

let timerIds = 0;
/** What ends one queued pool run: it ran, it was skipped, or the tick did not queue it. */
const OUTCOME = /Run [0-9a-f-]+: \d+ probes|Probe run skipped: |not queued, its run/;
/** The timer and queue-trigger lines of every live instance since `marks`. */
const functionLines = (marks: readonly number[]): string[][] =>
  instances.map((instance, k) => instance.lines.slice(marks[k]).filter((line) => line.startsWith('log [probeTimer]') || line.startsWith('log [probePool]')));

/**
 * Fires the timers of `targets` at once and resolves, once every pool run they asked for has ended (on whichever
 * instance's queue trigger took the message), with each live instance's function log lines since.
 */
async function fireTimers(targets: readonly Instance[]): Promise<string[][]> {
  const marks = instances.map((instance) => instance.lines.length);
  const ids = targets.map(() => `t${++timerIds}`);
  const done = targets.map((instance, k) => instance.waitFor(new RegExp(`^timer-done ${ids[k]} `), 60_000));
  targets.forEach((instance, k) => instance.send(`timer ${ids[k]}`));
  await Promise.all(done);
  await waitUntil(() => functionLines(marks).flat().filter((line) => OUTCOME.test(line)).length >= targets.length, 'the queued pool runs ended', 60_000);
  return functionLines(marks);
}

/** Fires one instance's timer; the lines of every instance (the run may happen on either). */
async function fireTimer(instance: Instance): Promise<string[]> {
  return (await fireTimers([instance])).flat();
}

async function getJson(instance: Instance, route: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${instance.baseUrl}/api/${route}`);
  return { status: response.status, body: (await response.json()) as unknown };
}

const ranRun = (lines: readonly string[]): boolean => lines.some((line) => /Run [0-9a-f-]+: \d+ probes/.test(line));

beforeAll(async () => {
  // Started one by one so that whatever started is closed by afterAll even when a later one fails.
  ingestion = await startFakeIngestion();
  webhook = await startWebhookReceiver();
  lab = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 11 });
  azurite = await startAzurite({ queue: true });
  logsApi = await startFakeLogAnalytics((query) => answerFromEnvelopes(ingestion.envelopes(), query));
  // The app folder holds only the pool definition, and is read-only (as when a Function App runs from a package).
  appDir = mkdtempSync(path.join(tmpdir(), 'apv-readonly-app-'));
  copyFileSync(path.join(APP_ROOT, 'examples', 'lab-pool.json'), path.join(appDir, 'pool.json'));
  // A deployed package always holds host.json: the queue trigger's settings (maxDequeueCount …) are read from it.
  copyFileSync(path.join(APP_ROOT, 'host.json'), path.join(appDir, 'host.json'));
  chmodSync(appDir, 0o555);
  const scope = evidenceScope({ embedded: false, gatewayUrl: lab.gatewayUrl, apim: lab.apim });
  state = scopeSharedState(createTableSharedState(createTableClient({ kind: 'connection-string', connectionString: azurite.connectionString })), scope);
}, 120_000);

afterAll(async () => {
  for (const instance of instances) if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGKILL');
  await Promise.all([azurite?.stop(), ingestion?.close(), logsApi?.close(), webhook?.close(), lab?.close()]);
  if (appDir) {
    chmodSync(appDir, 0o755);
    rmSync(appDir, { recursive: true, force: true });
  }
});

describe('two instances in the azure environment, one truth', () => {
  let a: Instance;
  let b: Instance;

  it('cold-starting both deploys once, not twice, and appStart returns before the deploy', async () => {
    a = startInstance('A');
    b = startInstance('B');
    for (const instance of [a, b]) {
      // Without a fresh build each process transpiles the sources on load: slow on a busy machine, hence the bound.
      const ready = await instance.waitFor(/^ready /, 150_000, true);
      instance.baseUrl = ready.slice('ready '.length);
    }
    await Promise.all([a.waitFor(/^startup-settled$/, 30_000, true), b.waitFor(/^startup-settled$/, 30_000, true)]);
    const deployed = [a, b].filter((instance) => instance.lines.some((line) => /Deploy \(deploy\): succeeded/.test(line)));
    expect(deployed).toHaveLength(1);
    // The host served (after awaiting appStart) before the deploy finished: the hook did not block it.
    const deployer = deployed[0]!;
    expect(deployer.lines.findIndex((line) => line.startsWith('ready '))).toBeLessThan(deployer.lines.findIndex((line) => /Deploy \(deploy\)/.test(line)));
    const other = deployed[0] === a ? b : a;
    expect(other.lines.some((line) => /Start-up step not repeated: (already done for this definition|another instance is running the start-up step)/.test(line))).toBe(true);
    // Three resources written once (two backends and the pool), by one instance.
    expect(lab.armLog.filter((entry) => entry.method === 'PUT').length).toBe(3);
    const record = await state.lastStartupRecord(POOL);
    expect(record?.deploy.status).toBe('succeeded');
  }, 200_000);

  it('a timer run on A shows on B: the run, its verdict, the deploy outcome and the alert state', async () => {
    const lines = await fireTimer(a);
    expect(ranRun(lines)).toBe(true);
    const [run] = await state.recentRuns(POOL, 1);
    expect(run).toMatchObject({ state: 'complete', probesSent: 80 });

    const fromB = await getJson(b, 'report');
    expect(fromB.status).toBe(200);
    const report = fromB.body as Report;
    const runWindow = report.windows.find((w) => w.name === 'run');
    expect(runWindow?.total).toBe(80);
    expect(runWindow?.status).toBe(run?.verdict);
    expect(report.lastDeploy?.status).toBe('succeeded');
    const fromA = (await getJson(a, 'report')).body as Report;
    expect(report.alerts).toEqual(fromA.alerts);
    expect(report.alerts.state).not.toBeNull();

    const health = await getJson(b, 'health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', lastRunAt: new Date(run?.finishedAtMs ?? 0).toISOString() } });
  });

  it('both timers firing at once make one run and one page', async () => {
    // A region down: the split drifts and an incident opens. A slow region keeps the run long enough to overlap.
    await lab.faults.setFault('East US', { kind: 'down' });
    await lab.faults.setFault('West US', { kind: 'slow', delayInMs: 40 });
    const pagesBefore = webhook.requests.length;
    try {
      // Each timer queues the pool (or sees its run going); whichever instance takes a message, one run happens.
      const lines = (await fireTimers([a, b])).flat();
      expect(lines.filter((line) => /Run [0-9a-f-]+: \d+ probes/.test(line))).toHaveLength(1);
      expect(lines.filter((line) => /Probe run skipped: (another run is in progress|a run of this pool already started)|not queued, its run/.test(line))).toHaveLength(1);
    } finally {
      await lab.faults.heal();
    }
    const pages = webhook.requests.slice(pagesBefore);
    expect(pages).toHaveLength(1);
    expect(pages[0]?.body).toMatch(/"kind":"alert"|alert/);
    const report = (await getJson(b, 'report')).body as Report;
    expect(report.alerts.recent[0]).toMatchObject({ kind: 'alert', delivered: true });
  });

  it('kill -9 A mid-run: B takes the next run within one probe timeout plus one interval, marks A\'s run incomplete, and is healthy', async () => {
    await lab.faults.setFault('West US', { kind: 'slow', delayInMs: 300 });
    await lab.faults.setFault('East US', { kind: 'slow', delayInMs: 300 });
    const answeredBefore = lab.accessLog.entries().length;
    const marks = instances.map((instance) => instance.lines.length);
    void fireTimer(a).catch(() => undefined);
    // Mid-run: the instance whose queue trigger took the message has begun its run and the gateway answered some probes.
    for (let attempt = 0; attempt < 200 && lab.accessLog.entries().length < answeredBefore + 4; attempt++) await new Promise((resolve) => setTimeout(resolve, 25));
    const [running] = await state.recentRuns(POOL, 1);
    expect(running?.state).toBe('running');
    const runnerIndex = instances.findIndex((instance, k) => instance.lines.slice(marks[k]).some((line) => /Probe run for the tick at .*: starting\./.test(line)));
    expect([a, b]).toContain(instances[runnerIndex]);
    const runner = instances[runnerIndex] as Instance;
    const survivor = runner === a ? b : a;
    runner.child.kill('SIGKILL');
    const killedAt = Date.now();
    await lab.faults.heal();

    // B's timer fires every half second (its "interval" here) until it gets the run lease.
    const intervalInMs = 500;
    let tookOver: string[] | undefined;
    for (let attempt = 0; attempt < 40 && !tookOver; attempt++) {
      const lines = await fireTimer(survivor);
      if (ranRun(lines)) tookOver = lines;
      else await new Promise((resolve) => setTimeout(resolve, intervalInMs));
    }
    expect(tookOver).toBeDefined();
    // Its run started within one probe timeout (the lease's life) plus one interval after the kill; the run itself
    // then took its own time, so the bound is checked on the run's recorded start.
    const runs = await state.recentRuns(POOL, 5);
    const taken = runs.find((run) => run.state === 'complete');
    expect((taken?.startedAtMs ?? Infinity) - killedAt).toBeLessThanOrEqual(PROBE_TIMEOUT_MS + intervalInMs + 1_000);
    expect(tookOver?.some((line) => /Marked 1 unfinished earlier run\(s\) as incomplete/.test(line))).toBe(true);
    expect(runs.find((run) => run.runId === running?.runId)).toMatchObject({ state: 'incomplete' });

    const health = await getJson(survivor, 'health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    b = survivor;
  });

  it('never touched the read-only app folder and never loaded better-sqlite3', async () => {
    expect(readdirSync(appDir).sort()).toEqual(['host.json', 'pool.json']);
    const exited = b.waitFor(/^native-sqlite-loaded /, 30_000);
    b.send('exit');
    expect(await exited).toBe('native-sqlite-loaded false');
    for (const instance of instances) {
      expect(instance.lines.filter((line) => /^fatal |stderr .*Error|better-sqlite3 must not be loaded/.test(line))).toEqual([]);
      expect(instance.lines.join('\n')).not.toContain('SECRET-WEBHOOK-two-instances');
    }
  });
});
