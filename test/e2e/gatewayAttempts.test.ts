import path from 'node:path';
import { buildServiceReport } from '../../src/app/buildServiceReport';
import { createServices, type Services } from '../../src/app/createServices';
import { runStartup } from '../../src/app/runStartup';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { renderReportHtml } from '../../src/lib/report/renderReportHtml';
import { runVerificationCycle } from '../../src/lib/verifier/runVerificationCycle';

/**
 * Issue 16: while East US is throttled, the lab's retry policy answers the probe from West US and East US's tripped
 * breaker sends it nothing more, so the probes record no 429 for East US. The report shows what the gateway saw:
 * the emulator's access log holds East US's 429.
 */
const appRoot = path.resolve(__dirname, '..', '..');
let env: EmbeddedEnvironment;
let services: Services;

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 41 });
  services = await createServices({ STORE_PATH: ':memory:', PROBE_MAX_REQUESTS: '60', PROBE_CONCURRENCY: '4', REPORT_PRIMARY_WINDOW: 'run' }, { appRoot, embedded: env });
  await runStartup(services, () => undefined);
});

afterAll(async () => {
  await services?.close();
  await env?.close();
});

it("shows East US's 429s from the gateway's access log while the probes saw none", async () => {
  expect(services.gatewayAttempts).toBeDefined();
  await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 60 });
  const cycle = await runVerificationCycle(services.cycleDependencies(() => undefined));
  if (!cycle.ran) throw new Error(`cycle skipped: ${cycle.reason}`);

  const report = await buildServiceReport(services, 'run', () => undefined);
  const east = report.backends.find((b) => b.region === 'East US')!;
  const west = report.backends.find((b) => b.region === 'West US')!;
  // The probes: no 429 at all (the retry hid it), East US's share gone.
  expect(report.errors.byStatus['429'] ?? 0).toBe(0);
  expect(east.errorsByStatus['429'] ?? 0).toBe(0);

  // The gateway: East US answered 429 and its breaker tripped; West US answered every call it got.
  const gateway = report.gatewayAttempts!;
  expect(gateway).toMatchObject({ source: 'emulator-access-log', perAttempt: true, unattributed: 0 });
  const eastCalls = gateway.byBackend[east.name]!;
  expect(eastCalls.throttled429).toBeGreaterThanOrEqual(1);
  expect(eastCalls.throttled429).toBe(eastCalls.attempts);
  expect(eastCalls.breakerTrips).toBeGreaterThanOrEqual(1);
  expect(gateway.byBackend[west.name]).toMatchObject({ throttled429: 0, serverErrors: 0 });
  // Every probe of the run made exactly one West US call that answered it, plus East US's attempts.
  expect(gateway.byBackend[west.name]!.attempts).toBe(report.total);

  // Truth, independently: the access log itself over the same span.
  const fromMs = Date.parse(gateway.from);
  const toMs = Date.parse(gateway.to);
  const logged = env.accessLog
    .entries()
    .filter((e) => e.at >= fromMs && e.at < toMs)
    .flatMap((e) => e.attempts)
    .filter((a) => a.region === 'East US' && a.status === 429).length;
  expect(eastCalls.throttled429).toBe(logged);

  const html = renderReportHtml(report);
  expect(html).toContain('429 at the gateway');
  expect(html).toContain(`${eastCalls.throttled429} of ${eastCalls.attempts}`);
  expect(html).toContain('from its access log (/_emulator/access-log)');
});

it('reports no gateway record for a gateway it cannot read, and says so in the log', async () => {
  const lines: string[] = [];
  const unreadable = { ...services, gatewayAttempts: { readBackendAttempts: async () => Promise.reject(new Error('GET http://127.0.0.1:9/_emulator/access-log: connection refused')) } };
  const report = await buildServiceReport(unreadable, 'run', (line) => lines.push(line));
  expect(report.gatewayAttempts).toBeNull();
  expect(lines).toContain("Could not read the gateway's own record of backend calls: GET http://127.0.0.1:9/_emulator/access-log: connection refused");
});
