import { describeEarlyStop } from '../../../src/lib/probe/describeEarlyStop';
import { runProbes, type RunProbesOptions } from '../../../src/lib/probe/runProbes';
import { chatCompletion, startFakeGateway, type FakeGateway, type GatewayAnswer } from './fakeGateway';
import { labPool } from './labPool';

const KEY = 'SECRET-KEY-throttle-51e0';

/** What APIM's azure-openai-token-limit / llm-token-limit policy answers over the limit (see gatewayThrottle.ts). */
const TOKEN_LIMIT_429: GatewayAnswer = {
  type: 'json',
  status: 429,
  body: { statusCode: 429, message: 'Token limit is exceeded. Try again in 5 seconds.' },
  headers: { 'retry-after': '5', 'remaining-tokens': '0', 'consumed-tokens': '0' },
};

let gateway: FakeGateway;

beforeAll(async () => {
  gateway = await startFakeGateway(() => ({ type: 'json', region: 'West US' }));
});

afterAll(async () => {
  await gateway.close();
});

function script(plan: (index: number) => GatewayAnswer): void {
  gateway.requests.length = 0;
  gateway.setScript(plan);
}

function options(overrides: Partial<RunProbesOptions> = {}): RunProbesOptions {
  return { gatewayUrl: gateway.url, subscriptionKey: KEY, pool: labPool(), runId: 'run-t', maxProbes: 4, concurrency: 1, timeoutInMs: 2_000, ...overrides };
}

describe('probe request headers', () => {
  test('sends no header a policy could route on when the definition declares none', async () => {
    script(() => ({ type: 'json', region: 'West US' }));
    await runProbes(options({ maxProbes: 2 }));
    for (const request of gateway.requests) {
      expect(Object.keys(request.headers).sort()).toEqual(['accept-encoding', 'api-key', 'connection', 'content-length', 'content-type', 'host']);
      expect(request.headers['content-type']).toBe('application/json');
    }
  });

  test('sends exactly the declared probe.headers besides the key and the framing headers', async () => {
    script(() => ({ type: 'json', region: 'West US' }));
    await runProbes(options({ maxProbes: 2, pool: labPool({ headers: { 'X-Route-To': 'on-your-data', 'x-empty': '' } }) }));
    expect(gateway.requests).toHaveLength(2);
    for (const request of gateway.requests) {
      expect(Object.keys(request.headers).sort()).toEqual(
        ['accept-encoding', 'api-key', 'connection', 'content-length', 'content-type', 'host', 'x-empty', 'x-route-to'].sort(),
      );
      expect(request.headers['x-route-to']).toBe('on-your-data');
      expect(request.headers['x-empty']).toBe('');
      expect(request.headers['api-key']).toBe(KEY);
    }
  });
});

describe('the gateway token limit (gateway-throttled)', () => {
  test("classifies APIM's own token-limit 429 as gateway-throttled with its Retry-After and remaining tokens", async () => {
    script(() => TOKEN_LIMIT_429);
    const result = await runProbes(options({ maxProbes: 2 }));
    expect(result.records.map((r) => r.kind)).toEqual(['gateway-throttled', 'gateway-throttled']);
    expect(result.stoppedByGatewayThrottle).toBe(false);
    expect(result.records[0]).toMatchObject({ status: 429, backend: null, identifierValue: null, retryAfterSeconds: 5, remainingTokens: 0, errorCode: 'gateway-token-limit' });
    // Not a gateway error message either: that is for failures.
    expect(result.gatewayMessage).toBeNull();
    expect(JSON.stringify(result)).not.toContain(KEY);
  });

  test('keeps a backend 429 (x-ms-region present) an HTTP 429, even with a token-limit message', async () => {
    script(() => ({ ...TOKEN_LIMIT_429, region: 'East US' }) as GatewayAnswer);
    const result = await runProbes(options({ maxProbes: 1 }));
    expect(result.records[0]).toMatchObject({ kind: 'http', status: 429, backend: 'openai-instance2', errorCode: '429' });
    expect(result.records[0]?.retryAfterSeconds).toBeUndefined();
  });

  test.each<[string, GatewayAnswer]>([
    ["Azure OpenAI's own 429 body without x-ms-region", { type: 'json', status: 429, body: { error: { code: '429', message: 'Requests to the ChatCompletions_Create Operation have exceeded token rate limit.' } }, headers: { 'retry-after': '5' } }],
    ["APIM's rate-limit policy (calls, not tokens)", { type: 'json', status: 429, body: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 5 seconds.' }, headers: { 'retry-after': '5' } }],
    ['a 503 with the token-limit message', { type: 'json', status: 503, body: { statusCode: 503, message: 'Token limit is exceeded.' } }],
    ['a non-JSON 429', { type: 'raw', status: 429, contentType: 'text/plain', body: 'Token limit is exceeded' }],
  ])('keeps %s what it is today (kind http)', async (_name, answer) => {
    script(() => answer);
    const result = await runProbes(options({ maxProbes: 1 }));
    expect(result.records[0]?.kind).toBe('http');
  });

  test('keeps a 429 that carries the pool\'s own identifying header an HTTP 429 in header mode', async () => {
    script(() => ({ ...TOKEN_LIMIT_429, headers: { ...(TOKEN_LIMIT_429 as { headers: Record<string, string> }).headers, 'x-backend-host': 'aoai-nov26-instance1' } }) as GatewayAnswer);
    const result = await runProbes(options({ maxProbes: 1, pool: labPool({ identify: { mode: 'header', header: 'x-backend-host' } }) }));
    expect(result.records[0]).toMatchObject({ kind: 'http', backend: 'openai-instance1' });
  });

  test('records consumed-tokens as the probe\'s tokens when the body has no usage, and remaining-tokens on answers', async () => {
    const { usage: _usage, ...withoutUsage } = chatCompletion() as { usage: unknown };
    script((index) =>
      index === 0
        ? { type: 'json', region: 'West US', body: withoutUsage, headers: { 'consumed-tokens': '7', 'remaining-tokens': '993' } }
        : { type: 'json', region: 'West US', body: chatCompletion(9), headers: { 'consumed-tokens': '99', 'remaining-tokens': 'lots' } },
    );
    const result = await runProbes(options({ maxProbes: 2 }));
    expect(result.records.map((r) => [r.totalTokens, r.remainingTokens])).toEqual([
      [7, 993],
      // usage wins over the header; a malformed counter is unknown, not 0.
      [9, undefined],
    ]);
    expect(result.tokensUsed).toBe(16);
  });

  test('stops a run once the gateway has throttled three probes: more would only use up the limit', async () => {
    script((index) => (index === 0 ? { type: 'json', region: 'West US' } : TOKEN_LIMIT_429));
    const result = await runProbes(options({ maxProbes: 50, concurrency: 1 }));
    expect(result.records.map((r) => r.kind)).toEqual(['ok', 'gateway-throttled', 'gateway-throttled', 'gateway-throttled']);
    expect(result.stoppedEarly).toBe(true);
    expect(result.stoppedByGatewayThrottle).toBe(true);
    expect(result.fatal).toBeNull();
    // Said as what it is, never as the sequential test deciding.
    expect(describeEarlyStop(result)).toBe(" (stopped early: the gateway's token limit throttled the probes)");
    expect(describeEarlyStop({ stoppedEarly: true, stoppedByGatewayThrottle: false })).toBe(' (stopped early: the sequential test was decisive)');
  });
});
