import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getServices } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';
import { invalidateReports } from '../app/reportCache';
import { resolveProbeSchedule } from '../app/resolveProbeSchedule';
import { ensureError } from '../lib/util/errors';
import { runVerificationCycle } from '../lib/verifier/runVerificationCycle';

ensureDefaultServices();

/**
 * Timer trigger: one probe run through the APIM gateway, then the verdict and alerts.
 * An overlapping invocation skips with a log line; a configuration error is logged, never thrown in a loop.
 */
export async function probeTimer(timer: Timer, context: InvocationContext): Promise<void> {
  let services;
  try {
    services = await getServices();
  } catch (error) {
    context.error(`Probe run not started: ${ensureError(error).message}`);
    return;
  }
  if (timer.isPastDue) context.log('The timer is past due; running now.');
  const result = await runVerificationCycle(services.cycleDependencies((line) => context.log(line)));
  invalidateReports();
  if (!result.ran) context.log(`Probe run skipped: ${result.reason}.`);
}

app.timer('probeTimer', {
  schedule: resolveProbeSchedule(process.env),
  handler: probeTimer,
});
