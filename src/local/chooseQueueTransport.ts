import type { Settings } from '../lib/config/types';
import { InProcessQueue } from '../lib/queue/inProcessQueue';
import { queueStorageOf } from '../lib/queue/queueStorageOf';
import { StorageQueueTransport } from '../lib/queue/storageQueueTransport';
import { isEmulatorQueueStorage, StorageWorkQueue, type QueueStorage } from '../lib/queue/storageWorkQueue';
import { PROBE_QUEUE_NAME, type QueueTransport, type WorkQueue } from '../lib/queue/types';

/** The queues of the local host: where the timer enqueues and where the queue trigger reads, always the same queue. */
export interface LocalQueues {
  /** `local`: an in-process queue; `azure`: the Storage queue service of AzureWebJobsStorage (Azurite in tests). */
  readonly kind: 'in-process' | 'storage';
  /** The fleet's work queue ({@link PROBE_QUEUE_NAME}), for the timer. */
  readonly workQueue: WorkQueue;
  /** For `LocalFunctionsHost` `queueTransportOf`. */
  readonly queueTransportOf: (binding: { readonly queueName: string; readonly connection: string }) => QueueTransport;
  /** Where the queue is, in words, for the start-up lines (no connection string). */
  readonly description: string;
}

/**
 * Decides how the local host runs `app.storageQueue` functions, by the environment the settings chose:
 * - `local` → one {@link InProcessQueue} per queue name (the work queue is the probe-runs one);
 * - `azure` → the Storage queue service named by AzureWebJobsStorage (connection string or identity form), polled
 *   as the Functions host polls it. A binding whose `connection` is not `AzureWebJobsStorage` is refused: it is the
 *   only storage connection the app configures.
 * @throws Error naming the setting when the azure environment has no queue service configured.
 */
export function chooseQueueTransport(settings: Settings, options: { readonly maxQueueLength?: number } = {}): LocalQueues {
  if (settings.environment === 'azure') {
    const storage = queueStorageOf(settings);
    if (!storage) throw new Error('The queue trigger needs AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__queueServiceUri / AzureWebJobsStorage__accountName');
    return storageQueues(storage);
  }
  const queues = new Map<string, InProcessQueue>();
  const queueNamed = (queueName: string): InProcessQueue => {
    let queue = queues.get(queueName);
    if (!queue) {
      queue = new InProcessQueue({ queueName, ...(options.maxQueueLength !== undefined ? { maxLength: options.maxQueueLength } : {}) });
      queues.set(queueName, queue);
    }
    return queue;
  };
  return {
    kind: 'in-process',
    workQueue: queueNamed(PROBE_QUEUE_NAME),
    queueTransportOf: ({ queueName }) => queueNamed(queueName),
    description: 'in-process queue (local environment)',
  };
}

function storageQueues(storage: QueueStorage): LocalQueues {
  return {
    kind: 'storage',
    workQueue: new StorageWorkQueue(storage),
    queueTransportOf: ({ queueName, connection }) => {
      if (connection !== 'AzureWebJobsStorage') throw new Error(`Queue trigger on ${queueName}: connection "${connection}" is not configured (only AzureWebJobsStorage is)`);
      return new StorageQueueTransport(storage, queueName);
    },
    description: `${isEmulatorQueueStorage(storage) ? 'storage emulator' : 'Azure Storage'} queue ${PROBE_QUEUE_NAME} of AzureWebJobsStorage (${storage.kind === 'identity' ? new URL(storage.queueServiceUri).host : 'connection string'})`,
  };
}

export { readQueueHostOptions } from '../lib/queue/queueHostOptions';
