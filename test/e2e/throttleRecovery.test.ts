import path from 'node:path';
import { createServices, type Services } from '../../src/app/createServices';
import { runStartup } from '../../src/app/runStartup';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { runVerificationCycle, type CycleResult } from '../../src/lib/verifier/runVerificationCycle';

/**
 * Issue 3: the verifier flags drift for a throttled region and recovers after healing — through the real cycle,
 * the lab's breakers (count 1 on 429, acceptRetryAfter) and retry policy. The emulator's clock is injected, so the
 * breaker's 60-second Retry-After passes without waiting.
 */
const appRoot = path.resolve(__dirname, '..', '..');
let clockMs = Date.now();
let env: EmbeddedEnvironment;
let services: Services;

async function cycle(): Promise<Extract<CycleResult, { ran: true }>> {
  const result = await runVerificationCycle(services.cycleDependencies(() => undefined));
  if (!result.ran) throw new Error(`cycle skipped: ${result.reason}`);
  return result;
}

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 33, now: () => clockMs });
  services = await createServices(
    { STORE_PATH: ':memory:', PROBE_MAX_REQUESTS: '120', PROBE_CONCURRENCY: '8', REPORT_PRIMARY_WINDOW: 'run' },
    { appRoot, embedded: env },
  );
  await runStartup(services, () => undefined);
});

afterAll(async () => {
  await services?.close();
  await env?.close();
});

it('flags drift while East US is throttled, then announces recovery once it is healed and its breaker closes', async () => {
  const healthy = await cycle();
  // 120 probes cannot pin the shares within ±5 points (that takes ~1,180): inconclusive, but a missing backend is
  // ruled out, which is what a clean run means for recovery (isConclusive).
  const healthyRun = healthy.report.windows.find((w) => w.name === 'run');
  expect(healthyRun).toMatchObject({ status: 'inconclusive', deadBackendRuledOut: true });
  expect(healthyRun?.meaning).toMatch(/^No backend is missing/);
  expect(healthy.report.health).toBe('ok');

  await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 60 });
  const throttled = await cycle();
  expect(throttled.report.health).toBe('drift');
  expect(throttled.stoppedEarly).toBe(true);
  const east = throttled.report.backends.find((b) => b.region === 'East US');
  expect(east?.flagged).toBe(true);
  expect(east?.observedShare ?? 1).toBeLessThan(0.1);
  const [alert] = await services.alerts.store.recent(services.declaredPool.name, 1);
  expect(alert).toMatchObject({ kind: 'alert', health: 'drift' });

  await env.faults.heal('East US');
  // Still inside the breaker's Retry-After: East US stays out of the pool, the run still sees drift.
  const stillOpen = await cycle();
  expect(stillOpen.report.health).toBe('drift');

  clockMs += 61_000; // the breaker honoured Retry-After: 60 s; now it closes
  const first = await cycle();
  const second = await cycle();
  for (const run of [first, second]) {
    expect(run.report.windows.find((w) => w.name === 'run')).toMatchObject({ status: 'inconclusive', deadBackendRuledOut: true });
    expect(run.report.health).toBe('ok');
  }
  // The pooled hour window leaves out the runs flagged on their own, so it judges the steady state again.
  expect(second.report.windows.find((w) => w.name === 'hour')?.status).not.toBe('drift');
  const [recovery] = await services.alerts.store.recent(services.declaredPool.name, 1);
  expect(recovery).toMatchObject({ kind: 'recovery', health: 'ok', previousHealth: 'drift' });
});
