import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { startEmbeddedFleet } from '../src/emulator/startEmbeddedFleet';
import { installFunctionsCoreShim } from '../src/local/functionsCoreShim';
import { findAppRoot } from './findAppRoot';

/** Pools in the fleet (issue 17 names 50). */
const POOLS = 50;
/** Distinct simulated Azure OpenAI resources the pools draw their members from (one region each). */
const REGIONS = ['West US', 'East US', 'East US 2', 'North Central US', 'South Central US', 'Sweden Central', 'France Central', 'Japan East'];
const TICKS = 4;
const CLIENTS = 50;
const LOAD_SECONDS = 15;
/** Simulated Azure OpenAI latency: 0.1 × (median 400 ms, p95 1200 ms). */
const LATENCY_SCALE = 0.1;

/**
 * Pool `index`'s definition: 2, 3 or 4 members in turn, weights 2:1(:1:1), and every fifth pool with its last
 * member as a priority-2 backup. Members are hosts of distinct regions, so `x-ms-region` tells them apart.
 */
function definitionOf(index: number): unknown {
  const size = 2 + (index % 3);
  const backup = index % 5 === 4;
  const backends = Array.from({ length: size }, (_, m) => {
    const region = (index + m) % REGIONS.length;
    const isBackup = backup && m === size - 1;
    return {
      name: `fleet${index}-m${m}`,
      url: `https://aoai-bench-${region}.openai.azure.com/openai`,
      region: REGIONS[region],
      priority: isBackup ? 2 : 1,
      ...(isBackup ? {} : { weight: m === 0 ? 2 : 1 }),
    };
  });
  return { pool: { name: `fleet-pool-${String(index).padStart(2, '0')}`, backends }, probe: { deployment: 'gpt-4o' } };
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/**
 * Heap in use after a full collection when `npm run bench` exposes it (`--expose-gc`), else as it stands. The
 * emulator's access log (bounded at 100,000 entries, ~1 KB each) is cleared first: it lives in this process too,
 * and its growth is the emulator's, not the verifier's.
 */
function heapUsed(emulator: { readonly accessLog: { clear(): void } } | undefined): { readonly bytes: number; readonly collected: boolean } {
  emulator?.accessLog.clear();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return { bytes: process.memoryUsage().heapUsed, collected: gc !== undefined };
}

/**
 * `fleet`: 50 pools on the embedded environment (one API each on one emulated APIM service), the real registered
 * functions on the local Functions host: start-up deploys all of them through the emulated ARM, then each timer tick
 * queues one message per pool and the probePool queue trigger runs them (the in-process queue, batchSize 16 as in
 * host.json). Reported: wall time and probes/s per tick, runs finished, memory after each tick; then the fleet overview
 * (`GET /api/report`, JSON) under 50 concurrent clients.
 */
export async function run(): Promise<string> {
  const shim = installFunctionsCoreShim();
  const appRoot = findAppRoot(__dirname);
  const [{ LocalFunctionsHost }, { configureServicesExplicitly }, { createFleet }, { getFleet, disposeServices }, { currentFleetQueueTransport }, { readQueueHostOptions }] =
    await Promise.all([
      import('../src/local/LocalFunctionsHost'),
      import('../src/app/defaultServices'),
      import('../src/app/createFleet'),
      import('../src/app/appState'),
      import('../src/local/fleetQueueTransport'),
      import('../src/local/chooseQueueTransport'),
    ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-bench-fleet-'));
  const definitions = path.join(dir, 'pools');
  fs.mkdirSync(definitions);
  for (let index = 0; index < POOLS; index++) {
    fs.writeFileSync(path.join(definitions, `pool-${String(index).padStart(2, '0')}.json`), JSON.stringify(definitionOf(index)));
  }
  let emulator: Awaited<ReturnType<typeof startEmbeddedFleet>> | undefined;
  await disposeServices();
  configureServicesExplicitly(() =>
    createFleet(
      { POOL_DEFINITION_PATH: definitions, STORE_PATH: path.join(dir, 'bench.sqlite'), REPORT_PRIMARY_WINDOW: 'run' },
      {
        appRoot,
        startEmbedded: async (entries) => {
          emulator = await startEmbeddedFleet(entries, { port: 0, latencyScale: LATENCY_SCALE, seed: 23 });
          const [first] = emulator.apis;
          return { ...emulator, gatewayUrl: first?.gatewayUrl ?? '' };
        },
      },
    ),
  );
  await import('../src/functions/startup');
  await import('../src/functions/probeTimer');
  await import('../src/functions/probePool');
  await import('../src/functions/report');
  await import('../src/functions/health');
  const { startupSettled } = await import('../src/functions/startup');
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    port: 0,
    // The timer runs only when the benchmark invokes it.
    scheduleOverrides: { probeTimer: '0 0 0 1 1 *' },
    queueTransportOf: currentFleetQueueTransport,
    queueOptions: readQueueHostOptions(appRoot),
    log: () => undefined,
  });
  try {
    const startupBegun = performance.now();
    const fleet = await getFleet();
    await host.start();
    await startupSettled();
    const startupInMs = performance.now() - startupBegun;
    const deployed = (await Promise.all(fleet.pools.map((pool) => pool.state.lastDeployOutcome(pool.declaredPool.name)))).filter((outcome) => outcome?.status === 'succeeded').length;

    const rows: string[] = [];
    let lastRuns = 0;
    const baseline = heapUsed(emulator);
    for (let tick = 1; tick <= TICKS; tick++) {
      const begun = performance.now();
      await host.invokeTimer('probeTimer');
      await host.drainQueues();
      const wallInMs = performance.now() - begun;
      const latest = await Promise.all(fleet.pools.map(async (pool) => (await pool.state.recentRuns(pool.declaredPool.name, 1))[0]));
      const finished = latest.filter((run) => run?.state === 'complete' && run.startedAtMs >= Date.now() - wallInMs - 1_000);
      const probes = finished.reduce((sum, run) => sum + (run?.probesSent ?? 0), 0);
      const heap = heapUsed(emulator);
      lastRuns = finished.length;
      const growth = heap.bytes - baseline.bytes;
      rows.push(
        `| ${tick} | ${finished.length} of ${POOLS} | ${(wallInMs / 1000).toFixed(1)} s | ${probes} | ${(probes / (wallInMs / 1000)).toFixed(0)} | ${mib(heap.bytes)} | ${growth >= 0 ? '+' : '−'}${mib(Math.abs(growth))} |`,
      );
    }

    const url = `${host.baseUrl}/api/report`;
    const first = await fetch(url);
    if (first.status !== 200) throw new Error(`GET /api/report answered ${first.status}`);
    const overview = (await first.json()) as { pools: unknown[] };
    const load = await autocannon({ url, connections: CLIENTS, duration: LOAD_SECONDS, timeout: 30 });
    const errors = load.errors + load.timeouts + load.non2xx;
    const shape = [2, 3, 4].map((size) => `${Array.from({ length: POOLS }, (_, i) => i).filter((i) => 2 + (i % 3) === size).length} × ${size} members`).join(', ');
    return [
      '## fleet',
      '',
      `${POOLS} pools (${shape}; ${Array.from({ length: POOLS }, (_, i) => i).filter((i) => i % 5 === 4).length} of them with a priority-2 backup) in one folder of definitions, on the embedded environment: one API per pool on one emulated APIM service, ${REGIONS.length} simulated Azure OpenAI resources, latency scale ${LATENCY_SCALE} (median 40 ms), the real functions on the local Functions host, the in-process queue with host.json's batchSize 16 / newBatchThreshold 8, PROBE_MAX_REQUESTS 100, PROBE_CONCURRENCY 16, the sequential test on.`,
      '',
      `Start-up (deploy of every pool through the emulated ARM, 4 at a time): ${(startupInMs / 1000).toFixed(1)} s, ${deployed} of ${POOLS} deployed.`,
      '',
      `| tick | runs finished | wall time (timer → last run done) | probes | probes/s | heap used after${baseline.collected ? ' (after a full GC)' : ''} | heap vs before the first tick |`,
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Each tick queues ${POOLS} messages; the queue trigger runs up to 24 pools at once (16 + 8), each pool its own run lease. Heap before the first tick: ${mib(baseline.bytes)}${baseline.collected ? ' (after a full GC; every heap figure is measured after one)' : ' (no --expose-gc: heap figures include garbage not yet collected)'}, with the emulator's access log (which shares this process) cleared before each measurement; the last column shows whether the verifier's memory grows with ticks.`,
      '',
      `Fleet overview (\`GET /api/report\` without \`?pool=\`, JSON, ${overview.pools.length} rows) under ${CLIENTS} concurrent clients for ${LOAD_SECONDS} s (autocannon):`,
      '',
      '| figure | value |',
      '|---|---|',
      `| requests completed | ${load.requests.total} |`,
      `| errors (connection errors + timeouts + non-2xx) | ${errors} (${load.errors} + ${load.timeouts} + ${load.non2xx}) |`,
      `| requests/s (mean) | ${load.requests.average.toFixed(1)} |`,
      `| latency p50 | ${load.latency.p50} ms |`,
      `| latency p99 | ${load.latency.p99} ms |`,
      `| latency max | ${load.latency.max} ms |`,
      '',
      `Concurrent viewers share one overview build per second (and each pool report is cached), so the overview costs about one build of ${POOLS} pool reports per second however many clients ask.${lastRuns === POOLS ? '' : ` Note: only ${lastRuns} of ${POOLS} runs finished in the last tick.`}`,
    ].join('\n');
  } finally {
    await host.stop();
    await disposeServices();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
