import { MIN_POLLING_INTERVAL_IN_MS } from '../lib/queue/queueHostOptions';
import { toTriggerValue, tryDecodeQueueText } from '../lib/queue/poolRunMessage';
import { poisonQueueNameOf, type QueueHostOptions, type QueueTransport, type QueueTriggerMetadata, type ReceivedQueueMessage } from '../lib/queue/types';

export type { QueueTriggerMetadata };
import { ensureError } from '../lib/util/errors';

/** Options of {@link QueueTriggerListener}. */
export interface QueueTriggerListenerOptions {
  readonly functionName: string;
  readonly transport: QueueTransport;
  readonly options: QueueHostOptions;
  /** Runs the function: the decoded message (the JSON value when it parses, else the text) and its metadata. */
  readonly invoke: (value: unknown, triggerMetadata: QueueTriggerMetadata) => Promise<unknown>;
  readonly log: (line: string) => void;
  /** How long a received message stays hidden while its function runs; renewed at half of it. Default 10 minutes (the host's). */
  readonly processingVisibilityTimeoutInMs?: number;
  /** [0, 1) for the back-off's jitter; default Math.random. */
  readonly random?: () => number;
}

/** The host keeps a message it is processing hidden for 10 minutes and renews that while the function runs. */
const DEFAULT_PROCESSING_VISIBILITY_IN_MS = 10 * 60_000;

/**
 * The wait before the next poll: back to the minimum (100 ms) after a poll that found messages, else about twice the
 * last wait (±20 % jitter, as the host's randomized exponential back-off), capped at `maxPollingIntervalInMs`.
 */
export function nextPollDelayInMs(previousInMs: number, foundMessages: boolean, maxPollingIntervalInMs: number, random: () => number = Math.random): number {
  if (foundMessages) return MIN_POLLING_INTERVAL_IN_MS;
  const doubled = Math.max(MIN_POLLING_INTERVAL_IN_MS, previousInMs) * 2 * (0.8 + 0.4 * random());
  return Math.min(maxPollingIntervalInMs, Math.max(MIN_POLLING_INTERVAL_IN_MS, Math.round(doubled)));
}

/**
 * The Functions host's queue trigger, for the local host: polls a queue, runs the function for each message with
 * the host's rules (Azure Functions queue trigger, extension 5.x):
 * - Get Messages in batches of `batchSize`; a new batch once the messages in flight drop to `newBatchThreshold`
 *   (so at most `batchSize + newBatchThreshold` run at once).
 * - Success → Delete Message. Failure → the message becomes visible again after `visibilityTimeout`; when its
 *   `dequeueCount` has reached `maxDequeueCount`, its body goes to `<queue>-poison` instead.
 * - A body that is not Base64 (with `messageEncoding` base64) goes to the poison queue at once, without a run.
 * - An empty poll backs off up to `maxPollingInterval`; a message added in this process wakes the poller.
 * `close` stops polling and waits for the runs in flight.
 */
export class QueueTriggerListener {
  readonly #o: QueueTriggerListenerOptions;
  readonly #processing = new Set<Promise<void>>();
  #closed = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #woken = false;
  #unsubscribe: (() => void) | undefined;
  #receiveFailing = false;

  constructor(options: QueueTriggerListenerOptions) {
    this.#o = options;
  }

  /** Messages whose function is running now. */
  get inFlight(): number {
    return this.#processing.size;
  }

  start(): void {
    if (this.#loop || this.#closed) return;
    this.#unsubscribe = this.#o.transport.onEnqueued?.(() => this.#signal());
    this.#loop = this.#run();
  }

  /** Stops polling (a poll in progress finishes), then waits for the functions running. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#signal();
    await this.#loop;
    await Promise.allSettled([...this.#processing]);
  }

  /**
   * Handles every message visible now (and any added meanwhile), beside the poller, and waits for the runs in flight:
   * when it resolves, what a timer tick queued has been handled (or left for a retry after its visibility timeout).
   * For hosts and tests that drive a tick to its end; bounded by `maxRounds` batches.
   */
  async drain(maxRounds = 100): Promise<void> {
    const { transport, options } = this.#o;
    for (let round = 0; round < maxRounds; round++) {
      const batch = await transport.receive(options.batchSize, this.#o.processingVisibilityTimeoutInMs ?? DEFAULT_PROCESSING_VISIBILITY_IN_MS);
      for (const message of batch) this.#track(this.#process(message));
      const running = [...this.#processing];
      if (batch.length === 0 && running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  #track(work: Promise<void>): void {
    this.#processing.add(work);
    void work.finally(() => {
      this.#processing.delete(work);
      this.#wake?.();
    });
  }

  #signal(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** Resolves after `delayInMs`, or earlier when woken or closed. */
  async #pause(delayInMs: number): Promise<void> {
    if (this.#woken || this.#closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayInMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  async #run(): Promise<void> {
    const { options, transport } = this.#o;
    const random = this.#o.random ?? Math.random;
    let delayInMs = MIN_POLLING_INTERVAL_IN_MS;
    while (!this.#closed) {
      if (this.#processing.size > options.newBatchThreshold) {
        await Promise.race([...this.#processing, new Promise<void>((resolve) => (this.#wake = resolve))]);
        this.#wake = undefined;
        continue;
      }
      this.#woken = false;
      let batch: readonly ReceivedQueueMessage[] = [];
      try {
        batch = await transport.receive(options.batchSize, this.#o.processingVisibilityTimeoutInMs ?? DEFAULT_PROCESSING_VISIBILITY_IN_MS);
        if (this.#receiveFailing) this.#o.log(`[host] ${this.#o.functionName}: queue ${transport.queueName} answers again`);
        this.#receiveFailing = false;
      } catch (error) {
        // Logged once per outage, not once per poll.
        if (!this.#receiveFailing) this.#o.log(`[host] ${this.#o.functionName}: polling queue ${transport.queueName} failed: ${ensureError(error).message}`);
        this.#receiveFailing = true;
      }
      for (const message of batch) this.#track(this.#process(message));
      delayInMs = nextPollDelayInMs(delayInMs, batch.length > 0, options.maxPollingIntervalInMs, random);
      if (batch.length === 0) await this.#pause(delayInMs);
    }
  }

  async #process(received: ReceivedQueueMessage): Promise<void> {
    const { transport, options, functionName, log } = this.#o;
    const poisonQueue = poisonQueueNameOf(transport.queueName);
    let current = received;
    let renewal: Promise<void> = Promise.resolve();
    const processingVisibilityInMs = this.#o.processingVisibilityTimeoutInMs ?? DEFAULT_PROCESSING_VISIBILITY_IN_MS;
    const renewTimer = setInterval(() => {
      renewal = renewal
        .then(async () => {
          current = await transport.setVisibility(current, processingVisibilityInMs);
        })
        .catch((error: unknown) => log(`[host] ${functionName}: could not keep message ${current.id} hidden: ${ensureError(error).message}`));
    }, processingVisibilityInMs / 2);
    renewTimer.unref();
    try {
      const text = tryDecodeQueueText(current.messageText, options.messageEncoding);
      if (text === undefined) {
        log(`[host] ${functionName}: message ${current.id} is not valid Base64 (messageEncoding ${options.messageEncoding}); moving it to queue '${poisonQueue}'`);
        clearInterval(renewTimer);
        await renewal;
        await transport.moveToPoison(current);
        return;
      }
      let failure: Error | undefined;
      try {
        await this.#o.invoke(toTriggerValue(text), metadataOf(current, text));
      } catch (error) {
        failure = ensureError(error);
      }
      clearInterval(renewTimer);
      await renewal;
      if (failure === undefined) {
        await transport.delete(current);
      } else if (current.dequeueCount >= options.maxDequeueCount) {
        log(`[host] ${functionName} failed: ${failure.message}. Message has reached MaxDequeueCount of ${options.maxDequeueCount}. Moving message to queue '${poisonQueue}'.`);
        await transport.moveToPoison(current);
      } else {
        log(`[host] ${functionName} failed (attempt ${current.dequeueCount} of ${options.maxDequeueCount}): ${failure.message}`);
        await transport.setVisibility(current, options.visibilityTimeoutInMs);
      }
    } catch (error) {
      // A queue operation failed: the message reappears after its visibility timeout, as with the host.
      log(`[host] ${functionName}: queue ${transport.queueName} operation on message ${current.id} failed: ${ensureError(error).message}`);
    } finally {
      clearInterval(renewTimer);
    }
  }
}

function metadataOf(message: ReceivedQueueMessage, text: string): QueueTriggerMetadata {
  return {
    dequeueCount: message.dequeueCount,
    id: message.id,
    insertionTime: message.insertedOn.toISOString(),
    expirationTime: message.expiresOn.toISOString(),
    nextVisibleTime: message.nextVisibleOn.toISOString(),
    popReceipt: message.popReceipt,
    queueTrigger: text,
  };
}
