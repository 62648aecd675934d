import { disposeServices, getServices } from '../../src/app/appState';
import type { EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { runVerificationCycle } from '../../src/lib/verifier/runVerificationCycle';
import { recordUnhandledRejections, type RejectionRecorder } from '../corpus/support';
import { findingKinds, getReport, logs, registerFunctions, runStartupHook, runTimer, startLab, useServices } from './harness';
import { closedPortUrl } from '../support/closedPortUrl';

jest.mock('@azure/functions-core', () => require('../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

/**
 * Faults on the embedded environment, end to end through the real functions: start-up deploy, one probeTimer run,
 * then GET /api/report. For each fault: what the report says (status, findings) and which alert fires.
 */

let env: EmbeddedEnvironment | undefined;
let rejections: RejectionRecorder;

/** A fresh emulator (breakers and quotas start clean), services on it, the pool deployed. */
async function freshLab(settings: Record<string, string> = {}): Promise<EmbeddedEnvironment> {
  await disposeServices();
  await env?.close();
  env = await startLab();
  await useServices(settings, env);
  await runStartupHook();
  return env;
}

beforeAll(async () => {
  rejections = recordUnhandledRejections();
  // The start-up hook logs to the console (the host's log); keep those lines with the rest.
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(' ')));
  await registerFunctions();
});

afterAll(async () => {
  await disposeServices();
  await env?.close();
  rejections.uninstall();
});

describe('one backend down', () => {
  it('reports weight drift on the dead backend and opens a drift alert', async () => {
    const lab = await freshLab();
    await lab.faults.setFault('East US', { kind: 'down' });
    await runTimer();
    const { report } = await getReport();
    expect(report.lastDeploy?.status).toBe('succeeded');
    expect(report.status).toBe('drift');
    expect(report.backends.find((b) => b.region === 'East US')?.observedCount).toBe(0);
    expect(report.backends.find((b) => b.region === 'East US')?.flagged).toBe(true);
    expect(findingKinds(report)).toContain('weight-drift');
    expect(report.alerts.state?.health).toBe('drift');
    expect(report.alerts.recent[0]).toMatchObject({ kind: 'alert', health: 'drift' });
  });
});

describe('one backend throttled with Retry-After 86400', () => {
  it('counts the 429s beside the shifted shares, reports drift and opens a drift alert', async () => {
    const lab = await freshLab();
    await lab.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 86_400 });
    await runTimer();
    const { report } = await getReport();
    expect(report.status).toBe('drift');
    const east = report.backends.find((b) => b.region === 'East US');
    expect(east?.flagged).toBe(true);
    expect(east?.observedCount).toBe(0);
    expect(findingKinds(report)).toContain('weight-drift');
    expect(report.alerts.recent[0]).toMatchObject({ kind: 'alert', health: 'drift' });
  });
});

describe('every backend down', () => {
  it('reports the gateway 5xx answers as errors and an outage, never ok', async () => {
    const lab = await freshLab();
    await lab.faults.setFault('East US', { kind: 'down' });
    await lab.faults.setFault('West US', { kind: 'down' });
    await runTimer();
    const { report } = await getReport();
    expect(report.status).not.toBe('ok');
    // Connection failures on every member: the gateway answers 5xx itself (500 BackendConnectionFailure).
    const statuses = Object.keys(report.errors.byStatus);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s.startsWith('5'))).toBe(true);
    expect(report.total).toBe(60);
    expect(report.backends.every((b) => b.observedCount === 0)).toBe(true);
    expect(findingKinds(report)).toContain('errors');
    expect(report.findings.find((f) => f.kind === 'outage')).toMatchObject({ severity: 'alert' });
  });

  // Was a bug: healthOf ignored the `outage` finding, so a total outage never paged. `outage` is now a PoolHealth.
  it('opens an alert when no backend answers at all', async () => {
    const { report } = await getReport();
    expect(report.alerts.state?.health).toBe('outage');
    expect(report.headline).toMatch(/^Outage: /);
    expect(report.alerts.recent.length).toBeGreaterThan(0);
  });
});

describe('one backend slower than the probe timeout', () => {
  it('counts its probes as timeouts and reports drift', async () => {
    // 80 probes: about 53 answers, all from West US. A drift must be shown beyond the ±5-point tolerance (the band
    // edge at 71.7%, not the weight), which 27 answers (40 probes) cannot do at α = 1e-4; 37 can.
    const lab = await freshLab({ PROBE_TIMEOUT_MS: '300', PROBE_MAX_REQUESTS: '80', PROBE_CONCURRENCY: '8' });
    await lab.faults.setFault('East US', { kind: 'slow', delayInMs: 2000 });
    await runTimer();
    const { report } = await getReport();
    expect(report.errors.timeout).toBeGreaterThan(0);
    expect(report.backends.find((b) => b.region === 'East US')?.observedCount).toBe(0);
    expect(report.status).toBe('drift');
    expect(report.findings.find((f) => f.kind === 'errors')?.message).toMatch(/timeout/);
    expect(report.alerts.recent[0]).toMatchObject({ kind: 'alert', health: 'drift' });
  });
});

describe('wrong subscription key', () => {
  it('stops the run as a configuration error: fatal set, no drift, no alert, the report says check the key', async () => {
    const lab = await freshLab({ APIM_SUBSCRIPTION_KEY: 'SECRET-SUBKEY-wrong-0000' });
    const services = await getServices();
    const cycleLogs: string[] = [];
    const result = await runVerificationCycle(services.cycleDependencies((line) => cycleLogs.push(line)));
    expect(result.ran).toBe(true);
    if (!result.ran) return;
    expect(result.fatal?.kind).toBe('unauthorized');
    expect(result.probesSent).toBeLessThanOrEqual(8);
    expect(cycleLogs.join('\n')).toMatch(/configuration error, not pool drift/);
    const { report } = await getReport();
    expect(report.status).not.toBe('drift');
    expect(findingKinds(report)).not.toContain('weight-drift');
    expect(findingKinds(report)).toContain('auth-failure');
    expect(report.findings.find((f) => f.kind === 'auth-failure')?.message).toMatch(/subscription key/);
    // The verifier's own key refused: a blind verifier pages as itself (issue 11), never as a pool incident.
    expect(report.alerts.recent.map((a) => `${a.kind}:${a.health}`)).toEqual(['alert:blind']);
    expect(JSON.stringify(report)).not.toContain('SECRET-SUBKEY-wrong-0000');
    expect(lab.accessLog.entries().every((e) => e.status === 401)).toBe(true);
  });
});

describe('gateway unreachable', () => {
  it('stops the run as unreachable, never drift, and the timer does not throw', async () => {
    const lab = await freshLab();
    const gone = await closedPortUrl();
    await useServices({ APIM_GATEWAY_URL: `${gone}/openai`, APIM_SUBSCRIPTION_KEY: lab.subscriptionKey, VERIFIER_ENVIRONMENT: 'embedded' }, lab);
    const before = logs.length;
    await expect(runTimer()).resolves.toBeUndefined();
    expect(logs.slice(before).join('\n')).toMatch(/Probe run stopped: Could not connect to .*ECONNREFUSED/);
    const { report } = await getReport();
    expect(report.status).not.toBe('drift');
    expect(findingKinds(report)).not.toContain('weight-drift');
    expect(report.errors.network).toBeGreaterThan(0);
    expect(report.health).toBe('blind');
    expect(report.alerts.recent.map((a) => `${a.kind}:${a.health}`)).toEqual(['alert:blind']);
  });
});

describe('after every fault', () => {
  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
