import path from 'node:path';
import { createServices, type Services } from '../../src/app/createServices';
import { runStartup } from '../../src/app/runStartup';
import { buildServiceReport } from '../../src/app/buildServiceReport';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { runVerificationCycle } from '../../src/lib/verifier/runVerificationCycle';

/**
 * DEPLOY_MODE=verify-only (issue 4): the app never writes to ARM, judges traffic against the DEPLOYED weights,
 * and reports how the deployment differs from the declared file as config drift.
 */
const appRoot = path.resolve(__dirname, '..', '..');
let env: EmbeddedEnvironment;
let services: Services;

async function putPool(weights: [number, number]): Promise<void> {
  const base = `/subscriptions/${env.apim.subscriptionId}/resourceGroups/${env.apim.resourceGroup}/providers/Microsoft.ApiManagement/service/${env.apim.serviceName}/backends`;
  const put = (name: string, body: unknown) =>
    fetch(`${env.armEndpoint}${base}/${name}?api-version=2024-05-01`, {
      method: 'PUT',
      headers: { authorization: 'Bearer iac-pipeline', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  // What a team's own IaC deployed: members as declared, but weights 3:1 instead of the file's 2:1.
  for (const [name, host] of [['openai-instance1', 'aoai-nov26-instance1'], ['openai-instance2', 'aoai-nov26-instance2']] as const) {
    expect((await put(name, { properties: { url: `https://${host}.openai.azure.com/openai`, protocol: 'http' } })).status).toBeLessThan(300);
  }
  const pool = await put('openai-instance-backend-pool', {
    properties: { type: 'Pool', pool: { services: [{ id: `${base}/openai-instance1`, priority: 1, weight: weights[0] }, { id: `${base}/openai-instance2`, priority: 1, weight: weights[1] }] } },
  });
  expect(pool.status).toBeLessThan(300);
}

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 5 });
  await putPool([3, 1]);
  services = await createServices(
    { STORE_PATH: ':memory:', DEPLOY_MODE: 'verify-only', PROBE_MAX_REQUESTS: '400', PROBE_CONCURRENCY: '16', PROBE_SEQUENTIAL: 'false', REPORT_PRIMARY_WINDOW: 'run' },
    { appRoot, embedded: env },
  );
});

afterAll(async () => {
  await services?.close();
  await env?.close();
});

describe('verify-only mode', () => {
  it('never writes to ARM at start-up or during a run', async () => {
    const writesBefore = env.armLog.filter((e) => e.method !== 'GET').length;
    const startup = await runStartup(services, () => undefined);
    expect(startup.deploy.mode).toBe('verify-only');
    expect(startup.deploy.actions.every((a) => a.result !== 'written')).toBe(true);
    const result = await runVerificationCycle(services.cycleDependencies(() => undefined));
    expect(result.ran).toBe(true);
    expect(env.armLog.filter((e) => e.method !== 'GET').length).toBe(writesBefore);
  });

  it('judges traffic against the deployed 3:1 weights, so a pool that follows them shows no drift', async () => {
    const report = await buildServiceReport(services, 'run', () => undefined);
    const west = report.backends.find((b) => b.name === 'openai-instance1');
    expect(west?.expectedShare).toBeCloseTo(0.75, 10);
    // Against the declared 2:1 the same 400 answers (75% West) would be drift; against 3:1 they are pinned within
    // a few points (ok needs every interval inside ±5, which 400 answers reach only part of the time).
    const run = report.windows.find((w) => w.name === 'run');
    expect(['ok', 'inconclusive']).toContain(run?.status);
    expect(run?.resolutionInPoints ?? 100).toBeLessThan(8);
  });

  it('reports the declared-vs-deployed difference as config drift, field by field', async () => {
    const report = await buildServiceReport(services, 'run', () => undefined);
    expect(report.configDrift?.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'pool.members[openai-instance1].weight', declared: 2, deployed: 3 }),
      ]),
    );
    expect(report.findings.some((f) => f.kind === 'config-drift' && f.severity === 'alert')).toBe(true);
    expect(report.alerts.state?.health).toBe('config-drift');
  });
});
