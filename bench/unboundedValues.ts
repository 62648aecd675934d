import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startReportHost } from './reportHost';

const RUNS = 5;
const PROBES_PER_RUN = 3_000;
const VALUE_BYTES = 8 * 1024;

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant', content: 'P' } }],
  usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 },
});

/** A gateway whose identifying header carries a unique 8 KB id on every answer (issue 15, "Unbounded growth"). */
async function startUniqueValueGateway(): Promise<{ url: string; close(): Promise<void> }> {
  let count = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    count += 1;
    response.writeHead(200, { 'content-type': 'application/json', 'x-ms-region': `id-${count}-`.padEnd(VALUE_BYTES, 'x') }).end(COMPLETION);
  });
  server.maxHeadersCount = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/openai`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function fileSize(file: string): number {
  return [file, `${file}-wal`].reduce((sum, f) => sum + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}

/**
 * `RUNS` timer runs of `PROBES_PER_RUN` probes through the real functions, against a gateway whose identifying
 * header is a unique `VALUE_BYTES` value on every answer; after each run, the JSON report (headline window day, so
 * it covers every run) is fetched: its size and build time, the process RSS and the store file size.
 */
export async function run(): Promise<string> {
  const gateway = await startUniqueValueGateway();
  const bench = await startReportHost({
    settings: {
      APIM_GATEWAY_URL: gateway.url,
      APIM_SUBSCRIPTION_KEY: 'bench-key',
      VERIFIER_ENVIRONMENT: 'embedded',
      PROBE_MAX_REQUESTS: String(PROBES_PER_RUN),
      PROBE_CONCURRENCY: '16',
      PROBE_SEQUENTIAL: 'false',
      REPORT_PRIMARY_WINDOW: 'day',
    },
  });
  try {
    const rows: string[] = [];
    for (let r = 1; r <= RUNS; r += 1) {
      const outcome = await bench.host.invokeTimer('probeTimer');
      await bench.host.drainQueues();
      if (outcome.error) throw new Error(`run ${r} failed: ${outcome.error.message}`);
      const started = Date.now();
      const response = await fetch(`${bench.reportUrl}?window=day`);
      const body = await response.text();
      const reportInMs = Date.now() - started;
      if (response.status !== 200) throw new Error(`GET /api/report answered ${response.status}`);
      const report = JSON.parse(body) as { unidentified: { count: number; values: Record<string, number>; otherAnswers?: number } };
      const rssInMb = process.memoryUsage().rss / 2 ** 20;
      rows.push(
        `| ${r} | ${report.unidentified.count} | ${Object.keys(report.unidentified.values).length} | ${report.unidentified.otherAnswers ?? 0} | ${(body.length / 1024).toFixed(1)} KB | ${reportInMs} ms | ${rssInMb.toFixed(0)} MB | ${(fileSize(bench.storePath) / 2 ** 20).toFixed(1)} MB |`,
      );
    }
    return [
      '## unbounded-values',
      '',
      `${RUNS} timer runs × ${PROBES_PER_RUN} probes through the real functions against a gateway whose \`x-ms-region\` is a unique ${VALUE_BYTES / 1024} KB value on every answer (every answer unidentified); after each run, \`GET /api/report?window=day\` (JSON). Before the bound, the same input made the report 119 MB (issue 15).`,
      '',
      '| after run | unidentified answers in the day | values listed | answers under other values | report size | report time | RSS | store file (+WAL) |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
  } finally {
    await bench.close();
    await gateway.close();
  }
}
