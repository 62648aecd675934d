import type { QueueStorage } from './storageWorkQueue';
import { createQueueServiceClient, EnsuredQueue } from './storageWorkQueue';
import { poisonQueueNameOf, type QueueTransport, type ReceivedQueueMessage } from './types';

/**
 * A Storage queue as a queue trigger reads it (Get Messages, Delete Message, Update Message, Put Message on
 * `<queue>-poison`), for the local host's stand-in of the Functions host. Both queues are created when missing.
 */
export class StorageQueueTransport implements QueueTransport {
  readonly #queue: EnsuredQueue;
  readonly #poison: EnsuredQueue;

  constructor(
    storage: QueueStorage,
    readonly queueName: string,
    timeoutInMs?: number,
  ) {
    const service = createQueueServiceClient(storage);
    this.#queue = new EnsuredQueue(service, queueName, timeoutInMs);
    this.#poison = new EnsuredQueue(service, poisonQueueNameOf(queueName), timeoutInMs);
  }

  async receive(maxMessages: number, visibilityTimeoutInMs: number): Promise<readonly ReceivedQueueMessage[]> {
    const visibilityTimeout = Math.max(1, Math.ceil(visibilityTimeoutInMs / 1000));
    const response = await this.#queue.run('receiveMessages', (client, abortSignal) => client.receiveMessages({ numberOfMessages: maxMessages, visibilityTimeout, abortSignal }));
    return response.receivedMessageItems.map((item) => ({
      id: item.messageId,
      popReceipt: item.popReceipt,
      dequeueCount: item.dequeueCount,
      insertedOn: item.insertedOn,
      expiresOn: item.expiresOn,
      nextVisibleOn: item.nextVisibleOn,
      messageText: item.messageText,
    }));
  }

  async delete(message: ReceivedQueueMessage): Promise<void> {
    await this.#queue.call('deleteMessage', (client, abortSignal) => client.deleteMessage(message.id, message.popReceipt, { abortSignal }));
  }

  async setVisibility(message: ReceivedQueueMessage, visibilityTimeoutInMs: number): Promise<ReceivedQueueMessage> {
    const seconds = Math.ceil(visibilityTimeoutInMs / 1000);
    const response = await this.#queue.call('updateMessage', (client, abortSignal) => client.updateMessage(message.id, message.popReceipt, undefined, seconds, { abortSignal }));
    return { ...message, popReceipt: response.popReceipt ?? message.popReceipt, nextVisibleOn: response.nextVisibleOn ?? new Date(Date.now() + seconds * 1000) };
  }

  /** As the host: the original body to the poison queue first, then the delete (a crash between them duplicates, never loses). */
  async moveToPoison(message: ReceivedQueueMessage): Promise<void> {
    await this.#poison.run('sendMessage', (client, abortSignal) => client.sendMessage(message.messageText, { abortSignal }));
    await this.delete(message);
  }
}
