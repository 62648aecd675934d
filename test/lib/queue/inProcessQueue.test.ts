import { InProcessQueue, PopReceiptMismatchError, QueueFullError } from '../../../src/lib/queue/inProcessQueue';
import { encodePoolRunMessage } from '../../../src/lib/queue/poolRunMessage';
import { DEFAULT_QUEUE_HOST_OPTIONS } from '../../../src/lib/queue/queueHostOptions';
import type { QueueHostOptions, QueueTransport, ReceivedQueueMessage } from '../../../src/lib/queue/types';
import { nextPollDelayInMs, QueueTriggerListener, type QueueTriggerMetadata } from '../../../src/local/queueTriggerListener';
import { waitUntil } from '../../support/waitUntil';

const run = (pool: string, tick = '2026-12-01T06:00:00.000Z') => ({ pool, service: 'apim-lab-01', tick });
const T0 = Date.UTC(2026, 11, 1, 6, 0, 0);

describe('the in-process queue (the Storage queue lifecycle)', () => {
  it('hides a received message for its visibility timeout, counts receives and hands out a new pop receipt each time', async () => {
    let now = T0;
    const queue = new InProcessQueue({ now: () => now });
    await queue.enqueue(run('a'));
    const [first] = await queue.receive(32, 30_000);
    expect(first).toMatchObject({ dequeueCount: 1, messageText: encodePoolRunMessage(run('a')) });
    expect(await queue.receive(32, 30_000)).toEqual([]);
    now += 30_000;
    const [second] = await queue.receive(32, 30_000);
    expect(second?.dequeueCount).toBe(2);
    expect(second?.popReceipt).not.toBe(first?.popReceipt);
    // The first receipt no longer works, as in Storage.
    await expect(queue.delete(first!)).rejects.toBeInstanceOf(PopReceiptMismatchError);
    const released = await queue.setVisibility(second!, 0);
    expect((await queue.receive(1, 1_000))[0]?.dequeueCount).toBe(3);
    await expect(queue.delete(released)).rejects.toBeInstanceOf(PopReceiptMismatchError);
  });

  it('returns at most the batch asked for, oldest first', async () => {
    const queue = new InProcessQueue({ now: () => T0 });
    for (let i = 0; i < 40; i++) await queue.enqueue(run(`p${i}`));
    const batch = await queue.receive(32, 1_000);
    expect(batch).toHaveLength(32);
    expect(Buffer.from(batch[0]!.messageText, 'base64').toString()).toContain('"p0"');
    await expect(queue.receive(33, 1_000)).rejects.toThrow(/1 to 32/);
  });

  it('is bounded: the message past maxLength is refused with the queue and its bound named', async () => {
    const queue = new InProcessQueue({ maxLength: 3 });
    for (let i = 0; i < 3; i++) await queue.enqueue(run(`p${i}`));
    await expect(queue.enqueue(run('p3'))).rejects.toThrow(QueueFullError);
    await expect(queue.enqueue(run('p3'))).rejects.toThrow(/probe-runs holds 3 messages/);
    expect(queue.length).toBe(3);
  });

  it('drops messages after their time to live, as Storage does', async () => {
    let now = T0;
    const queue = new InProcessQueue({ now: () => now, messageTimeToLiveInMs: 60_000 });
    await queue.enqueue(run('a'));
    now += 60_000;
    expect(queue.length).toBe(0);
    expect(await queue.receive(1, 1_000)).toEqual([]);
  });

  it('keeps poisoned messages with their original body, newest first, at most maxPoisoned', async () => {
    let now = T0;
    const queue = new InProcessQueue({ now: () => now, maxPoisoned: 2 });
    for (const pool of ['a', 'b', 'c']) {
      await queue.enqueue(run(pool));
      const [message] = await queue.receive(1, 1_000);
      now += 1_000;
      await queue.moveToPoison(message!);
    }
    expect(queue.length).toBe(0);
    expect(await queue.poisoned(10)).toEqual([
      { message: run('c'), insertedOn: new Date(T0 + 3_000).toISOString(), failure: null },
      { message: run('b'), insertedOn: new Date(T0 + 2_000).toISOString(), failure: null },
    ]);
    expect(await queue.poisoned(1)).toHaveLength(1);
  });

  it('refuses enqueues once closed', async () => {
    const queue = new InProcessQueue();
    await queue.close();
    await expect(queue.enqueue(run('a'))).rejects.toThrow(/closed/);
  });
});

function options(overrides: Partial<QueueHostOptions> = {}): QueueHostOptions {
  return { ...DEFAULT_QUEUE_HOST_OPTIONS, maxPollingIntervalInMs: 200, ...overrides };
}

describe('the local queue trigger on the in-process queue (Functions host semantics)', () => {
  const listeners: QueueTriggerListener[] = [];
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((listener) => listener.close()));
  });
  function listen(transport: QueueTransport, invoke: (value: unknown, metadata: QueueTriggerMetadata) => Promise<unknown>, hostOptions = options()) {
    const lines: string[] = [];
    const listener = new QueueTriggerListener({ functionName: 'probePool', transport, options: hostOptions, invoke, log: (line) => lines.push(line) });
    listeners.push(listener);
    listener.start();
    return { listener, lines };
  }

  it('hands the function the parsed message and its trigger metadata, and deletes it on success', async () => {
    const queue = new InProcessQueue();
    const seen: { value: unknown; metadata: QueueTriggerMetadata }[] = [];
    listen(queue, async (value, metadata) => void seen.push({ value, metadata }));
    await queue.enqueue(run('a'));
    await waitUntil(() => seen.length === 1 && queue.length === 0, 'the message is handled and deleted');
    expect(seen[0]?.value).toEqual(run('a'));
    expect(seen[0]?.metadata).toMatchObject({ dequeueCount: 1, queueTrigger: JSON.stringify(run('a')) });
    expect(seen[0]?.metadata.insertionTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(seen[0]?.metadata.id).toEqual(expect.any(String));
  });

  it('retries a failing message with a growing dequeueCount and poisons it after maxDequeueCount, body unchanged', async () => {
    const queue = new InProcessQueue();
    const counts: number[] = [];
    const { lines } = listen(
      queue,
      async (_, metadata) => {
        counts.push(metadata.dequeueCount);
        throw new Error('backend unreachable');
      },
      options({ maxDequeueCount: 3 }),
    );
    await queue.enqueue(run('flaky'));
    await waitUntil(() => queue.poisonedCount === 1, 'the message is poisoned');
    expect(counts).toEqual([1, 2, 3]);
    expect(queue.length).toBe(0);
    expect((await queue.poisoned(5)).map((entry) => entry.message)).toEqual([run('flaky')]);
    expect(lines.join('\n')).toMatch(/Message has reached MaxDequeueCount of 3\. Moving message to queue 'probe-runs-poison'/);
  });

  it('keeps a failed message invisible for visibilityTimeout before its retry', async () => {
    const queue = new InProcessQueue();
    const attempts: number[] = [];
    listen(
      queue,
      async () => {
        attempts.push(Date.now());
        if (attempts.length === 1) throw new Error('first attempt fails');
      },
      options({ visibilityTimeoutInMs: 300 }),
    );
    await queue.enqueue(run('a'));
    await waitUntil(() => attempts.length === 2, 'the retry');
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(300);
  });

  it('moves a body that is not Base64 to the poison list at once, without running the function', async () => {
    const queue = new InProcessQueue();
    const seen: unknown[] = [];
    const { lines } = listen(queue, async (value) => void seen.push(value));
    queue.addText('{"pool":"a"} is not base64');
    await waitUntil(() => queue.poisonedCount === 1, 'the message is poisoned');
    expect(seen).toEqual([]);
    expect(lines.join('\n')).toMatch(/is not valid Base64/);
  });

  it('fetches a batch of batchSize, and the next only once newBatchThreshold or fewer are in flight', async () => {
    const queue = new InProcessQueue();
    for (let i = 0; i < 20; i++) await queue.enqueue(run(`p${i}`));
    const waiting: (() => void)[] = [];
    let handled = 0;
    let peak = 0;
    const receive = jest.spyOn(queue, 'receive');
    listen(
      queue,
      async () => {
        await new Promise<void>((resolve) => waiting.push(resolve));
        handled += 1;
      },
      options({ batchSize: 4, newBatchThreshold: 2 }),
    );
    const running = (): number => waiting.length - handled;
    try {
      await waitUntil(() => running() === 4, 'the first batch runs');
      // Four in flight > 2: no further Get Messages while they all run.
      await new Promise((resolve) => setImmediate(resolve));
      expect(receive).toHaveBeenCalledTimes(1);
      waiting[0]!();
      await waitUntil(() => handled === 1, 'one finished');
      expect(receive).toHaveBeenCalledTimes(1);
      waiting[1]!();
      // Two in flight ≤ 2: the next batch of 4 comes, 6 in flight = batchSize + newBatchThreshold.
      await waitUntil(() => running() === 6, 'the second batch runs');
      let next = 2;
      while (handled < 20) {
        peak = Math.max(peak, running());
        if (next < waiting.length) waiting[next++]!();
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await waitUntil(() => queue.length === 0, 'all 20 deleted');
      expect(peak).toBeLessThanOrEqual(6);
    } finally {
      for (const resolve of waiting) resolve();
    }
  });

  it('keeps a message hidden while its function runs longer than the receive visibility (renewed at half)', async () => {
    const queue = new InProcessQueue();
    const calls: number[] = [];
    const lines: string[] = [];
    const listener = new QueueTriggerListener({
      functionName: 'probePool',
      transport: queue,
      options: options(),
      processingVisibilityTimeoutInMs: 1_000,
      log: (line) => lines.push(line),
      invoke: async (_, metadata) => {
        calls.push(metadata.dequeueCount);
        // Longer than the 1 s the message was received for: without renewal it would reappear and run twice.
        const until = Date.now() + 1_700;
        await waitUntil(() => Date.now() >= until, 'the slow run ends', 5_000, 50);
      },
    });
    listeners.push(listener);
    listener.start();
    await queue.enqueue(run('slow'));
    await waitUntil(() => queue.length === 0, 'the slow message is deleted', 10_000);
    expect(calls).toEqual([1]);
    expect(lines).toEqual([]);
  });

  it('logs a failing queue once per outage and polls on, backing off', async () => {
    const queue = new InProcessQueue();
    let failing = true;
    const transport: QueueTransport = {
      queueName: queue.queueName,
      receive: async (max, visibility) => {
        if (failing) throw new Error('connect ECONNREFUSED 127.0.0.1:10001');
        return queue.receive(max, visibility);
      },
      delete: (message) => queue.delete(message),
      setVisibility: (message, visibility) => queue.setVisibility(message, visibility),
      moveToPoison: (message) => queue.moveToPoison(message),
    };
    const seen: unknown[] = [];
    const { lines } = listen(transport, async (value) => void seen.push(value));
    await waitUntil(() => lines.length === 1, 'the outage is logged');
    await queue.enqueue(run('a'));
    failing = false;
    await waitUntil(() => seen.length === 1, 'the message is handled once the queue answers');
    expect(lines).toEqual([
      '[host] probePool: polling queue probe-runs failed: connect ECONNREFUSED 127.0.0.1:10001',
      '[host] probePool: queue probe-runs answers again',
    ]);
  });

  it('stops polling on close: a message enqueued afterwards stays in the queue', async () => {
    const queue = new InProcessQueue();
    const seen: unknown[] = [];
    const { listener } = listen(queue, async (value) => void seen.push(value));
    await queue.enqueue(run('before'));
    await waitUntil(() => seen.length === 1, 'the first message is handled');
    await listener.close();
    const receive = jest.spyOn(queue, 'receive');
    await queue.enqueue(run('after'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(receive).not.toHaveBeenCalled();
    expect(queue.length).toBe(1);
  });
});

describe('polling back-off', () => {
  it('doubles the wait while the queue is empty up to maxPollingInterval, and resets when messages come', () => {
    const half = () => 0.5;
    let delay = 100;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) delays.push((delay = nextPollDelayInMs(delay, false, 5_000, half)));
    expect(delays).toEqual([200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]);
    expect(nextPollDelayInMs(5_000, true, 5_000, half)).toBe(100);
  });

  it('polls an idle queue a bounded number of times (fake clock: 60 s with a 10 s cap)', async () => {
    jest.useFakeTimers();
    try {
      let receives = 0;
      const transport: QueueTransport = {
        queueName: 'idle',
        receive: async (): Promise<readonly ReceivedQueueMessage[]> => {
          receives += 1;
          return [];
        },
        delete: async () => undefined,
        setVisibility: async (message) => message,
        moveToPoison: async () => undefined,
      };
      const listener = new QueueTriggerListener({ functionName: 'f', transport, options: options({ maxPollingIntervalInMs: 10_000 }), invoke: async () => undefined, log: () => undefined, random: () => 0.5 });
      listener.start();
      await jest.advanceTimersByTimeAsync(60_000);
      // 200+400+…+6,400 (6 polls, 12.6 s), then one every 10 s: 6 + 4 + the first = 11; without back-off 600 at 100 ms.
      expect(receives).toBeGreaterThanOrEqual(10);
      expect(receives).toBeLessThanOrEqual(12);
      const closing = listener.close();
      await jest.advanceTimersByTimeAsync(0);
      await closing;
    } finally {
      jest.useRealTimers();
    }
  });
});
