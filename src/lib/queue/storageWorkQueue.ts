import type { TokenCredential } from '@azure/core-auth';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { isEmulatorConnectionString } from '../alerts/tableAlertStateStore';
import { ensureError } from '../util/errors';
import { encodePoisonedRun, encodePoolRunMessage, tryDecodePoisonedRun } from './poolRunMessage';
import { PROBE_QUEUE_NAME, poisonQueueNameOf, type PoisonedRun, type PoolRunMessage, type RunFailure, type WorkQueue } from './types';

/** How to reach the queue service: a connection string, or a queue endpoint and a credential (managed identity). */
export type QueueStorage =
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  | { readonly kind: 'identity'; readonly queueServiceUri: string; readonly credential: TokenCredential };

/** A Storage queue operation failed. Names the operation, the queue and the status, never a key or connection string. */
export class QueueStoreError extends Error {
  override readonly name = 'QueueStoreError';
  constructor(
    readonly operation: string,
    readonly queueName: string,
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Peek Messages returns at most 32 messages (the service's limit). */
export const MAX_PEEK_MESSAGES = 32;
/** Per-operation timeout by default. */
const DEFAULT_TIMEOUT_IN_MS = 30_000;

/**
 * A `QueueServiceClient` for the storage. The storage pipeline accepts plain http, which only the emulator
 * (Azurite, loopback) uses.
 * @throws QueueStoreError when the connection string cannot be parsed (without quoting it).
 */
export function createQueueServiceClient(storage: QueueStorage): QueueServiceClient {
  if (storage.kind === 'identity') return new QueueServiceClient(storage.queueServiceUri, storage.credential);
  try {
    return QueueServiceClient.fromConnectionString(storage.connectionString);
  } catch (cause) {
    throw new QueueStoreError('connect', '', undefined, 'AzureWebJobsStorage is not a valid storage connection string', { cause: new Error(ensureError(cause).name) });
  }
}

/** Whether the storage is the local emulator (for log lines that say where the queue is). */
export function isEmulatorQueueStorage(storage: QueueStorage): boolean {
  if (storage.kind === 'connection-string') return isEmulatorConnectionString(storage.connectionString);
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(storage.queueServiceUri).hostname);
  } catch {
    return false;
  }
}

/**
 * A queue of the storage that creates itself (and nothing else) on first use: `createIfNotExists` runs once per
 * client and again only after a failure.
 */
export class EnsuredQueue {
  readonly client: QueueClient;
  #created: Promise<void> | undefined;

  constructor(
    service: QueueServiceClient,
    readonly queueName: string,
    readonly timeoutInMs: number = DEFAULT_TIMEOUT_IN_MS,
  ) {
    this.client = service.getQueueClient(queueName);
  }

  /** Runs `operation` once the queue exists; a service error becomes a {@link QueueStoreError}. */
  async run<T>(operation: string, call: (client: QueueClient, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    await this.ensure();
    return this.call(operation, call);
  }

  async ensure(): Promise<void> {
    this.#created ??= this.call('createIfNotExists', async (client, abortSignal) => {
      await client.createIfNotExists({ abortSignal });
    }).catch((error: unknown) => {
      this.#created = undefined;
      throw error;
    });
    return this.#created;
  }

  /** Runs `operation` without creating the queue. */
  async call<T>(operation: string, call: (client: QueueClient, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await call(this.client, AbortSignal.timeout(this.timeoutInMs));
    } catch (cause) {
      throw toQueueStoreError(operation, this.queueName, cause);
    }
  }
}

/** A service error as a {@link QueueStoreError}: the SDK's code and status, never its message (it can quote a URL). */
export function toQueueStoreError(operation: string, queueName: string, cause: unknown): QueueStoreError {
  if (cause instanceof QueueStoreError) return cause;
  const error = ensureError(cause) as Error & { statusCode?: number; code?: string };
  const status = typeof error.statusCode === 'number' ? error.statusCode : undefined;
  const what = error.name === 'TimeoutError' || error.name === 'AbortError' ? 'timed out' : `failed (${status ?? error.code ?? error.name})`;
  return new QueueStoreError(operation, queueName, status, `Storage queue ${operation} on ${queueName} ${what}`, { cause: new Error(`${error.name} ${error.code ?? ''}`.trim()) });
}

/** Options of {@link StorageWorkQueue}. */
export interface StorageWorkQueueOptions {
  /** Default {@link PROBE_QUEUE_NAME}; the poison queue is `<queueName>-poison`. */
  readonly queueName?: string;
  /** Per-operation timeout, default 30 s. */
  readonly timeoutInMs?: number;
}

/**
 * The fleet's work queue on Azure Storage (`AzureWebJobsStorage`), read by `app.storageQueue('probePool', …)`:
 * messages are Base64 JSON as the queue trigger expects by default, at most 64 KiB; the queue is created when
 * missing, once. `poisoned` peeks `<queue>-poison`, where the Functions host moves a message (its original body)
 * after `maxDequeueCount` failures.
 */
export class StorageWorkQueue implements WorkQueue {
  readonly queueName: string;
  readonly #queue: EnsuredQueue;
  readonly #poison: EnsuredQueue;
  #closed = false;

  constructor(storage: QueueStorage, options: StorageWorkQueueOptions = {}) {
    this.queueName = options.queueName ?? PROBE_QUEUE_NAME;
    const service = createQueueServiceClient(storage);
    this.#queue = new EnsuredQueue(service, this.queueName, options.timeoutInMs);
    this.#poison = new EnsuredQueue(service, poisonQueueNameOf(this.queueName), options.timeoutInMs);
  }

  /**
   * Puts one pool run on the queue.
   * @throws Error for an invalid message or after `close`; QueueStoreError when the service refuses.
   */
  async enqueue(message: PoolRunMessage): Promise<void> {
    if (this.#closed) throw new Error(`The work queue ${this.queueName} is closed`);
    const text = encodePoolRunMessage(message);
    await this.#queue.run('sendMessage', (client, abortSignal) => client.sendMessage(text, { abortSignal }));
  }

  /**
   * Peeks the poison queue (nothing is removed) and returns its pool-run messages, newest first, at most `limit`.
   * Peek sees the first 32 messages of a queue only (the service's limit): with more poisoned messages than that,
   * the newest are not among them. Bodies that are not pool runs are skipped. A missing poison queue is empty.
   * @throws QueueStoreError when the service fails.
   */
  async poisoned(limit: number): Promise<readonly PoisonedRun[]> {
    const bounded = Math.max(0, Math.min(Math.floor(limit), MAX_PEEK_MESSAGES));
    if (bounded === 0) return [];
    let peeked;
    try {
      peeked = await this.#poison.call('peekMessages', (client, abortSignal) => client.peekMessages({ numberOfMessages: MAX_PEEK_MESSAGES, abortSignal }));
    } catch (error) {
      if (error instanceof QueueStoreError && error.status === 404) return [];
      throw error;
    }
    return peeked.peekedMessageItems
      .map((item) => {
        const run = tryDecodePoisonedRun(item.messageText);
        return run === undefined ? undefined : { ...run, insertedOn: item.insertedOn ? item.insertedOn.toISOString() : null };
      })
      .filter((entry): entry is PoisonedRun => entry !== undefined)
      .sort((a, b) => (b.insertedOn ?? '').localeCompare(a.insertedOn ?? ''))
      .slice(0, bounded);
  }

  /**
   * Puts the pool run with its failure on the poison queue (created when missing).
   * @throws Error for an invalid message or after `close`; QueueStoreError when the service refuses.
   */
  async poison(message: PoolRunMessage, failure: RunFailure): Promise<void> {
    if (this.#closed) throw new Error(`The work queue ${this.queueName} is closed`);
    const text = encodePoisonedRun(message, failure);
    await this.#poison.run('sendMessage', (client, abortSignal) => client.sendMessage(text, { abortSignal }));
  }

  /** Messages in the poison queue, as the service approximates them (0 when it does not exist). */
  async poisonedCount(): Promise<number> {
    try {
      const properties = await this.#poison.call('getProperties', (client, abortSignal) => client.getProperties({ abortSignal }));
      return properties.approximateMessagesCount ?? 0;
    } catch (error) {
      if (error instanceof QueueStoreError && error.status === 404) return 0;
      throw error;
    }
  }

  /** Refuses further enqueues; the SDK holds no connection that needs closing. */
  async close(): Promise<void> {
    this.#closed = true;
  }
}
