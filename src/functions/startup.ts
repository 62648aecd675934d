import { app } from '@azure/functions';
import { ensureStartupOnce, getFleet } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';
import { describeServicesFailure } from '../app/describeServicesFailure';
import { ensureError } from '../lib/util/errors';
import { mapBounded } from '../lib/util/mapBounded';

ensureDefaultServices();

let background: Promise<void> = Promise.resolve();
/** Pools whose start-up step runs at once. */
const STARTUP_CONCURRENCY = 4;

/**
 * Start-up: for every pool, deploy its definition (or, in verify-only mode, only read it) and check the API policy, once per
 * definition across all instances (a lease and the definition's hash in the shared state). Exported so the local
 * host and tests can call it directly. Never throws: a failed deploy is kept and shown in the report.
 */
export async function startup(log: (line: string) => void = (line) => console.log(line)): Promise<void> {
  let fleet;
  try {
    fleet = await getFleet();
  } catch (error) {
    const failure = describeServicesFailure(error);
    log(`Start-up skipped: ${failure.settings.length > 0 || !(error instanceof Error) ? failure.line : ensureError(error).message}`);
    return;
  }
  log(`Environment: ${fleet.settings.environment} (${fleet.settings.environmentReason}).`);
  const several = fleet.pools.length > 1;
  if (several) log(`Watching ${fleet.pools.length} pools.`);
  // A few pools at a time: each deploy makes N+1 ARM calls, and ARM throttles a burst of writes.
  await mapBounded(fleet.pools, STARTUP_CONCURRENCY, async (services) => {
    const poolLog = several ? (line: string): void => log(`[${services.declaredPool.name}] ${line}`) : log;
    try {
      const result = await ensureStartupOnce(services, poolLog);
      if (!result.ran) poolLog(`Start-up step not repeated: ${result.reason}.`);
    } catch (error) {
      poolLog(`Start-up step failed (retried at the next run): ${ensureError(error).message}`);
    }
  });
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
