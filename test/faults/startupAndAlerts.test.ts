import { disposeServices } from '../../src/app/appState';
import type { EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { startFakeArmServer, type FakeArmServer } from '../lib/deploy/fakeArmServer';
import { recordUnhandledRejections, type RejectionRecorder } from '../corpus/support';
import { findingKinds, getReport, logs, registerFunctions, runStartupHook, runTimer, startLab, useServices } from './harness';
import { closedPortUrl } from '../support/closedPortUrl';

jest.mock('@azure/functions-core', () => require('../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

/**
 * Start-up against a scripted ARM (ARM_ENDPOINT → a fake on port 0): 429 is retried, 500 and 403 leave a failed
 * deploy in the report and the app running. A dead webhook: the run completes and the alert stays pending. Two
 * overlapping timer invocations: one run's probes, one skip line.
 */

let env: EmbeddedEnvironment;
let arm: FakeArmServer;
let rejections: RejectionRecorder;

beforeAll(async () => {
  rejections = recordUnhandledRejections();
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(' ')));
  await registerFunctions();
  env = await startLab();
  arm = await startFakeArmServer();
});

afterAll(async () => {
  await disposeServices();
  await env?.close();
  await arm?.close();
  rejections.uninstall();
});

describe('ARM failures at start-up', () => {
  beforeEach(() => arm.reset());

  it('retries a 429 with Retry-After and then deploys', async () => {
    arm.script({ method: 'PUT', times: 1, action: { kind: 'respond', status: 429, headers: { 'Retry-After': '0' }, body: { error: { code: 'TooManyRequests', message: 'slow down' } } } });
    await useServices({ ARM_ENDPOINT: arm.endpoint }, env);
    await expect(runStartupHook()).resolves.toBeUndefined();
    const puts = arm.requests.filter((r) => r.method === 'PUT');
    expect(puts.length).toBe(4); // 3 resources + the retried one
    const { report } = await getReport();
    expect(report.lastDeploy?.status).toBe('succeeded');
    expect(findingKinds(report)).not.toContain('deploy-failed');
  });

  it('keeps running after ARM answers 500 on every attempt; the report shows the failed deploy', async () => {
    arm.script({ method: 'PUT', times: 100, action: { kind: 'respond', status: 500, headers: { 'Retry-After': '0' }, body: { error: { code: 'InternalServerError', message: 'boom' } } } });
    await useServices({ ARM_ENDPOINT: arm.endpoint }, env);
    await expect(runStartupHook()).resolves.toBeUndefined();
    expect(arm.requests.filter((r) => r.method === 'PUT').length).toBeGreaterThan(1);
    const { status, report } = await getReport();
    expect(status).toBe(200);
    expect(report.lastDeploy?.status).toBe('failed');
    expect(findingKinds(report)).toContain('deploy-failed');
    expect(JSON.stringify(report.lastDeploy)).toMatch(/500/);
  });

  it('does not retry a 403 and names the missing role in the report', async () => {
    arm.script({
      method: 'PUT',
      times: 100,
      action: { kind: 'respond', status: 403, body: { error: { code: 'AuthorizationFailed', message: "The client does not have authorization to perform action 'Microsoft.ApiManagement/service/backends/write'." } } },
    });
    await useServices({ ARM_ENDPOINT: arm.endpoint }, env);
    await expect(runStartupHook()).resolves.toBeUndefined();
    expect(arm.requests.filter((r) => r.method === 'PUT').length).toBe(1);
    const { report } = await getReport();
    expect(report.lastDeploy?.status).toBe('failed');
    expect(findingKinds(report)).toContain('deploy-failed');
    expect(report.findings.find((f) => f.kind === 'deploy-failed')?.message).toMatch(/403|authoriz|Contributor/i);
  });
});

describe('webhook down', () => {
  it('completes the run, reports the drift and keeps the alert pending', async () => {
    const hook = `${await closedPortUrl()}/hook/SECRET-WEBHOOK-down-1`;
    await useServices({ ALERT_WEBHOOK_URL: hook }, env);
    await runStartupHook();
    await env.faults.setFault('East US', { kind: 'down' });
    try {
      await expect(runTimer()).resolves.toBeUndefined();
    } finally {
      await env.faults.heal();
    }
    const { report } = await getReport();
    expect(report.status).toBe('drift');
    expect(report.alerts.state?.health).toBe('drift');
    expect(report.alerts.state?.pending).toMatchObject({ kind: 'alert', health: 'drift' });
    expect(report.alerts.recent[0]).toMatchObject({ kind: 'alert', delivered: false });
    expect(logs.join('\n')).toMatch(/Incident opened \(drift\), not delivered yet; tried again by the first run after \d{4}-\d\d-\d\dT/);
    expect(logs.join('\n')).not.toContain('SECRET-WEBHOOK-down-1');
    expect(JSON.stringify(report)).not.toContain('SECRET-WEBHOOK-down-1');
  });
});

describe('two timer invocations overlapping', () => {
  // Both invocations share the owner `instance-${pid}`; the store's lock is not re-entrant, so the second skips.
  it('only one sends probes; the other logs a skip line', async () => {
    await useServices({ PROBE_SEQUENTIAL: 'false', PROBE_MAX_REQUESTS: '30' }, env);
    await runStartupHook();
    const before = env.accessLog.entries().length;
    const logsBefore = logs.length;
    await Promise.all([runTimer(), runTimer()]);
    expect(env.accessLog.entries().length - before).toBe(30);
    const lines = logs.slice(logsBefore);
    expect(lines.filter((l) => /Probe run skipped: another run is in progress/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^Run [0-9a-f-]+: 30 probes/.test(l))).toHaveLength(1);
  });
});

describe('after start-up faults, a dead webhook and overlapping timers', () => {
  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
