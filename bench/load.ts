import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startEmbeddedEnvironment } from '../src/emulator/startEmbeddedEnvironment';
import { installFunctionsCoreShim } from '../src/local/functionsCoreShim';
import type { ProbeRecord } from '../src/lib/probe/types';
import { createRandom } from '../src/lib/stats/random';
import { findAppRoot } from './findAppRoot';

const CONNECTIONS = 50;
const DURATION_IN_SECONDS = 30;
const RUNS = 96;
const PROBES_PER_RUN = 60;
const HOUR_IN_MS = 3_600_000;
/** Generous per-request timeout, so slow answers are measured as latency rather than counted as errors. */
const REQUEST_TIMEOUT_IN_SECONDS = 30;

/** A seeded uniform stream (mulberry32, shared with the statistics simulations). */
const seededRandom = (seed: number): (() => number) => createRandom(seed).next;

/**
 * Load on the report endpoint: the real registered functions served by the local Functions host on loopback,
 * a file-based store pre-filled with `RUNS × PROBES_PER_RUN` probes over the last day, then `CONNECTIONS` concurrent
 * clients (autocannon) for `DURATION_IN_SECONDS` on `GET /api/report`. Reports errors, latency p50/p99 and requests/s.
 */
export async function run(): Promise<string> {
  const shim = installFunctionsCoreShim();
  const appRoot = findAppRoot(__dirname);
  const [{ LocalFunctionsHost }, { configureServicesExplicitly }, { createServices }, { getServices, disposeServices }] = await Promise.all([
    import('../src/local/LocalFunctionsHost'),
    import('../src/app/defaultServices'),
    import('../src/app/createServices'),
    import('../src/app/appState'),
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-load-'));
  const env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 17 });
  configureServicesExplicitly(() => createServices({ STORE_PATH: path.join(dir, 'load.sqlite'), REPORT_PRIMARY_WINDOW: 'hour' }, { appRoot, embedded: env }));
  await import('../src/functions/startup');
  await import('../src/functions/probeTimer');
  await import('../src/functions/report');
  await import('../src/functions/health');
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    port: 0,
    // No timer run during the measurement: only the report endpoint is loaded.
    scheduleOverrides: { probeTimer: '0 0 0 1 1 *' },
    log: () => undefined,
  });
  try {
    const services = await getServices();
    const pool = services.declaredPool;
    const store = services.localStore;
    if (!store) throw new Error('the load bench needs the local environment (a SQLite store)');
    const random = seededRandom(17);
    const nowMs = Date.now();
    for (let r = 0; r < RUNS; r += 1) {
      const runId = `load-run-${r}`;
      const startedAtMs = nowMs - 23 * HOUR_IN_MS + Math.floor((r * 23 * HOUR_IN_MS) / RUNS);
      await store.beginRun({ runId, pool: services.scope.key(pool.name), startedAtMs, trigger: 'timer' });
      const records: ProbeRecord[] = Array.from({ length: PROBES_PER_RUN }, (_, probeIndex) => {
        const west = random() < 2 / 3;
        return {
          runId,
          probeIndex,
          startedAtMs: startedAtMs + probeIndex * 100,
          latencyInMs: 200 + Math.floor(random() * 400),
          kind: 'ok',
          status: 200,
          backend: west ? 'openai-instance1' : 'openai-instance2',
          identifierValue: west ? 'West US' : 'East US',
          totalTokens: 9,
          errorCode: null,
        };
      });
      store.insertProbes(records);
      await store.finishRun({ runId, finishedAtMs: startedAtMs + PROBES_PER_RUN * 100, state: 'complete', probesSent: PROBES_PER_RUN, tokensUsed: 9 * PROBES_PER_RUN, verdict: 'ok', stoppedEarly: false });
    }
    await host.start();
    const url = `${host.baseUrl}/api/report`;
    const single = Date.now();
    const first = await fetch(url);
    const singleInMs = Date.now() - single;
    if (first.status !== 200) throw new Error(`GET /api/report answered ${first.status}`);
    const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_IN_SECONDS, timeout: REQUEST_TIMEOUT_IN_SECONDS });
    const errors = result.errors + result.timeouts + result.non2xx;
    return [
      '## load',
      '',
      `\`GET /api/report\` (JSON, headline window hour) served by the real functions on the local Functions host, loopback; store pre-filled with ${RUNS} runs × ${PROBES_PER_RUN} probes (${RUNS * PROBES_PER_RUN} probes over the last day); ${CONNECTIONS} concurrent clients for ${DURATION_IN_SECONDS} s (autocannon, per-request timeout ${REQUEST_TIMEOUT_IN_SECONDS} s).`,
      '',
      '| figure | value |',
      '|---|---|',
      `| requests completed | ${result.requests.total} |`,
      `| errors (connection errors + timeouts + non-2xx) | ${errors} (${result.errors} + ${result.timeouts} + ${result.non2xx}) |`,
      `| requests/s (mean) | ${result.requests.average.toFixed(1)} |`,
      `| latency p50 | ${result.latency.p50} ms |`,
      `| latency p99 | ${result.latency.p99} ms |`,
      `| latency mean | ${result.latency.average.toFixed(0)} ms |`,
      `| latency max | ${result.latency.max} ms |`,
      `| one report alone, before the load | ${singleInMs} ms |`,
      '',
      `Each report is built on the one event loop (CPU-bound), so throughput ≈ 1 / (time of one report) and mean latency ≈ ${CONNECTIONS} / throughput = ${(CONNECTIONS / Math.max(0.001, result.requests.average)).toFixed(1)} s; p99 far above the mean means some clients waited much longer than others.`,
    ].join('\n');
  } finally {
    await host.stop();
    await disposeServices();
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
