import fs from 'node:fs';
import path from 'node:path';
import { resolveProbeSchedule } from '../app/resolveProbeSchedule';
import { describeSchedule } from './describeSchedule';
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

  const embedded = !env.APIM_GATEWAY_URL && env.VERIFIER_ENVIRONMENT !== 'azure';
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
  const demoPace = embedded && !env.PROBE_SCHEDULE;
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    port,
    settings: demoEnv,
    ...(demoPace ? { scheduleOverrides: { probeTimer: DEMO_SCHEDULE } } : {}),
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
  const base = `${host.baseUrl}/api`;
  console.log('');
  console.log(`apim-pool-verifier is running${embedded ? ' on the embedded environment (no Azure)' : ''}.`);
  console.log(`  Report (HTML): ${base}/report?format=html  (add &refresh=30 to reload it every 30 s)`);
  console.log(`  Report (JSON): ${base}/report`);
  console.log(`  Health:        ${base}/health`);
  const services = await getServices();
  console.log(`  Probes go to:  ${describeTarget(services.settings, embeddedEnv?.gatewayUrl)}`);
  // The schedule the timer really runs on: the demo pace, or PROBE_SCHEDULE as the timer resolved it.
  const schedule = demoPace ? DEMO_SCHEDULE : resolveProbeSchedule(demoEnv);
  console.log(
    `  Probing:       ${describeSchedule(schedule)}${demoPace ? ' (demo pace; set PROBE_SCHEDULE to change it)' : ' (PROBE_SCHEDULE)'}, up to ${services.settings.probe.maxRequests} probes a run.`,
  );
  if (embeddedEnv) {
    console.log(`  Emulator:      control ${embeddedEnv.controlUrl}/state`);
    console.log(`  The demo throttles one region, then heals it, and narrates what the verifier observes. Ctrl+C stops.`);
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
        // Narrate what the verifier observed (its latest finished run, its alert state), not a fixed clock.
        observe: async () => {
          const finished = services.store.recentRuns(services.declaredPool.name, 10).filter((run) => run.state !== 'running');
          const latest = finished[0];
          const record = services.alerts ? await services.alerts.store.read(services.declaredPool.name) : null;
          return {
            latestRun: latest ? { startedAtMs: latest.startedAtMs, verdict: latest.verdict ?? null } : null,
            recentRuns: finished.map((run) => ({ startedAtMs: run.startedAtMs, verdict: run.verdict ?? null })),
            health: record?.state.health ?? null,
          };
        },
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

/** Where probes go, in words: the embedded gateway, or the real gateway's origin (never a key or a path). */
function describeTarget(settings: { readonly gatewayUrl?: string | undefined }, embeddedGatewayUrl: string | undefined): string {
  if (embeddedGatewayUrl) return `the embedded APIM emulator at ${embeddedGatewayUrl} (loopback, simulated Azure OpenAI; no Azure)`;
  try {
    return `the APIM gateway ${new URL(settings.gatewayUrl ?? '').origin} (a real service: probes cost tokens)`;
  } catch {
    return 'the APIM gateway named by APIM_GATEWAY_URL';
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
