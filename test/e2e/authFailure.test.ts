import path from 'node:path';
import { createServices, type Services } from '../../src/app/createServices';
import { runStartup } from '../../src/app/runStartup';
import { main } from '../../src/cli/main';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { runVerificationCycle } from '../../src/lib/verifier/runVerificationCycle';

/**
 * Issue 3: when a backend rejects the gateway's managed identity (its role assignment is missing), the verifier
 * must report an auth failure on that backend — not a weight drift.
 */
const appRoot = path.resolve(__dirname, '..', '..');
const LAB_POOL = path.join(appRoot, 'examples', 'lab-pool.json');
let env: EmbeddedEnvironment;
let services: Services;

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 21 });
  services = await createServices(
    { STORE_PATH: ':memory:', PROBE_MAX_REQUESTS: '300', PROBE_CONCURRENCY: '16', PROBE_SEQUENTIAL: 'false', REPORT_PRIMARY_WINDOW: 'run' },
    { appRoot, embedded: env },
  );
  await runStartup(services, () => undefined);
  await env.faults.setFault('East US', { kind: 'auth-reject' });
});

afterAll(async () => {
  await services?.close();
  await env?.close();
});

describe('a backend that rejects the gateway\'s managed identity', () => {
  it('is reported as an auth failure on that backend and pages as such, not as weight drift', async () => {
    const result = await runVerificationCycle(services.cycleDependencies(() => undefined));
    if (!result.ran) throw new Error('the cycle did not run');
    const { report } = result;
    expect(result.fatal).toBeNull();
    expect(report.health).toBe('auth-failure');
    expect(report.headline).toMatch(/^Auth failure: East US rejected \d+ probe\(s\)/);
    expect(report.findings.find((f) => f.kind === 'auth-failure')).toMatchObject({ backend: 'openai-instance2', severity: 'alert' });
    expect(report.findings.some((f) => f.kind === 'weight-drift')).toBe(false);
    // Its refusals count as its answers (the gateway selected it): the split itself shows no drift.
    expect(report.windows.find((w) => w.name === 'run')?.status).not.toBe('drift');
    // The report is assembled before this run's alert is processed: read the alert log itself.
    const [alert] = await services.alerts.store.recent(services.declaredPool.name, 1);
    expect(alert).toMatchObject({ kind: 'alert', health: 'auth-failure' });
  });

  it('makes `verify` exit 4 (a 401/403 it cannot verify through), naming the role to grant', async () => {
    let stdout = '';
    const code = await main(['verify', '--pool', LAB_POOL, '--gateway', env.gatewayUrl, '--requests', '200', '--no-early-stop'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stdout += t),
      env: { APIM_SUBSCRIPTION_KEY: env.subscriptionKey },
    });
    expect(code).toBe(4);
    expect(stdout).toMatch(/Cognitive Services OpenAI User/);
    expect(stdout).not.toContain(env.subscriptionKey);
  });
});
