import { performance } from 'node:perf_hooks';
import { createHttpHeaders, type HttpClient, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { LogsQueryClient } from '@azure/monitor-query-logs';
import path from 'node:path';
import { loadPoolDefinition } from '../src/lib/pool/loadPoolDefinition';
import type { ResolvedPool } from '../src/lib/pool/types';
import { findAppRoot } from './findAppRoot';
import type { EvidenceSource } from '../src/lib/store/types';
import { createLogsEvidenceSource } from '../src/lib/telemetry/createLogsEvidenceSource';
import { createSharedEvidenceSource } from '../src/lib/telemetry/createSharedEvidenceSource';
import { QUERY_COLUMNS, queryNameOf } from '../src/lib/telemetry/queries';

const CLIENTS = 50;
const DURATION_IN_MS = 30_000;
/** The baseline without sharing: this many clients, one report each (queued behind the 5-query limit). */
const BASELINE_CLIENTS = 10;
const ANSWER_DELAY_IN_MS = 1_000;
const CACHE_INTERVAL_IN_MS = 60_000;
const HOUR = 3_600_000;
const WORKSPACE_ID = '5e2b8a56-9f0e-4c1e-8f3a-0d2b7c6e4a11';

/** The queries one report reads: the hour and the day windows, 5 queries each (run states, then 4 counts). */
const QUERIES_PER_REPORT = 10;


/**
 * A fake Log Analytics service in process (an `HttpClient` for `LogsQueryClient`, so no TLS set-up is needed):
 * every query is answered after `ANSWER_DELAY_IN_MS` with an empty table of the right columns. Counts queries.
 */
function slowLogsService(): HttpClient & { queries: number; concurrentMax: number } {
  let inFlight = 0;
  const service = {
    queries: 0,
    concurrentMax: 0,
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      service.queries += 1;
      inFlight += 1;
      service.concurrentMax = Math.max(service.concurrentMax, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, ANSWER_DELAY_IN_MS));
        const body = JSON.parse(String(request.body)) as { query: string };
        const name = queryNameOf(body.query);
        const columns = name === null ? [] : QUERY_COLUMNS[name].map((column) => ({ name: column, type: 'string' }));
        return {
          request,
          status: 200,
          headers: createHttpHeaders({ 'content-type': 'application/json' }),
          bodyAsText: JSON.stringify({ tables: [{ name: 'PrimaryResult', columns, rows: [] }] }),
        };
      } finally {
        inFlight -= 1;
      }
    },
  };
  return service;
}

function logsSource(pool: ResolvedPool, httpClient: HttpClient): EvidenceSource {
  const credential = { getToken: async () => ({ token: 'bench-token', expiresOnTimestamp: Date.now() + HOUR }) };
  const client = new LogsQueryClient(credential, { endpoint: 'https://logs.bench.invalid/v1', httpClient, retryOptions: { maxRetries: 0 } });
  return createLogsEvidenceSource({
    client,
    target: { kind: 'workspace', workspaceId: WORKSPACE_ID },
    pool,
    cloudRoleName: 'apim-pool-verifier',
    apimService: 'apim-bench',
    timeoutInMs: 30_000,
  });
}

/** `CLIENTS` loops, each reading the hour and day windows back to back (one "report"), until the deadline. */
async function load(
  pool: ResolvedPool,
  source: EvidenceSource,
  durationInMs: number,
  clients = CLIENTS,
): Promise<{ reports: number; errors: number; latencies: number[]; elapsedInMs: number }> {
  const begun = performance.now();
  const deadline = begun + durationInMs;
  const latencies: number[] = [];
  let errors = 0;
  const client = async (): Promise<void> => {
    do {
      const started = performance.now();
      const nowMs = Date.now();
      try {
        await Promise.all([
          source.readWindow(pool.name, { fromMs: nowMs - HOUR, toMs: nowMs }, 300_000),
          source.readWindow(pool.name, { fromMs: nowMs - 24 * HOUR, toMs: nowMs }, 3_600_000),
        ]);
        latencies.push(performance.now() - started);
      } catch {
        errors += 1;
      }
    } while (performance.now() < deadline);
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { reports: latencies.length, errors, latencies, elapsedInMs: performance.now() - begun };
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * The report's evidence under load, against a Logs service that takes 1 s per query: 50 concurrent clients for
 * 30 s through the shared (single-flight, 60-s interval) evidence source, beside a 5-s baseline without sharing.
 */
export async function run(): Promise<string> {
  const pool = await loadPoolDefinition(path.join(findAppRoot(__dirname), 'examples', 'lab-pool.json'));
  const shared = slowLogsService();
  const sharedSource = createSharedEvidenceSource(logsSource(pool, shared), { intervalInMs: CACHE_INTERVAL_IN_MS });
  const withCache = await load(pool, sharedSource, DURATION_IN_MS);
  const intervals = Math.ceil(DURATION_IN_MS / CACHE_INTERVAL_IN_MS);

  const direct = slowLogsService();
  // Duration 0: every client sends exactly one report.
  const baseline = await load(pool, logsSource(pool, direct), 0, BASELINE_CLIENTS);

  const fmt = (ms: number): string => (Number.isFinite(ms) ? `${Math.round(ms)} ms` : '—');
  const max = (values: number[]): number => values.length === 0 ? NaN : values.reduce((a, b) => Math.max(a, b), -Infinity);
  return [
    '## reportCache',
    '',
    `${CLIENTS} concurrent clients, each reading the report's hour and day windows (${QUERIES_PER_REPORT} Log Analytics queries per report) in a loop, against an in-process fake Logs service that answers every query after ${ANSWER_DELAY_IN_MS} ms.`,
    '',
    '| | clients | elapsed | reports served | errors | queries sent | max concurrent queries | report p50 | report p99 | report max |',
    '|---|---|---|---|---|---|---|---|---|---|',
    `| shared evidence (single flight, ${CACHE_INTERVAL_IN_MS / 1000}-s interval), loop for ${DURATION_IN_MS / 1000} s | ${CLIENTS} | ${(withCache.elapsedInMs / 1000).toFixed(1)} s | ${withCache.reports} | ${withCache.errors} | ${shared.queries} | ${shared.concurrentMax} | ${fmt(percentile(withCache.latencies, 0.5))} | ${fmt(percentile(withCache.latencies, 0.99))} | ${fmt(max(withCache.latencies))} |`,
    `| no sharing (baseline), one report per client | ${BASELINE_CLIENTS} | ${(baseline.elapsedInMs / 1000).toFixed(1)} s | ${baseline.reports} | ${baseline.errors} | ${direct.queries} | ${direct.concurrentMax} | ${fmt(percentile(baseline.latencies, 0.5))} | ${fmt(percentile(baseline.latencies, 0.99))} | ${fmt(max(baseline.latencies))} |`,
    '',
    `Bound: at most one batch (${QUERIES_PER_REPORT} queries) per cache interval; ${DURATION_IN_MS / 1000} s span ${intervals} interval(s), so ≤ ${intervals * QUERIES_PER_REPORT} queries. Measured: ${shared.queries} (${shared.queries <= intervals * QUERIES_PER_REPORT ? 'within' : 'OVER'} the bound). Queries are also held to 5 in flight per client (Log Analytics allows about 5 concurrent queries and 200 per 30 s per user). Cached reports are served from memory, hence the loop's very high report count; the maximum is the first report, which waited for the batch. Without sharing every report costs ${QUERIES_PER_REPORT} queries and queues behind the concurrency limit.`,
  ].join('\n');
}
