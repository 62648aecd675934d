import { randomUUID } from 'node:crypto';
import { encodePoisonedRun, encodePoolRunMessage, tryDecodePoisonedRun } from './poolRunMessage';
import { PROBE_QUEUE_NAME, poisonQueueNameOf, type PoisonedRun, type PoolRunMessage, type QueueTransport, type RunFailure, type ReceivedQueueMessage, type WorkQueue } from './types';

/** Options of {@link InProcessQueue}. */
export interface InProcessQueueOptions {
  /** Default {@link PROBE_QUEUE_NAME}. */
  readonly queueName?: string;
  /** Messages the queue holds at most (visible or not); `enqueue` beyond it throws {@link QueueFullError}. Default 10,000. */
  readonly maxLength?: number;
  /** Poisoned messages kept at most; the oldest are dropped beyond it. Default 1,000. */
  readonly maxPoisoned?: number;
  /** A message not handled within this time expires, as in Storage (default TTL 7 days). */
  readonly messageTimeToLiveInMs?: number;
  /** The clock, in ms since the epoch; default `Date.now`. */
  readonly now?: () => number;
}

/** `enqueue` on a full in-process queue: the fan-out outran the consumers (names the queue and its bound). */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

/** A receive, delete or update with a pop receipt that is no longer the message's (Storage answers 404). */
export class PopReceiptMismatchError extends Error {
  override readonly name = 'PopReceiptMismatchError';
}

interface StoredMessage {
  readonly id: string;
  readonly messageText: string;
  readonly insertedOnMs: number;
  readonly expiresOnMs: number;
  popReceipt: string;
  dequeueCount: number;
  nextVisibleOnMs: number;
}

const SEVEN_DAYS_IN_MS = 7 * 24 * 3_600_000;

/**
 * The local stand-in of the fleet's Storage queue: a bounded in-memory queue with the Storage queue's message
 * lifecycle (Get Messages hides a message for a visibility timeout and counts `dequeueCount`; Update Message makes
 * it visible again; a pop receipt is valid until the next receive or update; messages expire after their TTL) and a
 * bounded poison list (`<queue>-poison`). Bodies are Base64 JSON as on the wire, so the local queue trigger decodes
 * exactly what the Azure one does.
 *
 * As a {@link WorkQueue} the timer fills it; as a {@link QueueTransport} the local host's queue trigger reads it
 * with the Functions host's rules (`queueTriggerListener.ts`).
 */
export class InProcessQueue implements WorkQueue, QueueTransport {
  readonly queueName: string;
  readonly #maxLength: number;
  readonly #maxPoisoned: number;
  readonly #ttlInMs: number;
  readonly #now: () => number;
  /** Insertion order; small enough (bounded) that scans are cheap. */
  readonly #messages = new Map<string, StoredMessage>();
  readonly #poisoned: { readonly messageText: string; readonly insertedOnMs: number }[] = [];
  readonly #listeners = new Set<() => void>();
  #closed = false;

  constructor(options: InProcessQueueOptions = {}) {
    this.queueName = options.queueName ?? PROBE_QUEUE_NAME;
    this.#maxLength = options.maxLength ?? 10_000;
    this.#maxPoisoned = options.maxPoisoned ?? 1_000;
    this.#ttlInMs = options.messageTimeToLiveInMs ?? SEVEN_DAYS_IN_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Messages in the queue, visible or not (expired ones excluded). */
  get length(): number {
    this.#dropExpired();
    return this.#messages.size;
  }

  /** Messages in the poison list. */
  get poisonedCount(): number {
    return this.#poisoned.length;
  }

  /**
   * Adds a pool run (Base64 JSON, as the Azure queue holds it).
   * @throws Error when the message is invalid or the queue is closed; QueueFullError at `maxLength`.
   */
  async enqueue(message: PoolRunMessage): Promise<void> {
    this.addText(encodePoolRunMessage(message));
  }

  /** Adds a raw body (tests use it to add what a foreign producer could put in a Storage queue). */
  addText(messageText: string): void {
    if (this.#closed) throw new Error(`The in-process queue ${this.queueName} is closed`);
    this.#dropExpired();
    if (this.#messages.size >= this.#maxLength) {
      throw new QueueFullError(`The in-process queue ${this.queueName} holds ${this.#maxLength} messages (its bound); the pool run was not queued`);
    }
    const now = this.#now();
    const id = randomUUID();
    this.#messages.set(id, { id, messageText, insertedOnMs: now, expiresOnMs: now + this.#ttlInMs, popReceipt: randomUUID(), dequeueCount: 0, nextVisibleOnMs: now });
    for (const listener of this.#listeners) listener();
  }

  /** Adds the pool run with its failure to the poison list (bounded: the oldest are dropped beyond it). */
  async poison(message: PoolRunMessage, failure: RunFailure): Promise<void> {
    if (this.#closed) throw new Error(`The in-process queue ${this.queueName} is closed`);
    this.#poisoned.push({ messageText: encodePoisonedRun(message, failure), insertedOnMs: this.#now() });
    if (this.#poisoned.length > this.#maxPoisoned) this.#poisoned.splice(0, this.#poisoned.length - this.#maxPoisoned);
  }

  async poisoned(limit: number): Promise<readonly PoisonedRun[]> {
    const bounded = Math.max(0, Math.min(Math.floor(limit), this.#maxPoisoned));
    const result: PoisonedRun[] = [];
    for (let i = this.#poisoned.length - 1; i >= 0 && result.length < bounded; i--) {
      const entry = this.#poisoned[i];
      const run = entry ? tryDecodePoisonedRun(entry.messageText) : undefined;
      if (entry && run) result.push({ ...run, insertedOn: new Date(entry.insertedOnMs).toISOString() });
    }
    return result;
  }

  /** Refuses further enqueues; messages left are dropped with the process, as an in-memory queue must. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  async receive(maxMessages: number, visibilityTimeoutInMs: number): Promise<readonly ReceivedQueueMessage[]> {
    if (!(Number.isInteger(maxMessages) && maxMessages >= 1 && maxMessages <= 32)) throw new RangeError('maxMessages must be an integer from 1 to 32 (Get Messages)');
    if (!(visibilityTimeoutInMs >= 1_000 && visibilityTimeoutInMs <= SEVEN_DAYS_IN_MS)) throw new RangeError('visibilityTimeoutInMs must be from 1 s to 7 days (Get Messages)');
    this.#dropExpired();
    const now = this.#now();
    const received: ReceivedQueueMessage[] = [];
    for (const stored of this.#messages.values()) {
      if (received.length >= maxMessages) break;
      if (stored.nextVisibleOnMs > now) continue;
      stored.dequeueCount += 1;
      stored.popReceipt = randomUUID();
      stored.nextVisibleOnMs = now + visibilityTimeoutInMs;
      received.push(this.#view(stored));
    }
    return received;
  }

  async delete(message: ReceivedQueueMessage): Promise<void> {
    this.#messages.delete(this.#current(message).id);
  }

  async setVisibility(message: ReceivedQueueMessage, visibilityTimeoutInMs: number): Promise<ReceivedQueueMessage> {
    if (!(visibilityTimeoutInMs >= 0 && visibilityTimeoutInMs <= SEVEN_DAYS_IN_MS)) throw new RangeError('visibilityTimeoutInMs must be from 0 to 7 days (Update Message)');
    const stored = this.#current(message);
    stored.popReceipt = randomUUID();
    stored.nextVisibleOnMs = this.#now() + visibilityTimeoutInMs;
    return this.#view(stored);
  }

  async moveToPoison(message: ReceivedQueueMessage): Promise<void> {
    const stored = this.#current(message);
    this.#poisoned.push({ messageText: stored.messageText, insertedOnMs: this.#now() });
    if (this.#poisoned.length > this.#maxPoisoned) this.#poisoned.splice(0, this.#poisoned.length - this.#maxPoisoned);
    this.#messages.delete(stored.id);
  }

  onEnqueued(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The name of the poison list, as the Functions host names the poison queue. */
  get poisonQueueName(): string {
    return poisonQueueNameOf(this.queueName);
  }

  #current(message: ReceivedQueueMessage): StoredMessage {
    const stored = this.#messages.get(message.id);
    if (!stored || stored.popReceipt !== message.popReceipt || stored.expiresOnMs <= this.#now()) {
      throw new PopReceiptMismatchError(`Message ${message.id} of ${this.queueName} is gone or was received again (its pop receipt no longer matches)`);
    }
    return stored;
  }

  #view(stored: StoredMessage): ReceivedQueueMessage {
    return {
      id: stored.id,
      popReceipt: stored.popReceipt,
      dequeueCount: stored.dequeueCount,
      insertedOn: new Date(stored.insertedOnMs),
      expiresOn: new Date(stored.expiresOnMs),
      nextVisibleOn: new Date(stored.nextVisibleOnMs),
      messageText: stored.messageText,
    };
  }

  #dropExpired(): void {
    const now = this.#now();
    for (const [id, stored] of this.#messages) if (stored.expiresOnMs <= now) this.#messages.delete(id);
  }
}
