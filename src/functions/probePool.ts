import { app, type InvocationContext } from '@azure/functions';
import { getFleet } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';
import { runPoolMessage } from '../app/fleetRuns';
import { parsePoolRunMessage } from '../lib/queue/poolRunMessage';
import { PROBE_QUEUE_NAME } from '../lib/queue/types';

ensureDefaultServices();

/**
 * Queue trigger: one probe run of one pool, asked for by the timer. A skipped message (the pool's run already
 * happened for that tick, or it left the fleet) completes with a log line. A malformed message, or a run that could
 * not be attempted (configuration or shared state unreachable), throws: the Functions host retries it and after
 * `maxDequeueCount` (host.json) moves it to `probe-runs-poison`, which that pool's report shows.
 */
export async function probePool(queueItem: unknown, context: InvocationContext): Promise<void> {
  const parsed = parsePoolRunMessage(queueItem);
  // Thrown, not dropped: the host retries it and then keeps it in the poison queue for someone to look at.
  if (!parsed.ok) throw new Error(`Not a probe-run message: ${parsed.reason}.`);
  const message = parsed.message;
  const fleet = await getFleet();
  // With several pools every line names its pool; a single pool's lines read as they always did.
  const log = fleet.pools.length > 1 ? (line: string): void => context.log(`[${message.pool}] ${line}`) : (line: string): void => context.log(line);
  const outcome = await runPoolMessage(fleet, message, log);
  if (!outcome.ran) log(`Probe run skipped: ${outcome.reason}.`);
}

app.storageQueue('probePool', {
  queueName: PROBE_QUEUE_NAME,
  connection: 'AzureWebJobsStorage',
  handler: probePool,
});
