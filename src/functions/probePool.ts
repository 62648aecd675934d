import path from 'node:path';
import { app, type InvocationContext } from '@azure/functions';
import { getFleet } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';
import { runPoolMessage } from '../app/fleetRuns';
import { parsePoolRunMessage } from '../lib/queue/poolRunMessage';
import { DEFAULT_QUEUE_HOST_OPTIONS, readQueueHostOptions } from '../lib/queue/queueHostOptions';
import { PROBE_QUEUE_NAME, type QueueHostOptions } from '../lib/queue/types';
import { ensureError } from '../lib/util/errors';

ensureDefaultServices();

/** The app root of the compiled function (dist/src/functions → the package root, where host.json is). */
const APP_ROOT = path.resolve(__dirname, '..', '..', '..');
let hostOptions: QueueHostOptions | undefined;

/** host.json's queue settings, as the Functions host applies them (its defaults when the file cannot be read). */
function queueHostOptions(): QueueHostOptions {
  if (hostOptions === undefined) {
    try {
      hostOptions = readQueueHostOptions(APP_ROOT);
    } catch {
      hostOptions = DEFAULT_QUEUE_HOST_OPTIONS;
    }
  }
  return hostOptions;
}

/**
 * Queue trigger: one probe run of one pool, asked for by the timer. A skipped message (the pool's run already
 * happened for that tick, or it left the fleet) completes with a log line. A run that could not be attempted
 * (shared state unreachable …) throws, so the Functions host retries it; on the last attempt (`maxDequeueCount` of
 * host.json) the trigger itself puts the run on `probe-runs-poison` **with the reason**, and that pool's report
 * and the fleet overview show it. A malformed message throws every time and the host moves it there bare.
 */
export async function probePool(queueItem: unknown, context: InvocationContext): Promise<void> {
  const parsed = parsePoolRunMessage(queueItem);
  // Thrown, not dropped: the host retries it and then keeps it in the poison queue for someone to look at.
  if (!parsed.ok) throw new Error(`Not a probe-run message: ${parsed.reason}.`);
  const message = parsed.message;
  const fleet = await getFleet();
  // With several pools every line names its pool; a single pool's lines read as they always did.
  const log = fleet.pools.length > 1 ? (line: string): void => context.log(`[${message.pool}] ${line}`) : (line: string): void => context.log(line);
  let outcome;
  try {
    outcome = await runPoolMessage(fleet, message, log);
  } catch (error) {
    const attempts = Number(context.triggerMetadata?.dequeueCount ?? 1);
    const reason = ensureError(error).message;
    if (!(attempts >= queueHostOptions().maxDequeueCount)) throw error;
    try {
      await fleet.queue.poison(message, { reason, attempts, at: new Date().toISOString() });
    } catch (poisonError) {
      // The poison queue refused too: the host moves the bare message there after this throw.
      context.error(`Could not record the failure with the message in the poison queue: ${ensureError(poisonError).message}`);
      throw error;
    }
    context.error(`Probe run given up after ${attempts} attempts, put on ${PROBE_QUEUE_NAME}-poison with the reason: ${reason}`);
    return;
  }
  if (!outcome.ran) log(`Probe run skipped: ${outcome.reason}.`);
}

app.storageQueue('probePool', {
  queueName: PROBE_QUEUE_NAME,
  connection: 'AzureWebJobsStorage',
  handler: probePool,
});
