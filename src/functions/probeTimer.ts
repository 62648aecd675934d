import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getFleet } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';
import { describeServicesFailure } from '../app/describeServicesFailure';
import { enqueueTick } from '../app/fleetRuns';
import { resolveProbeSchedule } from '../app/resolveProbeSchedule';
import { ensureError } from '../lib/util/errors';

ensureDefaultServices();

/**
 * Timer trigger: one message per pool onto the `probe-runs` queue (the `probePool` function runs each), so the
 * runs of a fleet spread across instances and one slow pool never delays the others. A pool whose run is still
 * going is skipped with a log line. A configuration error is logged with the same line `/api/health` answers,
 * never thrown in a loop.
 */
export async function probeTimer(timer: Timer, context: InvocationContext): Promise<void> {
  let fleet;
  try {
    fleet = await getFleet();
  } catch (error) {
    context.error(`Probe runs not queued: ${describeServicesFailure(error).line}`);
    context.error(ensureError(error).message);
    return;
  }
  if (timer.isPastDue) context.log('The timer is past due; queuing now.');
  const outcome = await enqueueTick(fleet, new Date(), (line) => context.log(line));
  const of = fleet.pools.length === 1 ? 'the pool' : `${fleet.pools.length} pools`;
  context.log(
    `Tick: queued a probe run for ${outcome.queued} of ${of}` +
      (outcome.skipped > 0 ? `, ${outcome.skipped} still running` : '') +
      (outcome.failed > 0 ? `, ${outcome.failed} not queued (see above)` : '') +
      '.',
  );
}

app.timer('probeTimer', {
  schedule: resolveProbeSchedule(process.env),
  handler: probeTimer,
});
