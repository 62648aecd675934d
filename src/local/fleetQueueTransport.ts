import { getFleet } from '../app/appState';
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

/**
 * The transport of the process's fleet (`getFleet()`), for `LocalFunctionsHost`'s `queueTransportOf`: the host asks
 * when it starts listening, and this waits for the fleet. A fleet that cannot be built rejects: the host then logs
 * why the trigger does not listen, and the other functions keep running (a misconfigured app still serves health).
 */
export async function currentFleetQueueTransport(binding: { readonly queueName: string; readonly connection: string }): Promise<QueueTransport> {
  return fleetQueueTransport(await getFleet())(binding);
}
