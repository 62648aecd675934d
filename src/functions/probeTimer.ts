import { app, type InvocationContext, type Timer } from '@azure/functions';
import { ensureStartupOnce, getServices } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';
import { invalidateReports } from '../app/reportCache';
import { describeServicesFailure } from '../app/describeServicesFailure';
import { resolveProbeSchedule } from '../app/resolveProbeSchedule';
import { runStoppableOnSigterm } from '../app/shutdown';
import { ensureError } from '../lib/util/errors';
import { runVerificationCycle } from '../lib/verifier/runVerificationCycle';

ensureDefaultServices();

/**
 * Timer trigger: makes sure the start-up step ran for this definition, then one probe run through the APIM
 * gateway, the verdict and alerts. An overlapping run (on any instance) skips with a log line; a configuration
 * error is logged with the same line `/api/health` answers, never thrown in a loop. SIGTERM stops the run and
 * releases its lease.
 */
export async function probeTimer(timer: Timer, context: InvocationContext): Promise<void> {
  let services;
  try {
    services = await getServices();
  } catch (error) {
    context.error(`Probe run not started: ${describeServicesFailure(error).line}`);
    context.error(ensureError(error).message);
    return;
  }
  const log = (line: string): void => context.log(line);
  try {
    await ensureStartupOnce(services, log);
  } catch (error) {
    context.error(`Start-up step failed (retried next run): ${ensureError(error).message}`);
  }
  if (timer.isPastDue) context.log('The timer is past due; running now.');
  const deps = services.cycleDependencies(log);
  const result = await runStoppableOnSigterm((signal) => runVerificationCycle(deps, signal));
  invalidateReports();
  if (!result.ran) context.log(`Probe run skipped: ${result.reason}.`);
}

app.timer('probeTimer', {
  schedule: resolveProbeSchedule(process.env),
  handler: probeTimer,
});
