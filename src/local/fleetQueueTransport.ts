import type { Fleet } from '../app/createFleet';
import { InProcessQueue } from '../lib/queue/inProcessQueue';
import { PROBE_QUEUE_NAME, type QueueTransport } from '../lib/queue/types';
import { chooseQueueTransport } from './chooseQueueTransport';

/**
 * Where the local host's queue trigger reads, for the fleet the timer writes to: the fleet's own in-process queue in
 * the local environment (the very instance the timer fills), the Storage queue service of AzureWebJobsStorage in the
 * azure environment (Azurite in tests), as the Functions host would.
 */
export function fleetQueueTransport(fleet: Fleet): (binding: { readonly queueName: string; readonly connection: string }) => QueueTransport {
  if (fleet.queue instanceof InProcessQueue) {
    const queue = fleet.queue;
    const others = chooseQueueTransport(fleet.settings);
    return (binding) => (binding.queueName === PROBE_QUEUE_NAME ? queue : others.queueTransportOf(binding));
  }
  return chooseQueueTransport(fleet.settings).queueTransportOf;
}
