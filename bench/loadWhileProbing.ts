import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { startReportHost } from './reportHost';

const CONNECTIONS = 50;
const IDLE_SECONDS = 15;
const LOADED_SECONDS = 30;
const PROBES_PER_RUN = 3_000;
const CONCURRENCY = 16;
/** A client that waits this long counts as an error (a user would have given up). */
const REQUEST_TIMEOUT_IN_SECONDS = 10;

interface Phase {
  readonly requests: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly loopDelayP99InMs: number;
  readonly loopDelayMaxInMs: number;
}

async function measure(url: string, seconds: number): Promise<Phase> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, timeout: REQUEST_TIMEOUT_IN_SECONDS });
  loop.disable();
  return {
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
    perSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    loopDelayP99InMs: loop.percentile(99) / 1e6,
    loopDelayMaxInMs: loop.max / 1e6,
  };
}

/**
 * `GET /api/report` while the timer probes at full rate (issue 15, "Load while probing"): the real functions on the
 * local Functions host, the embedded lab answering without simulated latency, a file store pre-filled with a day
 * of runs. First `CONNECTIONS` clients for `IDLE_SECONDS` with no run (the idle baseline), then the same load for
 * `LOADED_SECONDS` while probe runs of `PROBES_PER_RUN` at concurrency `CONCURRENCY` follow each other back to back
 * (so the whole loaded phase is "while probing"). Event-loop delay is sampled in both phases.
 */
export async function run(): Promise<string> {
  const bench = await startReportHost({
    prefill: { runs: 96, probesPerRun: 60 },
    settings: { PROBE_MAX_REQUESTS: String(PROBES_PER_RUN), PROBE_CONCURRENCY: String(CONCURRENCY), PROBE_SEQUENTIAL: 'false' },
  });
  try {
    const first = await fetch(bench.reportUrl);
    if (first.status !== 200) throw new Error(`GET /api/report answered ${first.status}`);
    await first.arrayBuffer();
    const idle = await measure(bench.reportUrl, IDLE_SECONDS);

    let probing = true;
    let runs = 0;
    const loadStartedAtMs = Date.now();
    const runner = (async () => {
      while (probing) {
        runs += 1;
        const outcome = await bench.host.invokeTimer('probeTimer');
      await bench.host.drainQueues();
        if (outcome.error) throw new Error(`the probe run failed: ${outcome.error.message}`);
      }
    })();
    const loaded = await measure(bench.reportUrl, LOADED_SECONDS);
    const probes = bench.services.localStore!.readWindowSync(bench.services.scope.key(bench.services.declaredPool.name), { fromMs: loadStartedAtMs, toMs: Date.now() + 1 }, 60_000).total;
    probing = false;
    await runner;

    const ratio = idle.p99 > 0 ? loaded.p99 / idle.p99 : Number.NaN;
    const row = (name: string, p: Phase): string =>
      `| ${name} | ${p.requests} | ${p.errors} | ${p.perSecond.toFixed(1)} | ${p.p50} ms | ${p.p99} ms | ${p.max} ms | ${p.loopDelayP99InMs.toFixed(0)} ms | ${p.loopDelayMaxInMs.toFixed(0)} ms |`;
    return [
      '## load-while-probing',
      '',
      `\`GET /api/report\` (JSON, headline window hour; store pre-filled with 96 × 60 probes over the last day) from ${CONNECTIONS} concurrent clients (autocannon, per-request timeout ${REQUEST_TIMEOUT_IN_SECONDS} s): ${IDLE_SECONDS} s idle, then ${LOADED_SECONDS} s while the timer probes the embedded lab (no simulated latency) with runs of ${PROBES_PER_RUN} probes at concurrency ${CONCURRENCY}, back to back: ${probes} probes recorded during those ${LOADED_SECONDS} s (${runs} run(s) started, the last one finished after the load).`,
      '',
      '| phase | requests | errors | requests/s | p50 | p99 | max | event-loop delay p99 | event-loop delay max |',
      '|---|---|---|---|---|---|---|---|---|',
      row('idle', idle),
      row('while probing', loaded),
      '',
      `p99 while probing / p99 idle = ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'} (target ≤ 2, with 0 errors).`,
    ].join('\n');
  } finally {
    await bench.close();
  }
}
