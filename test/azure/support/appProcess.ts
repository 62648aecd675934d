/**
 * One Function App instance for the multi-instance tests: the real registered functions hosted by the local host,
 * services built from `process.env` exactly as in Azure (the azure environment), with a fake credential (the
 * fakes accept any bearer token). Driven over stdin, one command a line, answering on stdout:
 *   `timer <id>`  → invokes probeTimer, runs what it queued (this instance's queue trigger), then prints `timer-done <id>`
 *   `exit`        → stops the host, prints `native-sqlite-loaded <true|false>` and exits
 * Prints `ready <baseUrl>` once serving and `startup-settled` once the background start-up step is done.
 * Every function log line is printed as `log <line>`.
 */
import { createInterface } from 'node:readline';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { installFunctionsCoreShim } from '../../../src/local/functionsCoreShim';

const credential: TokenCredential = {
  async getToken(): Promise<AccessToken> {
    return { token: 'fake-instance-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

async function main(): Promise<void> {
  const shim = installFunctionsCoreShim();
  const [{ LocalFunctionsHost }, { configureServicesExplicitly }, { createFleet }, { disposeServices }, { currentFleetQueueTransport }, { readQueueHostOptions }] = await Promise.all([
    import('../../../src/local/LocalFunctionsHost'),
    import('../../../src/app/defaultServices'),
    import('../../../src/app/createFleet'),
    import('../../../src/app/appState'),
    import('../../../src/local/fleetQueueTransport'),
    import('../../../src/local/chooseQueueTransport'),
  ]);
  const appRoot = process.env.TEST_APP_ROOT ?? process.cwd();
  configureServicesExplicitly(() => createFleet(process.env, { appRoot, credential }));
  await import('../../../src/functions/startup');
  await import('../../../src/functions/probeTimer');
  await import('../../../src/functions/probePool');
  await import('../../../src/functions/report');
  await import('../../../src/functions/health');
  const { startupSettled } = await import('../../../src/functions/startup');

  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    port: 0,
    settings: process.env,
    // The tests fire the timer themselves (once a year otherwise), so each step is deterministic.
    scheduleOverrides: { probeTimer: '0 0 0 1 1 *' },
    // The queue trigger reads the Storage queue the fleet's timer writes to (Azurite's queue service).
    // (A misconfigured instance serves /api/health anyway, as a Function App does; its queue trigger then logs why it does not listen.)
    queueTransportOf: currentFleetQueueTransport,
    queueOptions: readQueueHostOptions(appRoot),
    log: (line) => out(`log ${line.replace(/\n/g, ' | ')}`),
  });
  await host.start();
  out(`ready ${host.baseUrl}`);
  void startupSettled().then(() => out('startup-settled'));

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, id] = line.trim().split(/\s+/);
    if (command === 'timer') {
      void host
        .invokeTimer('probeTimer')
        .then(async (result) => {
          await host.drainQueues();
          return result;
        })
        .then((result) => out(`timer-done ${id ?? ''} ${result.error ? 'error' : 'ok'}`));
    } else if (command === 'exit') {
      await host.stop();
      await disposeServices();
      const loaded = Object.keys(require.cache).some((file) => /[\\/]better-sqlite3[\\/]/.test(file));
      out(`native-sqlite-loaded ${loaded}`);
      process.exit(0);
    }
  }
}

main().catch((error: unknown) => {
  process.stdout.write(`fatal ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
