import fs from 'node:fs';
import path from 'node:path';
import { parseJsonText } from '../lib/pool/parseJsonText';
import { resolveProbeSchedule } from '../app/resolveProbeSchedule';
import { describeSchedule } from './describeSchedule';
import { detectEnvironment } from '../lib/config/azureSettings';
import { installFunctionsCoreShim } from './functionsCoreShim';
import { currentFleetQueueTransport } from './fleetQueueTransport';
import { readQueueHostOptions } from './chooseQueueTransport';

/**
 * `npm start`: hosts the real registered functions on http://localhost:7071/api/... .
 * With no Azure settings it starts the embedded environment (APIM emulator + simulated Azure OpenAI regions),
 * deploys the example pool to it, probes at a demo pace and plays a short fault scenario so the whole loop —
 * drift detected, then cleared — is visible in a couple of minutes.
 */

/** Demo pace: a probe run every 15 seconds instead of every 5 minutes. */
const DEMO_SCHEDULE = '*/15 * * * * *';
/** The demo's definitions: one pool per file (README "A fleet"). */
const DEMO_FLEET = 'examples/fleet';
/** Each step of the demo scenario lasts this long. */
const DEMO_STEP_IN_MS = 30_000;

/** A start-up problem the user must fix: printed as "Cannot start: …", exit code 3, nothing left running. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * Reads `local.settings.json` `Values` (the Functions convention) without overriding the real environment.
 *
 * The file holds secrets, so a malformed file is reported by line and column only (Node's JSON error quotes a
 * piece of the text around the problem, i.e. part of a key). A UTF-8 byte-order mark is accepted (editors on
 * Windows write one); `Values` must be an object.
 *
 * @throws StartupError naming the file and where it is malformed, never its content.
 */
export function readLocalSettings(appRoot: string, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const file = path.join(appRoot, 'local.settings.json');
  if (!fs.existsSync(file)) return { ...env };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new StartupError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: error });
  }
  const parsed = parseJsonText(text.startsWith('\uFEFF') ? text.slice(1) : text);
  if (!parsed.ok) {
    throw new StartupError(`${file} is not valid JSON (line ${parsed.line}, column ${parsed.column}); its content is not shown because it holds secrets`);
  }
  const document = parsed.value;
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new StartupError(`${file} must be a JSON object with a "Values" object`);
  }
  const values = Object.prototype.hasOwnProperty.call(document, 'Values') ? (document as Record<string, unknown>)['Values'] : {};
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    throw new StartupError(`${file}: "Values" must be an object of setting names to values, got ${Array.isArray(values) ? 'an array' : values === null ? 'null' : `a ${typeof values}`}`);
  }
  const merged: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') merged[key] = String(value);
  }
  return { ...merged, ...env };
}

/**
 * The HTTP port from FUNCTIONS_HTTPWORKER_PORT or PORT (default 7071), checked before any start-up work.
 *
 * @throws StartupError naming the setting and its value.
 */
export function readPort(env: Readonly<Record<string, string | undefined>>): { readonly port: number; readonly setting: string } {
  const setting = env.FUNCTIONS_HTTPWORKER_PORT?.trim() ? 'FUNCTIONS_HTTPWORKER_PORT' : env.PORT?.trim() ? 'PORT' : undefined;
  if (setting === undefined) return { port: 7071, setting: 'PORT' };
  const value = (env[setting] ?? '').trim();
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) {
    throw new StartupError(`${setting} must be a port number from 0 to 65535 (0 = any free port), got ${JSON.stringify(value.slice(0, 20))}`);
  }
  return { port, setting };
}

/** Starts the app; resolves to an exit code when start-up fails (after closing what was opened), else undefined. */
async function main(): Promise<number | undefined> {
  const shim = installFunctionsCoreShim();
  const appRoot = path.resolve(__dirname, '..', '..', '..');
  const env = readLocalSettings(appRoot, process.env);
  const { port, setting: portSetting } = readPort(env);
  for (const [key, value] of Object.entries(env)) if (value !== undefined && process.env[key] === undefined) process.env[key] = value;

  const [{ LocalFunctionsHost }, { configureServicesExplicitly, startEmbeddedForPools }, { createFleet }, { getFleet, disposeServices }, emulator] =
    await Promise.all([
      import('./LocalFunctionsHost'),
      import('../app/defaultServices'),
      import('../app/createFleet'),
      import('../app/appState'),
      import('../emulator/demoScenario'),
    ]);

  // The emulator only in the local environment without a gateway; never in azure (there a missing gateway is an error).
  const embedded = !env.APIM_GATEWAY_URL?.trim() && detectEnvironment(env).environment === 'local';
  let embeddedEnv: Awaited<ReturnType<typeof startEmbeddedForPools>> | undefined;
  const demoEnv: Record<string, string | undefined> = { ...env };
  if (embedded && !env.STORE_PATH) {
    // A fresh store per demo start, so the last demo's fault scenario does not colour this one's windows.
    demoEnv.STORE_PATH = '.data/embedded-demo.sqlite';
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(appRoot, `.data/embedded-demo.sqlite${suffix}`), { force: true });
  }
  if (embedded && !env.REPORT_PRIMARY_WINDOW) demoEnv.REPORT_PRIMARY_WINDOW = 'run';
  // The demo watches a fleet: the lab pool, a pool with a priority-2 backup, a token-limited header-routed API.
  if (embedded && !env.POOL_DEFINITION_PATH) demoEnv.POOL_DEFINITION_PATH = DEMO_FLEET;

  configureServicesExplicitly(() =>
    createFleet(demoEnv, {
      appRoot,
      startEmbedded: async (pools) => {
        embeddedEnv = await startEmbeddedForPools(pools);
        return embeddedEnv;
      },
    }),
  );

  // Importing the function modules registers them with the shim, exactly as the Functions worker would.
  await import('../functions/startup');
  await import('../functions/probeTimer');
  await import('../functions/probePool');
  await import('../functions/report');
  await import('../functions/health');

  const demoPace = embedded && !env.PROBE_SCHEDULE;
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    // The queue trigger reads the queue the fleet's timer writes to.
    queueTransportOf: currentFleetQueueTransport,
    queueOptions: readQueueHostOptions(appRoot),
    port,
    settings: demoEnv,
    ...(demoPace ? { scheduleOverrides: { probeTimer: DEMO_SCHEDULE } } : {}),
    log: (line) => console.log(line),
  });

  try {
    await getFleet();
    await host.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'EADDRINUSE'
        ? `port ${port} is already in use (EADDRINUSE): stop what listens there or set ${portSetting} to a free port (0 = any free port)`
        : code === 'EACCES'
          ? `port ${port} needs privileges to listen on (EACCES): set ${portSetting} to a port above 1023`
          : (error as Error).message;
    console.error(`Cannot start: ${message}`);
    // Close everything start-up opened (store, emulator), so the process exits by itself.
    await host.stop().catch(() => undefined);
    await disposeServices().catch(() => undefined);
    return 3;
  }
  // appStart only begins the start-up step (it must not block a real host); here the URLs are printed once it is done.
  await (await import('../functions/startup')).startupSettled();
  const base = `${host.baseUrl}/api`;
  console.log('');
  console.log(`apim-pool-verifier is running${embedded ? ' on the embedded environment (no Azure)' : ''}.`);
  console.log(`  Report (HTML): ${base}/report?format=html  (add &refresh=30 to reload it every 30 s)`);
  console.log(`  Report (JSON): ${base}/report`);
  console.log(`  Health:        ${base}/health`);
  const fleet = await getFleet();
  const services = fleet.pools[0] as (typeof fleet.pools)[number];
  for (const line of describeTargets(fleet.pools, embeddedEnv !== undefined)) console.log(line);
  // The schedule the timer really runs on: the demo pace, or PROBE_SCHEDULE as the timer resolved it.
  const schedule = demoPace ? DEMO_SCHEDULE : resolveProbeSchedule(demoEnv);
  console.log(
    `  Probing:       ${describeSchedule(schedule)}${demoPace ? ' (demo pace; set PROBE_SCHEDULE to change it)' : ' (PROBE_SCHEDULE)'}, up to ${fleet.settings.probe.maxRequests} probes a run${fleet.pools.length > 1 ? ' per pool' : ''}.`,
  );
  if (embeddedEnv) {
    console.log(`  Emulator:      control ${embeddedEnv.controlUrl}/state`);
    console.log(
      `  The demo throttles one region${fleet.pools.length > 1 ? ` of pool ${services.declaredPool.name}` : ''}, then heals it, and narrates what the verifier observes. Ctrl+C stops.`,
    );
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
          const finished = (await services.state.recentRuns(services.declaredPool.name, 10)).filter((run) => run.state !== 'running');
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

/** Console lines at most for the pools (a fleet may hold hundreds; the overview lists them all). */
const LISTED_POOLS = 10;

/** Where each pool's probes go, in words: the embedded gateway, or a real gateway's origin (never a key or a path). */
function describeTargets(pools: readonly { readonly declaredPool: { readonly name: string }; readonly gateway: { readonly url: string }; readonly embedded: unknown }[], embedded: boolean): string[] {
  const describe = (pool: (typeof pools)[number]): string => {
    let origin = 'the APIM gateway of its definition';
    try {
      origin = new URL(pool.gateway.url).origin;
    } catch {
      // Checked when settings were read; kept as words if it ever is not a URL.
    }
    return pool.embedded !== undefined
      ? `the embedded APIM emulator at ${pool.gateway.url} (loopback, simulated Azure OpenAI; no Azure)`
      : `the APIM gateway ${origin} (a real service: probes cost tokens)`;
  };
  const [only] = pools;
  if (pools.length === 1 && only !== undefined) return [`  Probes go to:  ${describe(only)}`];
  const lines = [`  Pools:         ${pools.length}${embedded ? ', each behind its own API on the embedded APIM emulator where no gateway is set' : ''}`];
  for (const pool of pools.slice(0, LISTED_POOLS)) lines.push(`    ${pool.declaredPool.name}: ${describe(pool)}`);
  if (pools.length > LISTED_POOLS) lines.push(`    … and ${pools.length - LISTED_POOLS} more (see the report's fleet overview)`);
  return lines;
}

if (require.main === module) {
  main().then(
    (code) => {
      // exit(), not exitCode: a start-up failure must end the process even if a dependency left a handle open.
      if (code !== undefined) process.exit(code);
    },
    (error: unknown) => {
      // Every start-up failure is a configuration problem the user fixes (README: exit codes).
      console.error(`Cannot start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(3);
    },
  );
}
