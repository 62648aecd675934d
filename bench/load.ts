import autocannon from 'autocannon';
import { startReportHost } from './reportHost';

const CONNECTIONS = 50;
const DURATION_IN_SECONDS = 30;
const RUNS = 96;
const PROBES_PER_RUN = 60;
/** Generous per-request timeout, so slow answers are measured as latency rather than counted as errors. */
const REQUEST_TIMEOUT_IN_SECONDS = 30;

/**
 * Load on the report endpoint: the real registered functions served by the local Functions host on loopback,
 * a file-based store pre-filled with `RUNS × PROBES_PER_RUN` probes over the last day, then `CONNECTIONS` concurrent
 * clients (autocannon) for `DURATION_IN_SECONDS` on `GET /api/report`. Reports errors, latency p50/p99 and requests/s.
 */
export async function run(): Promise<string> {
  const bench = await startReportHost({ prefill: { runs: RUNS, probesPerRun: PROBES_PER_RUN } });
  try {
    const url = bench.reportUrl;
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
    await bench.close();
  }
}
