import { OpenAiSimulator, type OpenAiSimulatorOptions } from '../../src/emulator/openAiSimulator';
import { createRandom } from '../../src/emulator/random';

function createClock(start = Date.UTC(2026, 10, 25, 1, 0, 0)) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

async function startSimulator(overrides: Partial<OpenAiSimulatorOptions> = {}) {
  const clock = createClock();
  const simulator = new OpenAiSimulator({
    host: 'aoai-nov26-instance1.openai.azure.com',
    region: 'West US',
    deployments: ['gpt-4o'],
    requestsPerMinute: 6000,
    tokensPerMinute: 1_000_000,
    latencyInMs: { median: 400, p95: 1200 },
    latencyScale: 0,
    random: createRandom(7),
    now: clock.now,
    listenHost: '127.0.0.1',
    ...overrides,
  });
  await simulator.start();
  return { simulator, clock };
}

async function post(
  simulator: OpenAiSimulator,
  body: unknown = { messages: [{ role: 'user', content: 'Hello there, how are you?' }] },
  { path = '/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01', headers = { 'api-key': 'k' } as Record<string, string> } = {},
) {
  const response = await fetch(`http://127.0.0.1:${simulator.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

describe('Azure OpenAI simulator', () => {
  let simulator: OpenAiSimulator;
  let clock: ReturnType<typeof createClock>;
  beforeEach(async () => {
    ({ simulator, clock } = await startSimulator());
  });
  afterEach(() => simulator.close());

  it('answers a chat completion in the 2024-02-01 shape with plausible usage and Azure headers', async () => {
    const answer = await post(simulator);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ object: 'chat.completion', created: Math.floor(clock.now() / 1000), model: expect.any(String) });
    expect(answer.body.id).toMatch(/^chatcmpl-/);
    expect(answer.body.choices).toEqual([
      expect.objectContaining({ index: 0, message: { role: 'assistant', content: expect.any(String) }, finish_reason: 'stop' }),
    ]);
    const usage = answer.body.usage;
    // 'Hello there, how are you?' is 25 characters ≈ 7 tokens, plus 4 per message and 3 priming.
    expect(usage.prompt_tokens).toBe(14);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(answer.headers.get('x-ms-region')).toBe('West US');
    expect(answer.headers.get('apim-request-id')).toBeTruthy();
    expect(answer.headers.get('x-ratelimit-remaining-requests')).toBe('5999');
    expect(Number(answer.headers.get('x-ratelimit-remaining-tokens'))).toBe(1_000_000 - usage.total_tokens);
  });

  it('never exceeds max_tokens and reports finish_reason length when cut', async () => {
    const answer = await post(simulator, { messages: [{ role: 'user', content: 'x' }], max_tokens: 2 });
    expect(answer.body.usage.completion_tokens).toBe(2);
    expect(answer.body.choices[0].finish_reason).toBe('length');
  });

  it('requires api-version, a known deployment, valid JSON, messages and a credential', async () => {
    const noVersion = await post(simulator, undefined, { path: '/openai/deployments/gpt-4o/chat/completions' });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.error).toMatchObject({ code: 'BadRequest', message: expect.stringContaining('api-version') });
    const unknown = await post(simulator, undefined, { path: '/openai/deployments/gpt-35/chat/completions?api-version=2024-02-01' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('DeploymentNotFound');
    expect((await post(simulator, '{not json')).status).toBe(400);
    expect((await post(simulator, { messages: [] })).status).toBe(400);
    expect((await post(simulator, undefined, { headers: {} })).status).toBe(401);
    expect((await post(simulator, undefined, { headers: { authorization: 'Bearer token' } })).status).toBe(200);
  });

  it('throttles past the requests-per-minute quota with Retry-After headers, then recovers a minute later', async () => {
    await simulator.close();
    ({ simulator, clock } = await startSimulator({ requestsPerMinute: 3 }));
    for (let index = 0; index < 3; index += 1) {
      expect((await post(simulator)).status).toBe(200);
      clock.advance(1000);
    }
    const throttled = await post(simulator);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('57');
    expect(throttled.headers.get('retry-after-ms')).toBe('57000');
    expect(throttled.headers.get('x-ms-retry-after-ms')).toBe('57000');
    expect(throttled.body.error.code).toBe('429');
    expect(throttled.body.error.message).toMatch(/^Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-02-01 have exceeded call rate limit/);
    clock.advance(57_000);
    expect((await post(simulator)).status).toBe(200);
  });

  it('throttles past the tokens-per-minute quota, counting max_tokens up front', async () => {
    await simulator.close();
    ({ simulator, clock } = await startSimulator({ tokensPerMinute: 100 }));
    const body = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 40 };
    expect((await post(simulator, body)).status).toBe(200);
    expect((await post(simulator, body)).status).toBe(200);
    const throttled = await post(simulator, body);
    expect(throttled.status).toBe(429);
    expect(throttled.body.error.message).toContain('token rate limit');
  });

  it('refuses connections while down and answers again on the same port after healing', async () => {
    const port = simulator.port;
    await simulator.setFault({ kind: 'down' });
    await expect(post(simulator)).rejects.toThrow();
    await simulator.setFault({ kind: 'healthy' });
    expect(simulator.port).toBe(port);
    expect((await post(simulator)).status).toBe(200);
  });

  it('answers 500 (or the chosen status) while failing', async () => {
    await simulator.setFault({ kind: 'failing' });
    expect((await post(simulator)).status).toBe(500);
    await simulator.setFault({ kind: 'failing', status: 503 });
    expect((await post(simulator)).status).toBe(503);
  });

  it('answers 429 with the chosen Retry-After while throttled', async () => {
    await simulator.setFault({ kind: 'throttled', retryAfterSeconds: 86400 });
    const answer = await post(simulator);
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('86400');
    expect(answer.headers.get('retry-after-ms')).toBe('86400000');
  });

  it('delays answers while slow', async () => {
    await simulator.setFault({ kind: 'slow', delayInMs: 150 });
    const started = performance.now();
    expect((await post(simulator)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('answers 401 PermissionDenied while rejecting the caller identity', async () => {
    await simulator.setFault({ kind: 'auth-reject' });
    const answer = await post(simulator, undefined, { headers: { authorization: 'Bearer t' } });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('PermissionDenied');
  });

  it('draws latencies whose median and p95 match the configured ones (seeded, 2,000 draws)', async () => {
    const { sampleLognormal } = await import('../../src/emulator/random');
    const random = createRandom(3);
    const draws = Array.from({ length: 2000 }, () => sampleLognormal(random, 400, 1200)).sort((a, b) => a - b);
    expect(draws[1000]).toBeGreaterThan(360);
    expect(draws[1000]).toBeLessThan(440);
    expect(draws[1900]).toBeGreaterThan(1000);
    expect(draws[1900]).toBeLessThan(1400);
  });
});
