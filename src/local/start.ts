import fs from 'node:fs';
import path from 'node:path';
import { detectEnvironment } from '../lib/config/azureSettings';
import { installFunctionsCoreShim } from './functionsCoreShim';

/**
 * `npm start`: hosts the real registered functions on http://localhost:7071/api/... .
 * With no Azure settings it starts the embedded environment (APIM emulator + simulated Azure OpenAI regions),
 * deploys the example pool to it, probes at a demo pace and plays a short fault scenario so the whole loop —
 * drift detected, then cleared — is visible in a couple of minutes.
 */

/** Demo pace: a probe run every 15 seconds instead of every 5 minutes. */
const DEMO_SCHEDULE = '*/15 * * * * *';
/** Each step of the demo scenario lasts this long. */
const DEMO_STEP_IN_MS = 30_000;

/** Reads `local.settings.json` `Values` (the Functions convention) without overriding the real environment. */
export function readLocalSettings(appRoot: string, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const file = path.join(appRoot, 'local.settings.json');
  if (!fs.existsSync(file)) return { ...env };
  let values: Record<string, unknown>;
  try {
    values = (JSON.parse(fs.readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> }).Values ?? {};
  } catch (error) {
    throw new Error(`local.settings.json is not valid JSON: ${(error as Error).message}`);
  }
  const merged: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') merged[key] = String(value);
  }
  return { ...merged, ...env };
}

async function main(): Promise<void> {
  const shim = installFunctionsCoreShim();
  const appRoot = path.resolve(__dirname, '..', '..', '..');
  const env = readLocalSettings(appRoot, process.env);
  for (const [key, value] of Object.entries(env)) if (value !== undefined && process.env[key] === undefined) process.env[key] = value;

  const [{ LocalFunctionsHost }, { configureServicesExplicitly, startEmbeddedForPool }, { createServices }, { getServices, disposeServices }, emulator] =
    await Promise.all([
      import('./LocalFunctionsHost'),
      import('../app/defaultServices'),
      import('../app/createServices'),
      import('../app/appState'),
      import('../emulator/demoScenario'),
    ]);

  // The emulator only in the local environment without a gateway; never in azure (there a missing gateway is an error).
  const embedded = !env.APIM_GATEWAY_URL?.trim() && detectEnvironment(env).environment === 'local';
  let embeddedEnv: Awaited<ReturnType<typeof startEmbeddedForPool>> | undefined;
  const demoEnv: Record<string, string | undefined> = { ...env };
  if (embedded && !env.STORE_PATH) {
    // A fresh store per demo start, so the last demo's fault scenario does not colour this one's windows.
    demoEnv.STORE_PATH = '.data/embedded-demo.sqlite';
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(appRoot, `.data/embedded-demo.sqlite${suffix}`), { force: true });
  }
  if (embedded && !env.REPORT_PRIMARY_WINDOW) demoEnv.REPORT_PRIMARY_WINDOW = 'run';

  configureServicesExplicitly(() =>
    createServices(demoEnv, {
      appRoot,
      startEmbedded: async (pool) => {
        embeddedEnv = await startEmbeddedForPool(pool);
        return embeddedEnv;
      },
    }),
  );

  // Importing the function modules registers them with the shim, exactly as the Functions worker would.
  await import('../functions/startup');
  await import('../functions/probeTimer');
  await import('../functions/report');
  await import('../functions/health');

  const port = Number(env.FUNCTIONS_HTTPWORKER_PORT ?? env.PORT ?? 7071);
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    port,
    settings: demoEnv,
    ...(embedded && !env.PROBE_SCHEDULE ? { scheduleOverrides: { probeTimer: DEMO_SCHEDULE } } : {}),
    log: (line) => console.log(line),
  });

  try {
    await getServices();
  } catch (error) {
    console.error(`Cannot start: ${(error as Error).message}`);
    process.exitCode = 3;
    return;
  }
  await host.start();
  // appStart only begins the start-up step (it must not block a real host); here the URLs are printed once it is done.
  await (await import('../functions/startup')).startupSettled();
  const base = `${host.baseUrl}/api`;
  console.log('');
  console.log(`apim-pool-verifier is running${embedded ? ' on the embedded environment (no Azure)' : ''}.`);
  console.log(`  Report (HTML): ${base}/report?format=html`);
  console.log(`  Report (JSON): ${base}/report`);
  console.log(`  Health:        ${base}/health`);
  if (embeddedEnv) {
    console.log(`  Emulator:      gateway ${embeddedEnv.gatewayUrl}, control ${embeddedEnv.controlUrl}/state`);
    console.log(`  Probing every 15 s; the demo scenario throttles East US, then heals it. Ctrl+C stops.`);
  }
  console.log('');

  const stop = new AbortController();
  const first = host.invokeTimer('probeTimer');
  let scenario: Promise<void> = Promise.resolve();
  if (embeddedEnv) {
    scenario = emulator
      .playDemoScenario(embeddedEnv, {
        stepInMs: DEMO_STEP_IN_MS,
        log: (line: string) => console.log(`[demo] ${line}`),
        signal: stop.signal,
      })
      .catch((error: unknown) => console.error(`[demo] ${(error as Error).message}`));
  }
  await first;

  const shutdown = async (): Promise<void> => {
    stop.abort();
    await host.stop();
    await scenario;
    await disposeServices();
  };
  process.once('SIGINT', () => void shutdown().then(() => process.exit(0)));
  process.once('SIGTERM', () => void shutdown().then(() => process.exit(0)));
  // LOCAL_RUN_SECONDS bounds a run (smoke tests, CI): the app stops by itself after that many seconds.
  const stopAfterMs = Number(env.LOCAL_RUN_SECONDS ?? 0) * 1000;
  if (stopAfterMs > 0) setTimeout(() => void shutdown().then(() => process.exit(0)), stopAfterMs);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
