import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../src/emulator';

const REQUESTS = 2000;
const WARM_UP = 200;
const CONCURRENCY = 16;
const TIME_LIMIT_IN_MS = 60_000;
const BODY = JSON.stringify({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 5 });

interface Measurement {
  readonly completed: number;
  readonly failed: number;
  readonly elapsedInMs: number;
  readonly latenciesInMs: number[];
}

function post(agent: Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY), ...headers } },
      (incoming) => {
        incoming.resume();
        incoming.on('end', () => resolve(incoming.statusCode ?? 0));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(BODY);
  });
}

/** Sends `count` requests with `CONCURRENCY` workers; stops early at the time limit. */
async function measure(url: URL, headers: Record<string, string>, count: number): Promise<Measurement> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latenciesInMs: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count && performance.now() - started < TIME_LIMIT_IN_MS) {
      next += 1;
      const sent = performance.now();
      try {
        const status = await post(agent, url, headers);
        if (status !== 200) failed += 1;
      } catch {
        failed += 1;
      }
      latenciesInMs.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsedInMs = performance.now() - started;
  agent.destroy();
  return { completed: latenciesInMs.length, failed, elapsedInMs, latenciesInMs: latenciesInMs.sort((a, b) => a - b) };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function deployLabPool(env: EmbeddedEnvironment): Promise<void> {
  const { subscriptionId, resourceGroup, serviceName } = env.apim;
  const service = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ApiManagement/service/${serviceName}`;
  const put = async (name: string, properties: unknown): Promise<void> => {
    const response = await fetch(`${env.armEndpoint}${service}/backends/${name}?api-version=2024-05-01`, {
      method: 'PUT',
      headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
      body: JSON.stringify({ properties }),
    });
    if (!response.ok) throw new Error(`PUT ${name} answered ${response.status}`);
  };
  await put('openai-instance1', { url: 'https://aoai-nov26-instance1.openai.azure.com/openai', protocol: 'http' });
  await put('openai-instance2', { url: 'https://aoai-nov26-instance2.openai.azure.com/openai', protocol: 'http' });
  await put('openai-instance-backend-pool', {
    type: 'Pool',
    pool: { services: [{ id: `${service}/backends/openai-instance1`, priority: 1, weight: 2 }, { id: `${service}/backends/openai-instance2`, priority: 1, weight: 1 }] },
  });
}

/**
 * Gateway overhead: the same simulated Azure OpenAI resources called directly on loopback and through the
 * emulated APIM gateway (subscription key check, pool selection, breakers, retry wrapper, forward),
 * 2,000 requests at concurrency 16 each way after a warm-up, simulated latency off. One run; a ratio.
 */
export async function run(): Promise<string> {
  const quota = { requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000, deployments: ['gpt-4o'] };
  const env = await startEmbeddedEnvironment({
    latencyScale: 0,
    seed: 1,
    resources: [
      { host: 'aoai-nov26-instance1.openai.azure.com', region: 'West US', ...quota },
      { host: 'aoai-nov26-instance2.openai.azure.com', region: 'East US', ...quota },
    ],
  });
  try {
    await deployLabPool(env);
    const direct = new URL(`${env.simulatorUrl('aoai-nov26-instance1.openai.azure.com') ?? ''}/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01`);
    const viaGateway = new URL(`${env.gatewayUrl}/deployments/gpt-4o/chat/completions?api-version=2024-02-01`);
    const directHeaders = { 'api-key': 'bench' };
    const gatewayHeaders = { 'api-key': env.subscriptionKey };
    await measure(direct, directHeaders, WARM_UP);
    await measure(viaGateway, gatewayHeaders, WARM_UP);
    const directResult = await measure(direct, directHeaders, REQUESTS);
    const gatewayResult = await measure(viaGateway, gatewayHeaders, REQUESTS);
    const row = (name: string, m: Measurement): string =>
      `| ${name} | ${m.completed} | ${m.failed} | ${((m.completed * 1000) / m.elapsedInMs).toFixed(0)} | ${percentile(m.latenciesInMs, 0.5).toFixed(2)} | ${percentile(m.latenciesInMs, 0.95).toFixed(2)} | ${percentile(m.latenciesInMs, 0.99).toFixed(2)} |`;
    const throughputRatio = (gatewayResult.completed / gatewayResult.elapsedInMs) / (directResult.completed / directResult.elapsedInMs);
    const addedMedianInMs = percentile(gatewayResult.latenciesInMs, 0.5) - percentile(directResult.latenciesInMs, 0.5);
    return [
      '## Gateway emulator overhead',
      '',
      `${REQUESTS} chat completions at concurrency ${CONCURRENCY} each way (after ${WARM_UP} warm-up requests), simulated model latency off, one run on loopback.`,
      '',
      '| path | requests | non-200 | req/s | p50 ms | p95 ms | p99 ms |',
      '|---|---:|---:|---:|---:|---:|---:|',
      row('simulator directly', directResult),
      row('through the gateway', gatewayResult),
      '',
      `Gateway throughput is **${(throughputRatio * 100).toFixed(0)}%** of direct; it adds **${addedMedianInMs.toFixed(2)} ms** at the median ` +
        '(an extra loopback hop plus key check, pool selection, breaker bookkeeping and header copying). ' +
        'Real APIM adds network and policy time of its own; this only shows the emulator is not the bottleneck of a probe run.',
    ].join('\n');
  } finally {
    await env.close();
  }
}
