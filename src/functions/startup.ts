import { app } from '@azure/functions';
import { getServices, setPolicyFindings } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';
import { runStartup } from '../app/runStartup';
import { ensureError } from '../lib/util/errors';

ensureDefaultServices();

/**
 * Start-up: deploy the pool definition (or, in verify-only mode, only read it) and check the API policy.
 * Exported so the local host and the CLI can call it directly (`appStart` never runs outside the Functions host).
 * Never throws: a failed deploy is kept and shown in the report.
 */
export async function startup(log: (line: string) => void = (line) => console.log(line)): Promise<void> {
  let services;
  try {
    services = await getServices();
  } catch (error) {
    log(`Start-up skipped: ${ensureError(error).message}`);
    return;
  }
  const outcome = await runStartup(services, log);
  setPolicyFindings(outcome.policy);
}

app.hook.appStart(async () => {
  await startup();
});
