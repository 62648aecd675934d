import { app } from '@azure/functions';
import { ensureStartupOnce, getServices } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';
import { describeServicesFailure } from '../app/describeServicesFailure';
import { ensureError } from '../lib/util/errors';

ensureDefaultServices();

let background: Promise<void> = Promise.resolve();

/**
 * Start-up: deploy the pool definition (or, in verify-only mode, only read it) and check the API policy, once per
 * definition across all instances (a lease and the definition's hash in the shared state). Exported so the local
 * host and tests can call it directly. Never throws: a failed deploy is kept and shown in the report.
 */
export async function startup(log: (line: string) => void = (line) => console.log(line)): Promise<void> {
  try {
    const services = await getServices();
    log(`Environment: ${services.settings.environment} (${services.settings.environmentReason}).`);
    const result = await ensureStartupOnce(services, log);
    if (!result.ran) log(`Start-up step not repeated: ${result.reason}.`);
  } catch (error) {
    const failure = describeServicesFailure(error);
    log(`Start-up skipped: ${failure.settings.length > 0 || !(error instanceof Error) ? failure.line : ensureError(error).message}`);
  }
}

/** The background start-up begun by the last `appStart` (tests and the local host await it). */
export function startupSettled(): Promise<void> {
  return background;
}

// The worker awaits this hook before it answers the host (about 30 s allowed): it only starts the work in the
// background and returns at once. The first timer run waits for the same work if it is still going.
app.hook.appStart(() => {
  background = startup();
});
