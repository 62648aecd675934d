import { loadConfig } from '../../src/lib/config/loadConfig';
import { InProcessQueue } from '../../src/lib/queue/inProcessQueue';
import { DEFAULT_QUEUE_HOST_OPTIONS } from '../../src/lib/queue/queueHostOptions';
import { chooseQueueTransport } from '../../src/local/chooseQueueTransport';
import { createFunctionsCoreShim } from '../../src/local/functionsCoreShim';
import { LocalFunctionsHost } from '../../src/local/LocalFunctionsHost';
import { waitUntil } from '../support/waitUntil';

const run = (pool: string) => ({ pool, service: 'default', tick: '2026-12-01T06:00:00.000Z' });

function hostWithQueueFunction(queueTransportOf: ConstructorParameters<typeof LocalFunctionsHost>[0]['queueTransportOf'], settings: Record<string, string> = {}) {
  const shim = createFunctionsCoreShim();
  const calls: { value: unknown; metadata: Record<string, unknown> | undefined }[] = [];
  shim.registerFunction(
    { name: 'probePool', bindings: { queueTrigger1: { type: 'queueTrigger', direction: 'in', queueName: '%QUEUE%', connection: 'AzureWebJobsStorage' } } },
    async (...args: unknown[]) => {
      const [value, context] = args as [unknown, { triggerMetadata?: Record<string, unknown> }];
      calls.push({ value, metadata: context.triggerMetadata });
      if ((value as { pool?: string }).pool === 'failing') throw new Error('pool unreachable');
    },
  );
  const lines: string[] = [];
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    port: 0,
    settings: { QUEUE: 'probe-runs', ...settings },
    ...(queueTransportOf ? { queueTransportOf } : {}),
    queueOptions: { ...DEFAULT_QUEUE_HOST_OPTIONS, maxDequeueCount: 2, maxPollingIntervalInMs: 200 },
    log: (line) => lines.push(line),
  });
  return { host, calls, lines };
}

describe('the local host runs app.storageQueue functions', () => {
  it('from an in-process queue in the local environment, with the host queue semantics', async () => {
    const queues = chooseQueueTransport(loadConfig({ VERIFIER_ENVIRONMENT: 'local' }));
    expect(queues.kind).toBe('in-process');
    const { host, calls, lines } = hostWithQueueFunction(queues.queueTransportOf);
    await host.start();
    try {
      await queues.workQueue.enqueue(run('ok'));
      await queues.workQueue.enqueue(run('failing'));
      await waitUntil(async () => (await queues.workQueue.poisoned(5)).length === 1, 'the failing pool is poisoned');
      expect((await queues.workQueue.poisoned(5))[0]?.message).toEqual(run('failing'));
      expect(calls.filter((call) => (call.value as { pool: string }).pool === 'ok')).toHaveLength(1);
      expect(calls.filter((call) => (call.value as { pool: string }).pool === 'failing').map((call) => call.metadata?.['dequeueCount'])).toEqual([1, 2]);
      expect(lines.join('\n')).toMatch(/probePool failed: pool unreachable\. Message has reached MaxDequeueCount of 2/);
    } finally {
      await host.stop();
    }
  });

  it('stops its queue listener on stop: the queue is no longer read', async () => {
    const queue = new InProcessQueue();
    const { host, calls } = hostWithQueueFunction(() => queue);
    await host.start();
    await queue.enqueue(run('ok'));
    await waitUntil(() => calls.length === 1, 'the message is handled');
    await host.stop();
    await queue.enqueue(run('later'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(1);
    expect(queue.length).toBe(1);
  });

  it('refuses to start a queue-triggered function it was given no queue for', async () => {
    const { host } = hostWithQueueFunction(undefined);
    await expect(host.start()).rejects.toThrow(/Queue trigger "probePool" \(queue probe-runs\): the local host was given no queue/);
    await host.stop();
  });
});
