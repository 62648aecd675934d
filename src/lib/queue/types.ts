/**
 * The fleet's fan-out queue (issue 17): each schedule tick enqueues one {@link PoolRunMessage} per pool; a
 * queue-triggered function probes one pool. In Azure the queue is an Azure Storage queue of `AzureWebJobsStorage`
 * (`storageWorkQueue.ts`); locally it is in-process (`inProcessQueue.ts`), with the Functions host's semantics.
 */

/** The queue the timer fills and `app.storageQueue('probePool', …)` reads. */
export const PROBE_QUEUE_NAME = 'probe-runs';

/**
 * The Functions host moves a message that failed `maxDequeueCount` times to `<queue>-poison` (the queue trigger's
 * rule; the body is the original message).
 */
export function poisonQueueNameOf(queueName: string): string {
  return `${queueName}-poison`;
}

/** One pool to probe at one schedule tick. */
export interface PoolRunMessage {
  /** The pool's name (its APIM backend id, 1–80 characters). */
  readonly pool: string;
  /** The APIM service it belongs to (`serviceOf(pool)`), 1–253 characters. */
  readonly service: string;
  /** The tick that asked for the run, ISO 8601 UTC (`2026-12-01T06:00:00.000Z`). */
  readonly tick: string /* ISO */;
}

/** Why a pool's run was given up: written by the queue trigger itself on the message's last attempt. */
export interface RunFailure {
  /** The error of the last attempt (bounded; never a secret: the app's errors do not carry them). */
  readonly reason: string;
  /** Attempts made (the message's `dequeueCount`). */
  readonly attempts: number;
  /** When it was given up, ISO 8601. */
  readonly at: string;
}

/** A message in `<queue>-poison`: the pool run, and its failure when the queue trigger recorded one. */
export interface PoisonedRun {
  readonly message: PoolRunMessage;
  readonly insertedOn: string | null;
  /** Null when the Functions host moved the message itself (its original body carries no reason). */
  readonly failure: RunFailure | null;
}

export interface WorkQueue {
  enqueue(message: PoolRunMessage): Promise<void>;
  /**
   * Puts the pool run, with why it failed, on `<queue>-poison`: what the queue trigger does on a message's last
   * attempt, so the poison queue says why (the host would move the bare message).
   */
  poison(message: PoolRunMessage, failure: RunFailure): Promise<void>;
  /** Newest poisoned messages (peeked, not removed), at most `limit`. */
  poisoned(limit: number): Promise<readonly PoisonedRun[]>;
  close(): Promise<void>;
}

/**
 * The queue trigger's settings, as host.json `extensions.queues` names them (Microsoft.Azure.WebJobs.Extensions.
 * Storage.Queues 5.x `QueuesOptions`); read with `queueHostOptionsFrom(hostJson)`.
 */
export interface QueueHostOptions {
  /** Messages fetched per poll, 1–32; default 16. */
  readonly batchSize: number;
  /**
   * A new batch is fetched once the messages in flight drop to this many or fewer; default `batchSize / 2` (per
   * processor; one here). At most `batchSize + newBatchThreshold` messages run at once.
   */
  readonly newBatchThreshold: number;
  /** Attempts before a message moves to `<queue>-poison`, at least 1; default 5. */
  readonly maxDequeueCount: number;
  /** How long a failed message stays invisible before its retry; default 0 (retried at once). */
  readonly visibilityTimeoutInMs: number;
  /** The longest wait between polls of an empty queue (the wait doubles from 100 ms up to it); default 1 minute. */
  readonly maxPollingIntervalInMs: number;
  /** `base64` (the default) or `none`: how message bodies are encoded on the wire. */
  readonly messageEncoding: 'base64' | 'none';
}

/** A message as a queue trigger receives it (the Storage service's fields; the text still encoded). */
export interface ReceivedQueueMessage {
  readonly id: string;
  readonly popReceipt: string;
  /** How many times it has been received, this time included. */
  readonly dequeueCount: number;
  readonly insertedOn: Date;
  readonly expiresOn: Date;
  readonly nextVisibleOn: Date;
  /** The body as stored (Base64 when the queue's encoding is base64). */
  readonly messageText: string;
}

/**
 * What a queue trigger needs of a queue: the Storage queue operations the Functions host uses (Get Messages,
 * Delete Message, Update Message, Put Message on the poison queue). Implemented over Azure Storage and in memory.
 */
export interface QueueTransport {
  readonly queueName: string;
  /** Up to `maxMessages` (1–32) visible messages, hidden for `visibilityTimeoutInMs` (at least 1 s) from now. */
  receive(maxMessages: number, visibilityTimeoutInMs: number): Promise<readonly ReceivedQueueMessage[]>;
  delete(message: ReceivedQueueMessage): Promise<void>;
  /** Makes the message visible again after `visibilityTimeoutInMs` (0 = now); returns the new pop receipt. */
  setVisibility(message: ReceivedQueueMessage, visibilityTimeoutInMs: number): Promise<ReceivedQueueMessage>;
  /** Adds the message's body, unchanged, to `<queue>-poison` and deletes the message. */
  moveToPoison(message: ReceivedQueueMessage): Promise<void>;
  /** Calls `listener` when a message is added by this process (lets a listener skip its idle back-off). */
  onEnqueued?(listener: () => void): () => void;
}

/**
 * `context.triggerMetadata` of a queue-triggered function, as the Node.js worker camel-cases the host's binding data
 * (the same under the Functions host and the local host). Times are ISO 8601.
 */
export interface QueueTriggerMetadata {
  /** How many times the message has been received, this time included (the host poisons it at maxDequeueCount). */
  readonly dequeueCount: number;
  readonly id: string;
  readonly insertionTime: string;
  readonly expirationTime: string;
  readonly nextVisibleTime: string;
  readonly popReceipt: string;
  /** The decoded message text. */
  readonly queueTrigger: string;
}
