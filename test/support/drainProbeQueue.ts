import { InvocationContext } from '@azure/functions';
import { getFleet } from '../../src/app/appState';
import { InProcessQueue } from '../../src/lib/queue/inProcessQueue';
import { DEFAULT_QUEUE_HOST_OPTIONS } from '../../src/lib/queue/queueHostOptions';
import type { FunctionsRegistry } from '../../src/local/functionsCoreShim';
import { QueueTriggerListener } from '../../src/local/queueTriggerListener';

/**
 * Runs the `probePool` queue trigger for every message the fleet's in-process queue holds, with the Functions host's
 * rules (QueueTriggerListener), and waits for the runs: what tests that invoke the registered timer handler directly
 * (no host) do to drive a tick to its end. `log` receives the function's log lines.
 */
export async function drainProbeQueue(registry: FunctionsRegistry, log: (line: string) => void): Promise<void> {
  // A fleet that cannot be built queued nothing (the timer logged why): nothing to run.
  const fleet = await getFleet().catch(() => undefined);
  if (fleet === undefined) return;
  if (!(fleet.queue instanceof InProcessQueue)) throw new Error('drainProbeQueue drives the local environment\'s in-process queue only');
  const fn = registry.functions.get('probePool');
  if (!fn) throw new Error('probePool was not registered');
  const listener = new QueueTriggerListener({
    functionName: 'probePool',
    transport: fleet.queue,
    options: DEFAULT_QUEUE_HOST_OPTIONS,
    log,
    invoke: async (value, triggerMetadata) =>
      fn.handler(value, new InvocationContext({ functionName: 'probePool', triggerMetadata: { ...triggerMetadata }, logHandler: (_level, ...args) => log(args.map(String).join(' ')) })),
  });
  await listener.drain();
}
