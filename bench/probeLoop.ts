import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { ResolvedPool } from '../src/lib/pool/types';
import { runProbes } from '../src/lib/probe/runProbes';

const PROBES_PER_LEVEL = 2_000;
const LEVELS = [1, 4, 16] as const;

const POOL: ResolvedPool = {
  name: 'bench-pool',
  description: undefined,
  apim: undefined,
  backends: [
    { name: 'west', url: 'https://west.example/openai', region: 'West US', priority: 1, weight: 2, identifier: undefined, circuitBreaker: undefined, expectedShare: 2 / 3, isPrimary: true },
    { name: 'east', url: 'https://east.example/openai', region: 'East US', priority: 1, weight: 1, identifier: undefined, circuitBreaker: undefined, expectedShare: 1 / 3, isPrimary: true },
  ],
  probe: { deployment: 'gpt-4o', apiVersion: '2024-02-01', subscriptionKeyHeader: 'api-key', identify: { mode: 'region', header: 'x-ms-region' }, headers: {} },
  gateway: { url: undefined, subscriptionKeySetting: undefined },
  alerts: { webhookUrlSetting: undefined },
};

const BODY = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o',
  choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant', content: 'P' } }],
  usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 },
});

/** A minimal gateway: answers every chat completion at once, 2:1 West US / East US. */
const SERVER_SOURCE = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
let answered = 0;
const server = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    answered += 1;
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(workerData.body),
      'x-ms-region': answered % 3 === 0 ? 'East US' : 'West US',
    });
    response.end(workerData.body);
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

/**
 * Probe throughput of `runProbes` against a minimal http server (in a worker thread) that answers every chat
 * completion at once, at concurrency 1, 4 and 16. Measures the client's own overhead, not a gateway: real probes
 * are bound by gateway and model latency.
 */
export async function run(): Promise<string> {
  // The server runs in a worker thread so it does not share the probe loop's event loop.
  const worker = new Worker(SERVER_SOURCE, { eval: true, workerData: { body: BODY } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: { port: number }) => resolve(message.port));
    worker.once('error', reject);
  });
  const rows: string[] = [];
  try {
    for (const concurrency of LEVELS) {
      const started = performance.now();
      const result = await runProbes({
        gatewayUrl: `http://127.0.0.1:${port}/openai`,
        subscriptionKey: 'bench-key',
        pool: POOL,
        runId: `bench-${concurrency}`,
        maxProbes: PROBES_PER_LEVEL,
        concurrency,
        timeoutInMs: 10_000,
      });
      const elapsedInSeconds = (performance.now() - started) / 1000;
      const latencies = result.records.map((record) => record.latencyInMs).sort((a, b) => a - b);
      const ok = result.records.filter((record) => record.kind === 'ok').length;
      const p50 = latencies[Math.floor(latencies.length / 2)] ?? Number.NaN;
      const p95 = latencies[Math.floor(latencies.length * 0.95)] ?? Number.NaN;
      rows.push(
        `| ${concurrency} | ${result.records.length} | ${ok} | ${elapsedInSeconds.toFixed(2)} | ${Math.round(result.records.length / elapsedInSeconds).toLocaleString('en-US')} | ${p50.toFixed(2)} | ${p95.toFixed(2)} |`,
      );
    }
  } finally {
    await worker.terminate();
  }
  return [
    '## probeLoop — runProbes throughput against a local server (`bench/probeLoop.ts`)',
    '',
    `${PROBES_PER_LEVEL.toLocaleString('en-US')} probes per level; the server (a worker thread) answers immediately; keep-alive connections.`,
    '',
    '| concurrency | probes | ok | seconds | probes/s | latency p50 ms | latency p95 ms |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
