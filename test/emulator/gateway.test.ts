import { startEmbeddedEnvironment, type EmbeddedEnvironment, type EmbeddedEnvironmentOptions } from '../../src/emulator';
import { arm, chat, countRegions, deployPool, getJson, LAB_BREAKER, readJson, LAB_MEMBERS, serviceId, type MemberSpec } from './armClient';

const THREE_REGIONS = [
  { host: 'aoai-a.openai.azure.com', region: 'West US' },
  { host: 'aoai-b.openai.azure.com', region: 'East US' },
  { host: 'aoai-c.openai.azure.com', region: 'Sweden Central' },
];

/** An injectable clock the tests move by hand. */
function createClock(start = Date.UTC(2026, 10, 25)) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

async function withEnvironment(options: EmbeddedEnvironmentOptions, body: (env: EmbeddedEnvironment) => Promise<void>): Promise<void> {
  const env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 42, ...options });
  try {
    await body(env);
  } finally {
    await env.close();
  }
}

describe('APIM gateway emulator', () => {
  describe('subscription key and routing', () => {
    let env: EmbeddedEnvironment;
    beforeAll(async () => {
      env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 1 });
      await deployPool(env, LAB_MEMBERS);
    });
    afterAll(() => env.close());

    it('accepts the key in api-key and in Ocp-Apim-Subscription-Key', async () => {
      expect((await chat(env, { 'api-key': env.subscriptionKey })).status).toBe(200);
      expect((await chat(env, { 'Ocp-Apim-Subscription-Key': env.subscriptionKey })).status).toBe(200);
    });

    it('answers 401 with the APIM message when the key is missing or wrong', async () => {
      const missing = await chat(env, {});
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({
        statusCode: 401,
        message: 'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.',
      });
      const wrong = await chat(env, { 'api-key': `${env.subscriptionKey}x` });
      expect(wrong.status).toBe(401);
      expect(wrong.body.message).toContain('invalid subscription key');
    });

    it('answers 404 Resource not found for paths outside the API and unknown operations', async () => {
      const outside = await fetch(`${env.armEndpoint}/nothing-here`, { method: 'POST' });
      expect(outside.status).toBe(404);
      expect(await readJson(outside)).toEqual({ statusCode: 404, message: 'Resource not found' });
      const unknownOperation = await fetch(`${env.gatewayUrl}/deployments/gpt-4o/unknown?api-version=2024-02-01`, {
        method: 'POST',
        headers: { 'api-key': env.subscriptionKey },
      });
      expect(unknownOperation.status).toBe(404);
    });

    it('adds apim-request-id and passes the backend headers through', async () => {
      const answer = await chat(env);
      expect(answer.headers.get('apim-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
      expect(answer.headers.get('x-ratelimit-remaining-tokens')).toMatch(/^\d+$/);
    });
  });

  it('answers 500 naming the backend when no pool is deployed', async () => {
    await withEnvironment({}, async (env) => {
      const answer = await chat(env);
      expect(answer.status).toBe(500);
      expect(answer.body.message).toContain('openai-instance-backend-pool');
    });
  });

  it('treats a backend host the virtual DNS does not know as unreachable (500, connection failure)', async () => {
    await withEnvironment({ retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'nowhere', host: 'not-simulated.openai.azure.com', breaker: null }]);
      const answer = await chat(env);
      expect(answer.status).toBe(500);
      expect(env.accessLog.entries()[0]?.attempts).toEqual([
        { backendId: 'nowhere', host: 'not-simulated.openai.azure.com', region: null, status: null, error: 'BackendConnectionFailure' },
      ]);
    });
  });

  // 3,000 requests per algorithm: weighted random has sd ≈ 0.86 points around 66.7%, so ±3 points is > 3 sd.
  it.each([
    ['weighted-random', 0.03],
    ['smooth-weighted-round-robin', 0.001],
  ] as const)('splits 3,000 requests 2:1 with %s within ±%p of 2/3', async (selection, tolerance) => {
    await withEnvironment({ selection }, async (env) => {
      await deployPool(env, LAB_MEMBERS);
      const counts = await countRegions(env, 3000);
      expect((counts['West US'] ?? 0) + (counts['East US'] ?? 0)).toBe(3000);
      expect(Math.abs((counts['West US'] ?? 0) / 3000 - 2 / 3)).toBeLessThanOrEqual(tolerance);
    });
  });

  it('routes by what is deployed: changing a weight through ARM changes the split', async () => {
    await withEnvironment({ selection: 'smooth-weighted-round-robin' }, async (env) => {
      await deployPool(env, LAB_MEMBERS);
      expect(await countRegions(env, 300, 1)).toEqual({ 'West US': 200, 'East US': 100 });
      await deployPool(env, [LAB_MEMBERS[0] as MemberSpec, { ...(LAB_MEMBERS[1] as MemberSpec), weight: 2 }]);
      expect(await countRegions(env, 300, 1)).toEqual({ 'West US': 150, 'East US': 150 });
    });
  });

  it('sends to the priority-2 backend only when every priority-1 backend is tripped', async () => {
    await withEnvironment({ resources: THREE_REGIONS, retryPolicy: null }, async (env) => {
      await deployPool(env, [
        { name: 'a', host: 'aoai-a.openai.azure.com', priority: 1 },
        { name: 'b', host: 'aoai-b.openai.azure.com', priority: 1 },
        { name: 'c', host: 'aoai-c.openai.azure.com', priority: 2 },
      ]);
      expect(Object.keys(await countRegions(env, 100)).sort()).toEqual(['East US', 'West US']);
      await env.faults.setFault('West US', { kind: 'throttled', retryAfterSeconds: 600 });
      // One throttled answer trips a (count 1); b, still in priority 1, takes everything.
      const afterOne = await countRegions(env, 100, 1);
      expect(afterOne['Sweden Central']).toBeUndefined();
      expect(afterOne['East US']).toBeGreaterThanOrEqual(99);
      await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 600 });
      const afterBoth = await countRegions(env, 100, 1);
      expect(afterBoth['status 429']).toBe(1);
      expect(afterBoth['Sweden Central']).toBe(99);
    });
  });

  it('trips the breaker after the configured count of failures and resets it after tripDuration', async () => {
    const clock = createClock();
    const rule = { name: 'r', failureCondition: { count: 3, interval: 'PT1M', statusCodeRanges: [{ min: 500, max: 599 }] }, tripDuration: 'PT30S' };
    await withEnvironment({ now: clock.now, retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'only', host: 'aoai-nov26-instance1.openai.azure.com', breaker: rule }]);
      await env.faults.setFault('West US', { kind: 'failing' });
      const statuses: number[] = [];
      for (let index = 0; index < 4; index += 1) statuses.push((await chat(env)).status);
      expect(statuses).toEqual([500, 500, 500, 503]);
      await env.faults.heal();
      clock.advance(29_999);
      expect((await chat(env)).status).toBe(503);
      clock.advance(1);
      expect((await chat(env)).status).toBe(200);
      const state = await getJson(`${env.controlUrl}/state`);
      expect(state.breakerEvents.map((event: { type: string; backendId: string }) => [event.type, event.backendId])).toEqual([
        ['Microsoft.ApiManagement.CircuitBreaker.Opened', 'only'],
        ['Microsoft.ApiManagement.CircuitBreaker.Closed', 'only'],
      ]);
    });
  });

  it("keeps a backend out for the backend's Retry-After when acceptRetryAfter is set", async () => {
    const clock = createClock();
    const rule = { ...LAB_BREAKER, tripDuration: 'PT10S' };
    await withEnvironment({ now: clock.now, retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'only', host: 'aoai-nov26-instance2.openai.azure.com', breaker: rule }]);
      await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 120 });
      expect((await chat(env)).status).toBe(429);
      await env.faults.heal();
      clock.advance(10_000);
      expect((await chat(env)).status).toBe(503);
      clock.advance(110_000);
      expect((await chat(env)).status).toBe(200);
    });
  });

  it('uses tripDuration when acceptRetryAfter is off, whatever the Retry-After', async () => {
    const clock = createClock();
    const rule = { ...LAB_BREAKER, tripDuration: 'PT10S', acceptRetryAfter: false };
    await withEnvironment({ now: clock.now, retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'only', host: 'aoai-nov26-instance2.openai.azure.com', breaker: rule }]);
      await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 120 });
      expect((await chat(env)).status).toBe(429);
      await env.faults.heal();
      clock.advance(10_000);
      expect((await chat(env)).status).toBe(200);
    });
  });

  it('turns one throttled call into a success from another member through the retry policy', async () => {
    await withEnvironment({}, async (env) => {
      await deployPool(env, LAB_MEMBERS);
      await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 86400 });
      const answers = [];
      for (let index = 0; index < 20; index += 1) answers.push(await chat(env));
      expect(answers.every((answer) => answer.status === 200 && answer.region === 'West US')).toBe(true);
      const retried = env.accessLog.entries().filter((entry) => entry.attempts.length === 2);
      // The breaker (count 1, acceptRetryAfter) takes East US out after its first 429: exactly one retry.
      expect(retried).toHaveLength(1);
      expect(retried[0]?.attempts.map((attempt) => [attempt.region, attempt.status])).toEqual([
        ['East US', 429],
        ['West US', 200],
      ]);
      expect(retried[0]?.status).toBe(200);
    });
  });

  it('shows the client the throttled answer when there is no retry policy', async () => {
    await withEnvironment({ retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'only', host: 'aoai-nov26-instance2.openai.azure.com' }]);
      await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 86400 });
      const answer = await chat(env);
      expect(answer.status).toBe(429);
      expect(answer.region).toBe('East US');
      expect(answer.headers.get('retry-after')).toBe('86400');
    });
  });

  it("answers a bare 503 Service Unavailable when every member is tripped (the lab's on-error)", async () => {
    await withEnvironment({}, async (env) => {
      await deployPool(env, LAB_MEMBERS);
      await env.faults.setFault('West US', { kind: 'throttled', retryAfterSeconds: 60 });
      await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 60 });
      const response = await fetch(`${env.gatewayUrl}/deployments/gpt-4o/chat/completions?api-version=2024-02-01`, {
        method: 'POST',
        headers: { 'api-key': env.subscriptionKey, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(response.status).toBe(503);
      expect(response.statusText).toBe('Service Unavailable');
      expect(await response.text()).toBe('');
      const entry = env.accessLog.entries()[0];
      expect(entry?.attempts.map((attempt) => attempt.status)).toEqual([429, 429]);
      expect(entry?.outcome).toBe('pool-unavailable');
    });
  });

  it('keeps balancer and breaker state per gateway instance', async () => {
    await withEnvironment({ gatewayInstances: 2, retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'only', host: 'aoai-nov26-instance2.openai.azure.com' }]);
      await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 60 });
      const statuses: number[] = [];
      for (let index = 0; index < 4; index += 1) statuses.push((await chat(env)).status);
      // Instance 0 trips on request 1; instance 1 has not seen a 429 yet, so request 2 still reaches East US.
      expect(statuses).toEqual([429, 429, 503, 503]);
      const state = await getJson(`${env.controlUrl}/state`);
      expect(state.breakers.map((breaker: { gatewayInstance: number; tripped: boolean }) => [breaker.gatewayInstance, breaker.tripped])).toEqual([
        [0, true],
        [1, true],
      ]);
    });
  });

  it('lets the client see the 401 of a backend whose role assignment is missing', async () => {
    await withEnvironment({ retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'only', host: 'aoai-nov26-instance1.openai.azure.com' }]);
      await env.faults.setFault('West US', { kind: 'auth-reject' });
      const answer = await chat(env);
      expect(answer.status).toBe(401);
      expect(answer.region).toBe('West US');
      expect(answer.body.error.code).toBe('PermissionDenied');
    });
  });

  it('trips on connection failures when the rule lists error reasons', async () => {
    const rule = { name: 'r', failureCondition: { count: 1, interval: 'PT1M', errorReasons: ['BackendConnectionFailure'] }, tripDuration: 'PT1M' };
    await withEnvironment({ retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'only', host: 'aoai-nov26-instance1.openai.azure.com', breaker: rule }]);
      await env.faults.setFault('West US', { kind: 'down' });
      expect((await chat(env)).status).toBe(500);
      expect(env.accessLog.entries()[0]?.attempts[0]).toMatchObject({ status: null, error: 'BackendConnectionFailure', tripped: true });
      expect((await chat(env)).status).toBe(503);
    });
  });

  it('never forwards the subscription key: backends get a bearer token', async () => {
    await withEnvironment({}, async (env) => {
      await deployPool(env, LAB_MEMBERS);
      expect((await chat(env, { 'api-key': env.subscriptionKey })).status).toBe(200);
      expect((await chat(env, { 'Ocp-Apim-Subscription-Key': env.subscriptionKey })).status).toBe(200);
      const state = await getJson(`${env.controlUrl}/state`);
      const schemes = state.resources.map((resource: { stats: { byAuthScheme: Record<string, number> } }) => resource.stats.byAuthScheme);
      const total = (scheme: string) => schemes.reduce((sum: number, counts: Record<string, number>) => sum + (counts[scheme] ?? 0), 0);
      const byQuery = await fetch(`${env.gatewayUrl}/deployments/gpt-4o/chat/completions?api-version=2024-02-01&subscription-key=${env.subscriptionKey}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(byQuery.status).toBe(200);
      const stateAfter = await getJson(`${env.controlUrl}/state`);
      const forwardedParameters = stateAfter.resources.flatMap((resource: { stats: { byQueryParameter: Record<string, number> } }) =>
        Object.keys(resource.stats.byQueryParameter),
      );
      expect(new Set(forwardedParameters)).toEqual(new Set(['api-version']));
      expect(JSON.stringify(stateAfter)).not.toContain(env.subscriptionKey);
      expect(total('bearer')).toBe(2);
      expect(total('api-key')).toBe(0);
      expect(JSON.stringify(state)).not.toContain(env.subscriptionKey);
    });
  });

  it('accepts a pool whose members are given in the short /backends/<name> form', async () => {
    await withEnvironment({}, async (env) => {
      await deployPool(env, LAB_MEMBERS);
      const put = await arm(env, 'PUT', '/backends/openai-instance-backend-pool', {
        properties: { type: 'Pool', pool: { services: [{ id: '/backends/openai-instance2' }] } },
      });
      expect(put.status).toBe(200);
      expect(put.body.properties.pool.services[0].id).toBe(`${serviceId(env)}/backends/openai-instance2`);
      expect(await countRegions(env, 10, 1)).toEqual({ 'East US': 10 });
    });
  });

  it('names the answering backend in the outbound header when asked, telling apart two backends of one region', async () => {
    const sameRegion = [
      { host: 'aoai-x.openai.azure.com', region: 'East US' },
      { host: 'aoai-y.openai.azure.com', region: 'East US' },
    ];
    await withEnvironment({ resources: sameRegion, backendHostHeader: 'x-backend-host', selection: 'smooth-weighted-round-robin' }, async (env) => {
      await deployPool(env, [
        { name: 'x', host: 'aoai-x.openai.azure.com', priority: 1, weight: 1 },
        { name: 'y', host: 'aoai-y.openai.azure.com', priority: 1, weight: 1 },
      ]);
      const hosts = [];
      for (let index = 0; index < 4; index += 1) {
        const answer = await chat(env);
        expect(answer.region).toBe('East US');
        hosts.push(answer.headers.get('x-backend-host'));
      }
      expect(hosts).toEqual(['aoai-x.openai.azure.com', 'aoai-y.openai.azure.com', 'aoai-x.openai.azure.com', 'aoai-y.openai.azure.com']);
      const policy = await arm(env, 'GET', '/apis/any/policies/policy');
      expect(policy.body.properties.value).toContain('<set-header name="x-backend-host" exists-action="override">');
    });
  });

  it('rejects unusable options naming the option', async () => {
    await expect(startEmbeddedEnvironment({ gatewayInstances: 0 })).rejects.toThrow("Invalid emulator option 'gatewayInstances'");
    await expect(startEmbeddedEnvironment({ resources: [{ host: 'a.example', region: '' }] })).rejects.toThrow("'resources[0].region'");
    await expect(startEmbeddedEnvironment({ apiSuffix: '/openai' })).rejects.toThrow("'apiSuffix'");
  });
});

describe('gateway robustness', () => {
  it('answers 413 to a body over 1 MiB instead of crashing', async () => {
    await withEnvironment({}, async (env) => {
      await deployPool(env, LAB_MEMBERS);
      const response = await fetch(`${env.gatewayUrl}/deployments/gpt-4o/chat/completions?api-version=2024-02-01`, {
        method: 'POST',
        headers: { 'api-key': env.subscriptionKey, 'content-type': 'application/json' },
        body: 'x'.repeat(1024 * 1024 + 1),
      });
      expect(response.status).toBe(413);
      expect((await chat(env)).status).toBe(200);
    });
  });

  it('answers 504 with a Timeout attempt when a backend is slower than the forward-request timeout', async () => {
    await withEnvironment({ forwardTimeoutInMs: 50, retryPolicy: null }, async (env) => {
      await deployPool(env, [{ name: 'only', host: 'aoai-nov26-instance1.openai.azure.com', breaker: null }]);
      await env.faults.setFault('West US', { kind: 'slow', delayInMs: 5_000 });
      const answer = await chat(env);
      expect(answer.status).toBe(504);
      expect(env.accessLog.entries()[0]?.attempts[0]).toMatchObject({ status: null, error: 'Timeout' });
    });
  });

  it('closes promptly while a slow request is in flight', async () => {
    const env = await startEmbeddedEnvironment({ latencyScale: 0 });
    await deployPool(env, LAB_MEMBERS);
    await env.faults.setFault('West US', { kind: 'slow', delayInMs: 60_000 });
    await env.faults.setFault('East US', { kind: 'slow', delayInMs: 60_000 });
    const pending = chat(env).catch((error: unknown) => error);
    // Until the request has reached a simulator (bounded: 200 looks at the control state).
    for (let look = 0; look < 200; look += 1) {
      const state = await getJson(`${env.controlUrl}/state`);
      if (state.resources.some((resource: { stats: { requests: number } }) => resource.stats.requests > 0)) break;
    }
    const started = Date.now();
    await env.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await pending;
  });
});
