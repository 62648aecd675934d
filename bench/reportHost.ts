import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../src/emulator/startEmbeddedEnvironment';
import { installFunctionsCoreShim } from '../src/local/functionsCoreShim';
import type { Services } from '../src/app/createServices';
import type { LocalFunctionsHost } from '../src/local/LocalFunctionsHost';
import type { ProbeRecord } from '../src/lib/probe/types';
import { createRandom } from '../src/lib/stats/random';
import { findAppRoot } from './findAppRoot';

const HOUR_IN_MS = 3_600_000;

/** The real registered functions on the local Functions host (loopback), a file store, the embedded lab. */
export interface ReportHost {
  readonly host: LocalFunctionsHost;
  readonly services: Services;
  readonly env: EmbeddedEnvironment;
  /** `GET /api/report` on the host. */
  readonly reportUrl: string;
  /** The store file (for size figures). */
  readonly storePath: string;
  close(): Promise<void>;
}

/**
 * Starts the embedded lab and the local Functions host with the real functions, a file-based store in a temporary
 * directory and `settings` on top; the probe timer never fires by itself (benchmarks invoke it). With
 * `prefill`, the store first gets `runs × probesPerRun` seeded probes spread over the last day.
 */
export async function startReportHost(options: {
  readonly settings?: Readonly<Record<string, string>>;
  readonly prefill?: { readonly runs: number; readonly probesPerRun: number };
  readonly latencyScale?: number;
}): Promise<ReportHost> {
  const shim = installFunctionsCoreShim();
  const appRoot = findAppRoot(__dirname);
  const [{ LocalFunctionsHost }, { configureServicesExplicitly }, { createServices }, { getServices, disposeServices }, { currentFleetQueueTransport }] = await Promise.all([
    import('../src/local/LocalFunctionsHost'),
    import('../src/app/defaultServices'),
    import('../src/app/createServices'),
    import('../src/app/appState'),
    import('../src/local/fleetQueueTransport'),
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-bench-'));
  const storePath = path.join(dir, 'bench.sqlite');
  const env = await startEmbeddedEnvironment({ port: 0, latencyScale: options.latencyScale ?? 0, seed: 17 });
  await disposeServices();
  configureServicesExplicitly(() => createServices({ STORE_PATH: storePath, REPORT_PRIMARY_WINDOW: 'hour', ...options.settings }, { appRoot, embedded: env }));
  await import('../src/functions/startup');
  await import('../src/functions/probeTimer');
  await import('../src/functions/probePool');
  await import('../src/functions/report');
  await import('../src/functions/health');
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    port: 0,
    // The timer runs only when a benchmark invokes it.
    scheduleOverrides: { probeTimer: '0 0 0 1 1 *' },
    // The queue trigger reads the fleet's own in-process queue (resolved when the host starts, after the fleet is built).
    queueTransportOf: currentFleetQueueTransport,
    log: () => undefined,
  });
  const close = async (): Promise<void> => {
    await host.stop();
    await disposeServices();
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const services = await getServices();
    if (options.prefill) await prefillStore(services, options.prefill.runs, options.prefill.probesPerRun);
    await host.start();
    return { host, services, env, reportUrl: `${host.baseUrl}/api/report`, storePath, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `runs × probesPerRun` seeded answers (2:1 between the lab's two backends) spread over the last 23 hours. */
async function prefillStore(services: Services, runs: number, probesPerRun: number): Promise<void> {
  const pool = services.declaredPool;
  const store = services.localStore;
  if (!store) throw new Error('the report benchmarks need the local environment (a SQLite store)');
  const random = createRandom(17).next;
  const nowMs = Date.now();
  for (let r = 0; r < runs; r += 1) {
    const runId = `load-run-${r}`;
    const startedAtMs = nowMs - 23 * HOUR_IN_MS + Math.floor((r * 23 * HOUR_IN_MS) / runs);
    await store.beginRun({ runId, pool: services.scope.key(pool.name), startedAtMs, trigger: 'timer' });
    const records: ProbeRecord[] = Array.from({ length: probesPerRun }, (_, probeIndex) => {
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
    await store.finishRun({ runId, finishedAtMs: startedAtMs + probesPerRun * 100, state: 'complete', probesSent: probesPerRun, tokensUsed: 9 * probesPerRun, verdict: 'ok', stoppedEarly: false });
  }
}
