import path from 'node:path';
import { disposeServices } from '../../src/app/appState';
import type { EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { makeTempDir, recordUnhandledRejections, type RejectionRecorder } from '../corpus/support';
import { startWebhookReceiver, type WebhookReceiver } from '../lib/alerts/webhookReceiver';
import { closedPortUrl } from '../support/closedPortUrl';
import { findingKinds, getReport, logs, registerFunctions, runStartupHook, runTimer, startLab, useServices } from './harness';

jest.mock('@azure/functions-core', () => require('../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

/**
 * A verifier that cannot probe pages as itself (issue 11): when every probe stops before the pool (connection
 * refused, the gateway refusing the verifier's key), the health is `blind` — its own incident, paged, reminded and
 * recovered through the webhook — and never "the pool answered nothing". A pool answering 503 stays `outage`.
 */

let env: EmbeddedEnvironment;
let receiver: WebhookReceiver;
let tmp: ReturnType<typeof makeTempDir>;
let rejections: RejectionRecorder;

beforeAll(async () => {
  rejections = recordUnhandledRejections();
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(' ')));
  await registerFunctions();
  env = await startLab();
  receiver = await startWebhookReceiver();
  tmp = makeTempDir('apv-blind-');
});

afterAll(async () => {
  await disposeServices();
  await env?.close();
  await receiver?.close();
  tmp?.remove();
  rejections.uninstall();
});

beforeEach(() => {
  receiver.requests.length = 0;
  receiver.answer(200);
});

interface Posted {
  readonly id: string;
  readonly kind: string;
  readonly health: string;
  readonly previousHealth: string;
  readonly message: string;
}
const posted = (): Posted[] => receiver.requests.map((r) => JSON.parse(r.body) as Posted);

describe('a verifier that cannot reach the gateway', () => {
  it('refused connection: the run is blind and pages as the verifier, never as the pool', async () => {
    const storePath = path.join(tmp.dir, 'refused.sqlite');
    const common = { STORE_PATH: storePath, ALERT_WEBHOOK_URL: receiver.url('/hook'), PROBE_MAX_REQUESTS: '200' };
    await useServices({ ...common, APIM_GATEWAY_URL: `${await closedPortUrl()}/openai`, APIM_SUBSCRIPTION_KEY: 'k', VERIFIER_ENVIRONMENT: 'embedded' }, env);
    await runTimer();
    const { report } = await getReport();
    expect(report.health).toBe('blind');
    expect(findingKinds(report)).toContain('blind');
    expect(findingKinds(report)).not.toContain('outage');
    expect(report.headline).toMatch(/^The verifier cannot reach the gateway: /);
    expect(posted()).toEqual([expect.objectContaining({ kind: 'alert', health: 'blind', previousHealth: 'ok' })]);
    expect(posted()[0]?.message).toMatch(/cannot reach the gateway: .*ECONNREFUSED/);
    expect(posted()[0]?.message).not.toMatch(/pool answered nothing/);

  });

  it('the gateway refusing the verifier\'s key (401): blind, not an outage of the pool; recovers once the key is right', async () => {
    const common = { STORE_PATH: path.join(tmp.dir, 'key.sqlite'), ALERT_WEBHOOK_URL: receiver.url('/hook'), APIM_GATEWAY_URL: env.gatewayUrl, VERIFIER_ENVIRONMENT: 'embedded' };
    await useServices({ ...common, APIM_SUBSCRIPTION_KEY: 'WRONG-KEY-blind' }, env);
    await runStartupHook();
    await runTimer();
    const { report } = await getReport();
    expect(report.health).toBe('blind');
    expect(findingKinds(report)).not.toContain('outage');
    expect(posted()).toEqual([expect.objectContaining({ kind: 'alert', health: 'blind' })]);
    expect(posted()[0]?.message).toMatch(/401/);
    expect(JSON.stringify(posted())).not.toContain('WRONG-KEY-blind');

    // The key is fixed (same gateway, so the same evidence and incident; same store): two good runs recover it.
    await useServices({ ...common, APIM_SUBSCRIPTION_KEY: env.subscriptionKey }, env);
    await runTimer();
    await runTimer();
    const kinds = posted().map((p) => `${p.kind}:${p.health}`);
    expect(kinds).toEqual(['alert:blind', 'recovery:ok']);
    expect(posted()[1]?.previousHealth).toBe('blind');
    expect(posted()[1]?.id.split('#')[0]).toBe(posted()[0]?.id.split('#')[0]);
    expect((await getReport()).report.health).toBe('ok');
  });
});

describe('a pool that answers 503 for every probe', () => {
  it('is an outage of the pool, not a blind verifier', async () => {
    await useServices({ STORE_PATH: path.join(tmp.dir, 'outage.sqlite'), ALERT_WEBHOOK_URL: receiver.url('/hook') }, env);
    await runStartupHook();
    await env.faults.setFault('West US', { kind: 'failing', status: 503 });
    await env.faults.setFault('East US', { kind: 'failing', status: 503 });
    try {
      await runTimer();
    } finally {
      await env.faults.heal();
    }
    const { report } = await getReport();
    expect(report.health).toBe('outage');
    expect(findingKinds(report)).not.toContain('blind');
    expect(posted()).toEqual([expect.objectContaining({ kind: 'alert', health: 'outage' })]);
  });
});

describe('after the blind and outage runs', () => {
  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
