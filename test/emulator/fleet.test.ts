import path from 'node:path';
import { DEMO_FLEET_APIS, demoFleetApisFor, EmbeddedEnvironmentOptionsError, startEmbeddedFleet, type EmbeddedFleet, type FleetPoolEntry } from '../../src/emulator';
import { createArmClient } from '../../src/lib/deploy/armClient';
import { deployPool } from '../../src/lib/deploy/deployPool';
import { loadPoolDefinition } from '../../src/lib/pool/loadPoolDefinition';
import type { ResolvedPool } from '../../src/lib/pool/types';
import { fakeCredential } from '../lib/deploy/poolFixtures';
import { countRegionsAt, readJson } from './armClient';

const FLEET_DIR = path.resolve(__dirname, '..', '..', 'examples', 'fleet');
const FLEET_FILES = ['01-lab-gpt-4o.json', '02-gpt-4o-mini.json', '03-on-your-data.json'];
const LAB = 'openai-instance-backend-pool';
const MINI = 'gpt-4o-mini-pool';
const ONDATA = 'ondata-backend-pool';

async function loadExampleFleet(): Promise<FleetPoolEntry[]> {
  return Promise.all(FLEET_FILES.map(async (file) => ({ file, pool: await loadPoolDefinition(path.join(FLEET_DIR, file)) })));
}

function createClock(start = Date.UTC(2026, 11, 1)) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

/** Deploys one pool through the emulated ARM endpoint with the product's own deployer. */
async function deploy(fleet: EmbeddedFleet, pool: ResolvedPool): Promise<string> {
  const client = createArmClient({ endpoint: fleet.armEndpoint, credential: fakeCredential, apiVersion: '2024-05-01', retry: { maxRetries: 0 } });
  const outcome = await deployPool(pool, { client, location: { ...fleet.apim, armApiVersion: '2024-05-01' }, mode: 'deploy' });
  return outcome.status;
}

async function chatAt(apiBaseUrl: string, key: string, headers: Record<string, string> = {}, deployment = 'gpt-4o') {
  const response = await fetch(`${apiBaseUrl}/deployments/${deployment}/chat/completions?api-version=2024-02-01`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': key, ...headers },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 5 }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as any) : null };
}

const share = (counts: Record<string, number>, key: string): number => {
  const total = Object.values(counts).reduce((sum, value) => sum + value, 0);
  return (counts[key] ?? 0) / total;
};

describe('embedded fleet: one APIM service, one API per pool', () => {
  let entries: FleetPoolEntry[];
  let fleet: EmbeddedFleet;
  beforeAll(async () => {
    entries = await loadExampleFleet();
    fleet = await startEmbeddedFleet(entries, { latencyScale: 0, seed: 17, apis: DEMO_FLEET_APIS });
    for (const entry of entries) {
      expect(await deploy(fleet, entry.pool)).toBe('succeeded');
    }
  });
  afterAll(() => fleet.close());

  it('gives each pool its API path: openai for the first, the pool name for the others', () => {
    expect(fleet.apis.map((api) => [api.pool, api.path, api.apiId])).toEqual([
      [LAB, 'openai', 'openai'],
      [MINI, MINI, MINI],
      [ONDATA, ONDATA, ONDATA],
    ]);
    expect(fleet.gatewayUrlOf(MINI)).toBe(`${fleet.armEndpoint}/${MINI}`);
    expect(() => fleet.gatewayUrlOf('nope')).toThrow(/No API of the embedded fleet serves pool 'nope'/);
  });

  it('simulates one resource per backend host, with the regions of the definitions and every deployment using it', () => {
    expect(fleet.resources.map((resource) => [resource.host, resource.region, resource.deployments])).toEqual([
      ['aoai-nov26-instance1.openai.azure.com', 'West US', ['gpt-4o', 'gpt-4o-mini']],
      ['aoai-nov26-instance2.openai.azure.com', 'East US', ['gpt-4o', 'gpt-4o-mini']],
      ['aoai-nov26-instance3.openai.azure.com', 'Sweden Central', ['gpt-4o-mini']],
    ]);
  });

  it('routes each path to its pool: 2:1 on the lab API, 1:1 on the others, the priority-2 backup idle', async () => {
    // 1,200 requests per API; a binomial share's standard deviation is at most 1.5 points, so ±5 points is > 3 sd.
    const lab = await countRegionsAt(fleet.gatewayUrlOf(LAB), fleet.subscriptionKey, 1200);
    const mini = await countRegionsAt(fleet.gatewayUrlOf(MINI), fleet.subscriptionKey, 1200, { deployment: 'gpt-4o-mini' });
    const ondata = await countRegionsAt(fleet.gatewayUrlOf(ONDATA), fleet.subscriptionKey, 1200);
    expect(Object.keys(lab).sort()).toEqual(['East US', 'West US']);
    expect(share(lab, 'West US')).toBeGreaterThan(2 / 3 - 0.05);
    expect(share(lab, 'West US')).toBeLessThan(2 / 3 + 0.05);
    expect(Object.keys(mini).sort()).toEqual(['East US', 'West US']);
    expect(share(mini, 'West US')).toBeGreaterThan(0.45);
    expect(share(mini, 'West US')).toBeLessThan(0.55);
    expect(Object.keys(ondata).sort()).toEqual(['East US', 'West US']);
    expect(share(ondata, 'West US')).toBeGreaterThan(0.45);
    expect(share(ondata, 'West US')).toBeLessThan(0.55);
    const backendsOf = (apiId: string) => new Set(fleet.accessLog.entries(apiId).flatMap((entry) => entry.attempts.map((attempt) => attempt.backendId)));
    expect([...backendsOf('openai')].sort()).toEqual(['openai-instance1', 'openai-instance2']);
    expect([...backendsOf(MINI)].sort()).toEqual(['mini-instance1', 'mini-instance2']);
    expect([...backendsOf(ONDATA)].sort()).toEqual(['ondata-instance1', 'ondata-instance2']);
  });

  it('answers an unknown path or a path that only starts like an API with 404 Resource not found', async () => {
    for (const unknown of ['/nothing/deployments/gpt-4o/chat/completions', '/openaix/deployments/gpt-4o/chat/completions']) {
      const response = await fetch(`${fleet.armEndpoint}${unknown}?api-version=2024-02-01`, { method: 'POST', headers: { 'api-key': fleet.subscriptionKey } });
      expect(response.status).toBe(404);
      expect(await readJson(response)).toEqual({ statusCode: 404, message: 'Resource not found' });
    }
  });

  it('routes the on-your-data header to its backend, and a request without it (a probe) to the pool', async () => {
    const routed = await countRegionsAt(fleet.gatewayUrlOf(ONDATA), fleet.subscriptionKey, 40, { headers: { 'x-route': 'on-your-data' } });
    expect(routed).toEqual({ 'West US': 40 });
    const routedEntries = fleet.accessLog.entries(ONDATA).slice(-40);
    expect(new Set(routedEntries.flatMap((entry) => entry.attempts.map((attempt) => attempt.backendId)))).toEqual(new Set(['openai-instance1']));
    const otherValue = await countRegionsAt(fleet.gatewayUrlOf(ONDATA), fleet.subscriptionKey, 200, { headers: { 'x-route': 'something-else' } });
    expect(Object.keys(otherValue).sort()).toEqual(['East US', 'West US']);
  });

  it('adds remaining-tokens and consumed-tokens on the token-limited API only', async () => {
    const limited = await chatAt(fleet.gatewayUrlOf(ONDATA), fleet.subscriptionKey);
    expect(limited.status).toBe(200);
    expect(Number(limited.headers.get('consumed-tokens'))).toBe(limited.body.usage.total_tokens);
    expect(Number(limited.headers.get('remaining-tokens'))).toBeLessThan(20_000);
    const unlimited = await chatAt(fleet.gatewayUrlOf(LAB), fleet.subscriptionKey);
    expect(unlimited.headers.get('remaining-tokens')).toBeNull();
    expect(unlimited.headers.get('consumed-tokens')).toBeNull();
  });

  it('keeps an access log per API: entries carry the API id and path, and the control API filters by either', async () => {
    const byId = await (await fetch(`${fleet.controlUrl}/access-log?api=${MINI}&limit=5`)).json() as { entries: { apiId: string; apiPath: string }[] };
    expect(byId.entries).toHaveLength(5);
    expect(byId.entries.every((entry) => entry.apiId === MINI && entry.apiPath === MINI)).toBe(true);
    const byPath = await (await fetch(`${fleet.controlUrl}/access-log?api=openai&limit=3`)).json() as { entries: { apiId: string }[] };
    expect(byPath.entries.map((entry) => entry.apiId)).toEqual(['openai', 'openai', 'openai']);
    const state = await (await fetch(`${fleet.controlUrl}/state`)).json() as { apis: { id: string; path: string; pool: { name: string } | null }[] };
    expect(state.apis.map((api) => [api.id, api.pool?.name])).toEqual([
      ['openai', LAB],
      [MINI, MINI],
      [ONDATA, ONDATA],
    ]);
  });

  it('keeps one policy per API in ARM and refuses an API id the service does not have', async () => {
    const client = createArmClient({ endpoint: fleet.armEndpoint, credential: fakeCredential, apiVersion: '2024-05-01', retry: { maxRetries: 0 } });
    const location = { ...fleet.apim, armApiVersion: '2024-05-01' };
    expect(await client.getApiPolicy(location, 'openai')).toContain(`backend-id="${LAB}"`);
    const ondataPolicy = await client.getApiPolicy(location, ONDATA);
    expect(ondataPolicy).toContain(`backend-id="${ONDATA}"`);
    expect(ondataPolicy).toContain('<azure-openai-token-limit tokens-per-minute="20000"');
    const serviceId = `/subscriptions/${fleet.apim.subscriptionId}/resourceGroups/${fleet.apim.resourceGroup}/providers/Microsoft.ApiManagement/service/${fleet.apim.serviceName}`;
    const missing = await fetch(`${fleet.armEndpoint}${serviceId}/apis/not-an-api/policies/policy?api-version=2024-05-01`, {
      headers: { authorization: 'Bearer t' },
    });
    expect(missing.status).toBe(404);
    expect((await readJson(missing)).error.code).toBe('ResourceNotFound');
    const list = await readJson(await fetch(`${fleet.armEndpoint}${serviceId}/apis?api-version=2024-05-01`, { headers: { authorization: 'Bearer t' } }));
    expect(list.value.map((api: { name: string; properties: { path: string } }) => [api.name, api.properties.path])).toEqual([
      ['openai', 'openai'],
      [MINI, MINI],
      [ONDATA, ONDATA],
    ]);
  });
});

describe('embedded fleet: deploy and policies', () => {
  it('answers "not deployed" on an API until its pool is deployed through ARM, per API', async () => {
    const entries = await loadExampleFleet();
    const fleet = await startEmbeddedFleet(entries.slice(0, 2), { latencyScale: 0, seed: 5 });
    try {
      const before = await chatAt(fleet.gatewayUrlOf(MINI), fleet.subscriptionKey, {}, 'gpt-4o-mini');
      expect(before.status).toBe(500);
      expect(before.body.message).toBe(`Backend '${MINI}' named in the API policy (set-backend-service) is not deployed on this APIM service.`);
      expect(await deploy(fleet, (entries[1] as FleetPoolEntry).pool)).toBe('succeeded');
      expect((await chatAt(fleet.gatewayUrlOf(MINI), fleet.subscriptionKey, {}, 'gpt-4o-mini')).status).toBe(200);
      expect((await chatAt(fleet.gatewayUrlOf(LAB), fleet.subscriptionKey)).status).toBe(500);
    } finally {
      await fleet.close();
    }
  });

  it('sends traffic to the priority-2 backup only once both primaries are tripped', async () => {
    const clock = createClock();
    const entries = await loadExampleFleet();
    const fleet = await startEmbeddedFleet([entries[1] as FleetPoolEntry], { latencyScale: 0, seed: 8, now: clock.now });
    try {
      await deploy(fleet, (entries[1] as FleetPoolEntry).pool);
      await fleet.faults.setFault('West US', { kind: 'throttled', retryAfterSeconds: 60 });
      await fleet.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 60 });
      // The first call trips both primaries (429 → breaker count 1) and its retry lands on the backup.
      const counts = await countRegionsAt(fleet.gatewayUrlOf(MINI), fleet.subscriptionKey, 20, { concurrency: 1, deployment: 'gpt-4o-mini' });
      expect(counts).toEqual({ 'Sweden Central': 20 });
      await fleet.faults.heal();
      clock.advance(61_000);
      const healed = await countRegionsAt(fleet.gatewayUrlOf(MINI), fleet.subscriptionKey, 100, { deployment: 'gpt-4o-mini' });
      expect(healed['Sweden Central']).toBeUndefined();
    } finally {
      await fleet.close();
    }
  });

  it('takes the API path from the definition gateway.url and routes by the longest path prefix', async () => {
    const [lab, mini] = (await loadExampleFleet()).map((entry) => entry.pool);
    const withGateway = (pool: ResolvedPool, url: string) => ({ ...pool, gateway: { url, subscriptionKeySetting: undefined } });
    const fleet = await startEmbeddedFleet(
      [
        { file: 'lab.json', pool: lab as ResolvedPool },
        { file: 'mini.json', pool: withGateway(mini as ResolvedPool, 'https://apim-nov26.azure-api.net/openai/mini/') },
      ],
      { latencyScale: 0, seed: 2 },
    );
    try {
      expect(fleet.gatewayUrlOf(MINI)).toBe(`${fleet.armEndpoint}/openai/mini`);
      expect(fleet.apis.map((api) => api.apiId)).toEqual(['openai', 'openai-mini']);
      await deploy(fleet, mini as ResolvedPool);
      expect((await chatAt(fleet.gatewayUrlOf(MINI), fleet.subscriptionKey, {}, 'gpt-4o-mini')).status).toBe(200);
      expect(fleet.accessLog.entries().map((entry) => [entry.apiId, entry.apiPath])).toEqual([['openai-mini', 'openai/mini']]);
    } finally {
      await fleet.close();
    }
  });

  it('applies the demo policies only to a fleet that holds the demo pool and the backend its route names', async () => {
    const [lab, mini, ondata] = await loadExampleFleet();
    expect(demoFleetApisFor([lab, mini, ondata] as FleetPoolEntry[])).toEqual(DEMO_FLEET_APIS);
    expect(demoFleetApisFor([mini, ondata] as FleetPoolEntry[])).toEqual({});
    expect(demoFleetApisFor([lab, mini] as FleetPoolEntry[])).toEqual({});
  });

  it('refuses a fleet that cannot be one APIM service, naming the entry or option', async () => {
    const [lab, mini] = (await loadExampleFleet()).map((entry) => entry.pool) as [ResolvedPool, ResolvedPool];
    const fieldOf = async (promise: Promise<unknown>): Promise<string> => {
      try {
        await promise;
      } catch (error) {
        if (error instanceof EmbeddedEnvironmentOptionsError) return error.field;
        throw error;
      }
      throw new Error('expected startEmbeddedFleet to reject');
    };
    expect(await fieldOf(startEmbeddedFleet([]))).toBe('entries');
    expect(await fieldOf(startEmbeddedFleet([{ file: 'a.json', pool: lab }, { file: 'b.json', pool: lab }]))).toBe('entries[1].pool.name');
    expect(await fieldOf(startEmbeddedFleet([{ file: 'a.json', pool: lab }], { apis: { nope: { tokenLimitPerMinute: 5 } } }))).toBe('apis.nope');
    expect(
      await fieldOf(startEmbeddedFleet([{ file: 'a.json', pool: lab }], { apis: { [LAB]: { headerRoutes: [{ header: 'x-route', value: 'v', backendId: 'elsewhere' }] } } })),
    ).toBe(`apis.${LAB}.headerRoutes[0].backendId`);
    expect(await fieldOf(startEmbeddedFleet([{ file: 'a.json', pool: lab }], { apis: { [LAB]: { tokenLimitPerMinute: 0 } } }))).toBe(`apis.${LAB}.tokenLimitPerMinute`);
    expect(await fieldOf(startEmbeddedFleet([{ file: 'a.json', pool: lab }, { file: 'b.json', pool: { ...mini, name: 'subscriptions' } }]))).toBe('entries[1]');
    const movedHost = { ...mini, backends: mini.backends.map((backend) => ({ ...backend, region: 'North Europe' })) };
    expect(await fieldOf(startEmbeddedFleet([{ file: 'a.json', pool: lab }, { file: 'b.json', pool: movedHost }]))).toBe('entries[1].pool.backends');
  });
});

describe('embedded fleet: token limit', () => {
  const LIMIT = 100;
  let clock: ReturnType<typeof createClock>;
  let fleet: EmbeddedFleet;
  beforeEach(async () => {
    clock = createClock();
    const all = await loadExampleFleet();
    fleet = await startEmbeddedFleet(all, { latencyScale: 0, seed: 4, now: clock.now, apis: { [ONDATA]: { tokenLimitPerMinute: LIMIT }, [MINI]: { tokenLimitPerMinute: 10_000 } } });
    for (const entry of all) await deploy(fleet, entry.pool);
  });
  afterEach(() => fleet.close());

  async function exhaust(): Promise<Awaited<ReturnType<typeof chatAt>>> {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const answer = await chatAt(fleet.gatewayUrlOf(ONDATA), fleet.subscriptionKey);
      if (answer.status !== 200) return answer;
      expect(Number(answer.headers.get('remaining-tokens'))).toBeGreaterThanOrEqual(0);
    }
    throw new Error(`no 429 within 50 requests under a limit of ${LIMIT} tokens per minute`);
  }

  it("answers APIM's own 429 once the minute's tokens are spent: its body, Retry-After, remaining-tokens, no x-ms-region", async () => {
    const throttled = await exhaust();
    expect(throttled.status).toBe(429);
    // The clock stands still, so the window opened by the first request has all 60 s left.
    expect(throttled.body).toEqual({ statusCode: 429, message: 'Token limit is exceeded. Try again in 60 seconds.' });
    expect(throttled.headers.get('retry-after')).toBe('60');
    expect(throttled.headers.get('x-ms-region')).toBeNull();
    expect(Number(throttled.headers.get('remaining-tokens'))).toBeLessThan(15);
    expect(throttled.headers.get('apim-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const last = fleet.accessLog.entries(ONDATA).at(-1);
    expect(last).toMatchObject({ status: 429, outcome: 'token-limit', attempts: [] });
    clock.advance(45_000);
    const later = await chatAt(fleet.gatewayUrlOf(ONDATA), fleet.subscriptionKey);
    expect(later.body.message).toBe('Token limit is exceeded. Try again in 15 seconds.');
    expect(later.headers.get('retry-after')).toBe('15');
  });

  it('recovers when the minute is over, with the full budget again', async () => {
    await exhaust();
    clock.advance(60_000);
    const recovered = await chatAt(fleet.gatewayUrlOf(ONDATA), fleet.subscriptionKey);
    expect(recovered.status).toBe(200);
    expect(Number(recovered.headers.get('consumed-tokens'))).toBe(recovered.body.usage.total_tokens);
    expect(Number(recovered.headers.get('remaining-tokens'))).toBe(LIMIT - recovered.body.usage.total_tokens);
  });

  it('throttles only the APIs whose limit the shared subscription counter exceeds', async () => {
    await exhaust();
    // One counter per key value for every scope (the policy reference): the mini API sees the same count
    // but its own, larger limit; the lab API has no token limit at all.
    const mini = await chatAt(fleet.gatewayUrlOf(MINI), fleet.subscriptionKey, {}, 'gpt-4o-mini');
    expect(mini.status).toBe(200);
    expect(Number(mini.headers.get('remaining-tokens'))).toBeLessThan(10_000 - LIMIT);
    expect((await chatAt(fleet.gatewayUrlOf(LAB), fleet.subscriptionKey)).status).toBe(200);
  });
});
