import { Agent, request } from 'node:http';
import type { EmbeddedEnvironment } from '../../src/emulator';

/** Minimal ARM client for tests: what the product's deployer does, over HTTP. */
export interface ArmAnswer {
  readonly status: number;
  readonly etag: string | null;
  readonly body: any;
}

export const API_VERSION = '2024-05-01';

export function serviceId(env: EmbeddedEnvironment): string {
  const { subscriptionId, resourceGroup, serviceName } = env.apim;
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ApiManagement/service/${serviceName}`;
}

export async function arm(
  env: EmbeddedEnvironment,
  method: string,
  relativePath: string,
  body?: unknown,
  headers: Record<string, string> = {},
  query = `?api-version=${API_VERSION}`,
): Promise<ArmAnswer> {
  const response = await fetch(`${env.armEndpoint}${serviceId(env)}${relativePath}${query}`, {
    method,
    headers: { authorization: 'Bearer test-token', 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, etag: response.headers.get('etag'), body: text ? JSON.parse(text) : null };
}

export interface MemberSpec {
  readonly name: string;
  readonly host: string;
  readonly priority?: number;
  readonly weight?: number;
  /** Default: the lab's rule (count 1 in PT1M on 429, trip PT1M, acceptRetryAfter). null = no breaker. */
  readonly breaker?: Record<string, unknown> | null;
}

export const LAB_BREAKER = {
  name: 'breaker',
  failureCondition: { count: 1, interval: 'PT1M', statusCodeRanges: [{ min: 429, max: 429 }] },
  tripDuration: 'PT1M',
  acceptRetryAfter: true,
};

/** Deploys single backends then the pool (members must exist first), failing loudly on any non-2xx. */
export async function deployPool(env: EmbeddedEnvironment, members: readonly MemberSpec[], poolName = 'openai-instance-backend-pool'): Promise<void> {
  for (const member of members) {
    const breaker = member.breaker === undefined ? LAB_BREAKER : member.breaker;
    const answer = await arm(env, 'PUT', `/backends/${member.name}`, {
      properties: {
        url: `https://${member.host}/openai`,
        protocol: 'http',
        ...(breaker ? { circuitBreaker: { rules: [breaker] } } : {}),
      },
    });
    if (answer.status >= 300) throw new Error(`PUT ${member.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  const answer = await arm(env, 'PUT', `/backends/${poolName}`, {
    properties: {
      type: 'Pool',
      pool: {
        services: members.map((member) => ({
          id: `${serviceId(env)}/backends/${member.name}`,
          ...(member.priority === undefined ? {} : { priority: member.priority }),
          ...(member.weight === undefined ? {} : { weight: member.weight }),
        })),
      },
    },
  });
  if (answer.status >= 300) throw new Error(`PUT pool: ${answer.status} ${JSON.stringify(answer.body)}`);
}

export const LAB_MEMBERS: readonly MemberSpec[] = [
  { name: 'openai-instance1', host: 'aoai-nov26-instance1.openai.azure.com', priority: 1, weight: 2 },
  { name: 'openai-instance2', host: 'aoai-nov26-instance2.openai.azure.com', priority: 1, weight: 1 },
];

export interface ChatAnswer {
  readonly status: number;
  readonly region: string | null;
  readonly headers: Headers;
  readonly body: any;
}

/** One chat completion through the gateway with the subscription key. */
export async function chat(env: EmbeddedEnvironment, headers: Record<string, string> = { 'api-key': env.subscriptionKey }): Promise<ChatAnswer> {
  const response = await fetch(`${env.gatewayUrl}/deployments/gpt-4o/chat/completions?api-version=2024-02-01`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 5 }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // keep text
  }
  return { status: response.status, region: response.headers.get('x-ms-region'), headers: response.headers, body };
}

/** Sends `count` requests with bounded concurrency and counts answers by region (or status when not 200). */
export function countRegions(env: EmbeddedEnvironment, count: number, concurrency = 16): Promise<Record<string, number>> {
  return countRegionsAt(env.gatewayUrl, env.subscriptionKey, count, { concurrency });
}

/**
 * Sends `count` chat completions to an API base URL (bounded concurrency, extra request headers optional)
 * and counts answers by region, or by status when not 200.
 */
export async function countRegionsAt(
  apiBaseUrl: string,
  subscriptionKey: string,
  count: number,
  options: { concurrency?: number; headers?: Record<string, string>; deployment?: string } = {},
): Promise<Record<string, number>> {
  const concurrency = options.concurrency ?? 16;
  // node:http with a keep-alive agent: lighter than fetch, which matters over thousands of requests.
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(`${apiBaseUrl}/deployments/${options.deployment ?? 'gpt-4o'}/chat/completions?api-version=2024-02-01`);
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 5 });
  const headers = { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'api-key': subscriptionKey };
  const send = (): Promise<{ status: number; region: string | undefined }> =>
    new Promise((resolve, reject) => {
      const outgoing = request(url, { method: 'POST', agent, headers }, (incoming) => {
        incoming.resume();
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, region: incoming.headers['x-ms-region'] as string | undefined }));
        incoming.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  const counts: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const answer = await send();
      const key = answer.status === 200 ? (answer.region ?? 'none') : `status ${answer.status}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return counts;
}

/** GETs a JSON document (tests read loosely typed answers). */
export async function getJson(url: string): Promise<any> {
  return readJson(await fetch(url));
}

/** Reads a response body as loosely typed JSON. */
export function readJson(response: Response): Promise<any> {
  return response.json() as Promise<any>;
}
