import path from 'node:path';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { configureServicesExplicitly } from '../../src/app/defaultServices';
import { disposeServices, getServices } from '../../src/app/appState';
import { createServices } from '../../src/app/createServices';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { sharedFunctionsCoreShim, triggerOf } from '../../src/local/functionsCoreShim';
import { drainProbeQueue } from '../support/drainProbeQueue';
import type { Report } from '../../src/lib/report/types';
import { setDeployedWeights } from '../support/setDeployedWeights';

// The functions register through a stand-in for the host's core module, exactly as under `npm start`.
jest.mock('@azure/functions-core', () => require('../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

const appRoot = path.resolve(__dirname, '..', '..');
const registry = sharedFunctionsCoreShim.registry;
let env: EmbeddedEnvironment;
const logs: string[] = [];

function context(name: string): InvocationContext {
  return new InvocationContext({ functionName: name, logHandler: (_level, ...args) => logs.push(args.map(String).join(' ')) });
}

async function runTimer(): Promise<void> {
  const fn = registry.functions.get('probeTimer');
  if (!fn) throw new Error('probeTimer was not registered');
  await fn.handler({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } }, context('probeTimer'));
  await drainProbeQueue(registry, (line) => logs.push(line));
}

async function getReport(query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const fn = registry.functions.get('report');
  if (!fn) throw new Error('report was not registered');
  const url = new URL('http://localhost/api/report');
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const response = (await fn.handler(new HttpRequest({ method: 'GET', url: url.toString(), query, headers }), context('report'))) as {
    status: number;
    jsonBody?: unknown;
    body?: unknown;
    headers?: Record<string, string>;
  };
  return { status: response.status, body: response.jsonBody ?? response.body, headers: new Headers(response.headers ?? {}) };
}

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 7 });
  configureServicesExplicitly(() =>
    createServices(
      {
        STORE_PATH: ':memory:',
        PROBE_MAX_REQUESTS: '600',
        PROBE_CONCURRENCY: '16',
        PROBE_TIMEOUT_MS: '5000',
        PROBE_SEQUENTIAL: 'false',
        REPORT_PRIMARY_WINDOW: 'run',
      },
      { appRoot, embedded: env },
    ),
  );
  // Importing the modules registers the functions and the start-up hook with the stand-in.
  await import('../../src/functions/startup');
  await import('../../src/functions/probeTimer');
  await import('../../src/functions/probePool');
  await import('../../src/functions/report');
  await import('../../src/functions/health');
});

afterAll(async () => {
  await disposeServices();
  await env?.close();
});

describe('the whole loop on the embedded default', () => {
  it('registers the real functions with their bindings', () => {
    const report = registry.functions.get('report');
    const timer = registry.functions.get('probeTimer');
    const health = registry.functions.get('health');
    expect(report && triggerOf(report)).toMatchObject({ type: 'httpTrigger', route: 'report', authLevel: 'function', methods: ['GET'] });
    expect(health && triggerOf(health)).toMatchObject({ type: 'httpTrigger', route: 'health', authLevel: 'anonymous' });
    expect(timer && triggerOf(timer)).toMatchObject({ type: 'timerTrigger', schedule: '0 */5 * * * *' });
    expect(registry.hooks.get('appStart')).toHaveLength(1);
  });

  it('deploys at start-up through ARM, then a second start-up with the same definition does not deploy again', async () => {
    const [hook] = registry.hooks.get('appStart') ?? [];
    await hook?.({ hookData: {}, appHookData: {} });
    await (await import('../../src/functions/startup')).startupSettled();
    const services = await getServices();
    const first = await services.state.lastDeployOutcome(services.declaredPool.name);
    expect(first?.status).toBe('succeeded');
    expect(first?.actions.map((a) => [a.resource, a.result])).toEqual([
      ['openai-instance1', 'written'],
      ['openai-instance2', 'written'],
      ['openai-instance-backend-pool', 'written'],
    ]);
    await hook?.({ hookData: {}, appHookData: {} });
    await (await import('../../src/functions/startup')).startupSettled();
    const second = await services.state.lastDeployOutcome(services.declaredPool.name);
    // Same definition hash: the recorded outcome stands, nothing was deployed again.
    expect(second).toEqual(first);
    expect((await services.state.lastStartupRecord(services.declaredPool.name))?.deploy).toEqual(first);
  });

  it('sends 600 probes through the gateway and finds no drift from the 2:1 weights, ruling out a missing backend', async () => {
    await runTimer();
    const { status, body } = await getReport({ window: 'run' });
    expect(status).toBe(200);
    const report = body as Report;
    expect(report.total).toBe(600);
    // 600 answers show ±5 points only about 60% of the time (1,180 for 95%): ok or inconclusive, never drift.
    expect(['ok', 'inconclusive']).toContain(report.status);
    const run = report.windows.find((w) => w.name === 'run');
    expect(run?.deadBackendRuledOut).toBe(true);
    expect(run?.resolutionInPoints ?? 100).toBeLessThan(8);
    if (report.status === 'inconclusive') expect(report.headline).not.toMatch(/follows its weights/);
    const west = report.backends.find((b) => b.region === 'West US');
    const east = report.backends.find((b) => b.region === 'East US');
    expect(west?.expectedShare).toBeCloseTo(2 / 3, 10);
    expect(east?.expectedShare).toBeCloseTo(1 / 3, 10);
    expect((west?.observedCount ?? 0) + (east?.observedCount ?? 0)).toBe(600);
    expect(report.unidentified.count).toBe(0);
    expect(report.lastDeploy?.status).toBe('succeeded');
  });

  it('flags drift when the deployed weights are changed to 1:1 behind its back, and reports the config drift', async () => {
    await setDeployedWeights(env, 1, 1);

    await runTimer();
    const report = (await getReport({ window: 'run' })).body as Report;
    expect(report.status).toBe('drift');
    expect(report.backends.some((b) => b.flagged)).toBe(true);
    expect(report.findings.some((f) => f.kind === 'weight-drift')).toBe(true);
    expect(report.configDrift?.differences).toEqual(
      expect.arrayContaining([expect.objectContaining({ resource: expect.any(String), declared: 2, deployed: 1 })]),
    );
    expect(report.findings.some((f) => f.kind === 'config-drift')).toBe(true);
  });

  it('serves the same report as HTML with a strict Content-Security-Policy when a browser asks', async () => {
    const { status, body, headers } = await getReport({}, { accept: 'text/html,application/xhtml+xml' });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/text\/html/);
    expect(headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(String(body)).toContain('openai-instance1');
    expect(String(body)).not.toMatch(/<script/i);
  });

  it('answers a bad query parameter with 400 naming what is allowed', async () => {
    const { status, body } = await getReport({ window: 'week', format: 'pdf' });
    expect(status).toBe(400);
    const message = (body as { error: { message: string } }).error.message;
    expect(message).toMatch(/window "week".*run, hour, day/);
    expect(message).toMatch(/format "pdf".*json, html/);
  });

  it('never logs the subscription key', () => {
    expect(logs.join('\n')).not.toContain(env.subscriptionKey);
  });
});
