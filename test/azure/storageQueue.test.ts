import { QueueServiceClient } from '@azure/storage-queue';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/lib/config/loadConfig';
import { encodePoolRunMessage, parsePoolRunMessage } from '../../src/lib/queue/poolRunMessage';
import { DEFAULT_QUEUE_HOST_OPTIONS } from '../../src/lib/queue/queueHostOptions';
import { queueStorageOf } from '../../src/lib/queue/queueStorageOf';
import { StorageQueueTransport } from '../../src/lib/queue/storageQueueTransport';
import { StorageWorkQueue, type QueueStorage } from '../../src/lib/queue/storageWorkQueue';
import type { QueueHostOptions } from '../../src/lib/queue/types';
import { chooseQueueTransport } from '../../src/local/chooseQueueTransport';
import { createFunctionsCoreShim } from '../../src/local/functionsCoreShim';
import { LocalFunctionsHost } from '../../src/local/LocalFunctionsHost';
import { QueueTriggerListener, type QueueTriggerMetadata } from '../../src/local/queueTriggerListener';
import { startAzurite, type RunningAzurite } from '../lib/alerts/azurite';
import { waitUntil } from '../support/waitUntil';

/**
 * The fleet's fan-out queue on Azure Storage, against Azurite's queue service: what the timer enqueues, how the
 * local stand-in of the Functions host's queue trigger reads it (Base64, dequeueCount, retries, the poison queue),
 * and how the local host runs an `app.storageQueue` function in the azure environment.
 */

let azurite: RunningAzurite;
let storage: QueueStorage;
let service: QueueServiceClient;
beforeAll(async () => {
  azurite = await startAzurite({ queue: true });
  storage = { kind: 'connection-string', connectionString: azurite.connectionString };
  service = QueueServiceClient.fromConnectionString(azurite.connectionString);
}, 90_000);
afterAll(async () => {
  await azurite?.stop();
});

const run = (pool: string) => ({ pool, service: 'apim-lab-01', tick: '2026-12-01T06:00:00.000Z' });
/** A fresh queue name per test (3–63 lower-case letters, digits, dashes). */
const freshName = (): string => `q${randomUUID().replace(/-/g, '').slice(0, 20)}`;
const fast: QueueHostOptions = { ...DEFAULT_QUEUE_HOST_OPTIONS, maxPollingIntervalInMs: 200 };

const listeners: QueueTriggerListener[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
});
function listen(queueName: string, invoke: (value: unknown, metadata: QueueTriggerMetadata) => Promise<unknown>, options: QueueHostOptions = fast) {
  const lines: string[] = [];
  const listener = new QueueTriggerListener({ functionName: 'probePool', transport: new StorageQueueTransport(storage, queueName), options, invoke, log: (line) => lines.push(line) });
  listeners.push(listener);
  listener.start();
  return { listener, lines };
}
async function approximateCount(queueName: string): Promise<number> {
  try {
    return (await service.getQueueClient(queueName).getProperties()).approximateMessagesCount ?? 0;
  } catch {
    return 0;
  }
}

describe('the Storage work queue', () => {
  it('creates the queue when missing and enqueues Base64 JSON, as the queue trigger expects', async () => {
    const queueName = freshName();
    const queue = new StorageWorkQueue(storage, { queueName });
    await queue.enqueue(run('a'));
    await queue.enqueue(run('b'));
    const peeked = await service.getQueueClient(queueName).peekMessages({ numberOfMessages: 32 });
    expect(peeked.peekedMessageItems.map((item) => item.messageText)).toEqual([encodePoolRunMessage(run('a')), encodePoolRunMessage(run('b'))]);
    expect(JSON.parse(Buffer.from(peeked.peekedMessageItems[0]!.messageText, 'base64').toString('utf8'))).toEqual(run('a'));
    await queue.close();
    await expect(queue.enqueue(run('c'))).rejects.toThrow(/closed/);
  });

  it('reports a poison queue that does not exist as empty', async () => {
    const queue = new StorageWorkQueue(storage, { queueName: freshName() });
    expect(await queue.poisoned(10)).toEqual([]);
    expect(await queue.poisonedCount()).toBe(0);
  });

  it('names the operation and queue when the service is unreachable, never the connection string', async () => {
    const dead = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('not-a-real-key').toString('base64')};QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;`;
    const queue = new StorageWorkQueue({ kind: 'connection-string', connectionString: dead }, { queueName: 'nowhere', timeoutInMs: 2_000 });
    const error = (await queue.enqueue(run('a')).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('QueueStoreError');
    expect(error.message).toMatch(/^Storage queue createIfNotExists on nowhere (failed|timed out)/);
    expect(error.message).not.toContain('AccountKey');
  }, 60_000);
});

describe('the local queue trigger on Azurite (Functions host semantics)', () => {
  it('receives through the driver with the trigger metadata and deletes the message on success', async () => {
    const queueName = freshName();
    const seen: { value: unknown; metadata: QueueTriggerMetadata }[] = [];
    await new StorageWorkQueue(storage, { queueName }).enqueue(run('a'));
    listen(queueName, async (value, metadata) => void seen.push({ value, metadata }));
    await waitUntil(async () => seen.length === 1 && (await approximateCount(queueName)) === 0, 'the message is handled and deleted');
    expect(seen[0]?.value).toEqual(run('a'));
    expect(seen[0]?.metadata).toMatchObject({ dequeueCount: 1, queueTrigger: JSON.stringify(run('a')), popReceipt: expect.any(String), id: expect.any(String) });
    for (const key of ['insertionTime', 'expirationTime', 'nextVisibleTime'] as const) expect(Date.parse(seen[0]!.metadata[key])).toBeGreaterThan(0);
  });

  it('redelivers a failed message with a growing dequeueCount, then moves its original body to <queue>-poison', async () => {
    const queueName = freshName();
    const work = new StorageWorkQueue(storage, { queueName });
    await work.enqueue(run('flaky'));
    const counts: number[] = [];
    const { lines } = listen(
      queueName,
      async (_, metadata) => {
        counts.push(metadata.dequeueCount);
        throw new Error('backend unreachable');
      },
      { ...fast, maxDequeueCount: 3 },
    );
    // The host adds to the poison queue first, then deletes: wait for both.
    await waitUntil(async () => (await work.poisonedCount()) === 1 && (await approximateCount(queueName)) === 0, 'the message moved to the poison queue');
    expect(counts).toEqual([1, 2, 3]);
    const poisoned = await work.poisoned(10);
    expect(poisoned.map((entry) => entry.message)).toEqual([run('flaky')]);
    expect(Date.parse(poisoned[0]!.insertedOn ?? '')).toBeGreaterThan(0);
    const raw = await service.getQueueClient(`${queueName}-poison`).peekMessages();
    expect(raw.peekedMessageItems[0]?.messageText).toBe(encodePoolRunMessage(run('flaky')));
    expect(lines.join('\n')).toMatch(new RegExp(`Message has reached MaxDequeueCount of 3\\. Moving message to queue '${queueName}-poison'`));
  }, 60_000);

  it('poisons a non-Base64 message at once and a non-JSON one after its retries, without crashing the listener', async () => {
    const queueName = freshName();
    const work = new StorageWorkQueue(storage, { queueName });
    const client = service.getQueueClient(queueName);
    await client.createIfNotExists();
    await client.sendMessage('{"pool":"raw json, not base64"}');
    await client.sendMessage(Buffer.from('not json at all').toString('base64'));
    const handled: string[] = [];
    let attempts = 0;
    listen(
      queueName,
      async (value) => {
        attempts += 1;
        // What the probePool handler does with a message: check it, fail on a bad one.
        const parsed = parsePoolRunMessage(value);
        if (!parsed.ok) throw new Error(`not a pool run: ${parsed.reason}`);
        handled.push(parsed.message.pool);
      },
      { ...fast, maxDequeueCount: 2 },
    );
    await waitUntil(async () => (await work.poisonedCount()) === 2, 'both messages are poisoned');
    // The non-Base64 one never reached the function; the non-JSON one did, twice.
    expect(attempts).toBe(2);
    // The listener still works.
    await work.enqueue(run('good'));
    await waitUntil(() => handled.includes('good'), 'a good message is handled after the bad ones');
    expect(await work.poisoned(10)).toEqual([]);
  }, 60_000);

  it('keeps a run the trigger gave up with its failure on the poison queue (created when missing), and peeks it back', async () => {
    const work = new StorageWorkQueue(storage, { queueName: freshName() });
    const failure = { reason: 'the state table answered 503', attempts: 5, at: new Date().toISOString() };
    await work.poison(run('given-up'), failure);
    const [poisoned] = await work.poisoned(10);
    expect(poisoned).toMatchObject({ message: run('given-up'), failure });
    expect(await work.poisonedCount()).toBe(1);
  });

  it('stops polling on close: no Get Messages afterwards, a message enqueued then stays in the queue', async () => {
    const queueName = freshName();
    const work = new StorageWorkQueue(storage, { queueName });
    const transport = new StorageQueueTransport(storage, queueName);
    let receives = 0;
    const receive = transport.receive.bind(transport);
    transport.receive = async (...args) => {
      receives += 1;
      return receive(...args);
    };
    const seen: unknown[] = [];
    const listener = new QueueTriggerListener({ functionName: 'probePool', transport, options: fast, invoke: async (value) => void seen.push(value), log: () => undefined });
    listener.start();
    await work.enqueue(run('before'));
    await waitUntil(() => seen.length === 1, 'the first message is handled');
    await listener.close();
    const receivesAtClose = receives;
    await work.enqueue(run('after'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(receives).toBe(receivesAtClose);
    expect(seen).toHaveLength(1);
    expect(await approximateCount(queueName)).toBe(1);
  });
});

describe('the local host in the azure environment', () => {
  it('runs an app.storageQueue function from the Storage queue named by AzureWebJobsStorage', async () => {
    const settings = loadConfig({
      VERIFIER_ENVIRONMENT: 'azure',
      AzureWebJobsStorage: azurite.connectionString,
      APIM_GATEWAY_URL: 'https://apim.example.net/openai',
      APIM_SUBSCRIPTION_KEY: 'k',
      POOL_DEFINITION_PATH: 'examples/lab-pool.json',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:1/',
      LOGS_SOURCE: 'workspace',
      LOGS_WORKSPACE_ID: '00000000-0000-0000-0000-000000000000',
    });
    expect(queueStorageOf(settings)).toEqual({ kind: 'connection-string', connectionString: azurite.connectionString });
    const queues = chooseQueueTransport(settings);
    expect(queues.kind).toBe('storage');
    expect(queues.description).not.toContain('AccountKey');
    const shim = createFunctionsCoreShim();
    const received: { value: unknown; dequeueCount: unknown }[] = [];
    shim.registerFunction(
      { name: 'probePool', bindings: { queueTrigger1: { type: 'queueTrigger', direction: 'in', queueName: 'probe-runs', connection: 'AzureWebJobsStorage' } } },
      async (...args: unknown[]) => {
        const [value, context] = args as [unknown, { triggerMetadata?: Record<string, unknown> }];
        received.push({ value, dequeueCount: context.triggerMetadata?.['dequeueCount'] });
      },
    );
    const lines: string[] = [];
    const host = new LocalFunctionsHost({ registry: shim.registry, port: 0, queueTransportOf: queues.queueTransportOf, queueOptions: fast, log: (line) => lines.push(line) });
    await host.start();
    try {
      await queues.workQueue.enqueue(run('fleet-a'));
      await waitUntil(() => received.length === 1, 'the queue-triggered function ran');
      expect(received[0]).toEqual({ value: run('fleet-a'), dequeueCount: 1 });
      expect(lines.join('\n')).toMatch(/probePool: queue probe-runs \(batchSize 16, maxDequeueCount 5\)/);
    } finally {
      await host.stop();
      await queues.workQueue.close();
    }
  });
});
