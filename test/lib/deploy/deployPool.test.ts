import { createArmClient, type ArmClient } from '../../../src/lib/deploy/armClient';
import { deployPool } from '../../../src/lib/deploy/deployPool';
import type { DeployOutcome } from '../../../src/lib/deploy/types';
import { startFakeArmServer, type FakeArmServer } from './fakeArmServer';
import { fakeCredential, LAB_LOCATION, makeLabPool, SECRET_TOKEN, withBackend } from './poolFixtures';

const POOL = 'openai-instance-backend-pool';
const SERVICE_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26';
const WRITE_METHODS = ['PUT', 'PATCH', 'DELETE', 'POST'];

describe('deployPool', () => {
  let fake: FakeArmServer;
  let client: ArmClient;
  let sleeps: number[];

  beforeAll(async () => {
    fake = await startFakeArmServer();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    sleeps = [];
    client = createArmClient({
      endpoint: fake.endpoint,
      credential: fakeCredential,
      apiVersion: '2024-05-01',
      identityDescription: 'system-assigned managed identity',
      retry: { maxRetries: 1 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0,
    });
  });

  const deploy = (pool = makeLabPool(), extra: { mode?: 'deploy' | 'verify-only'; dryRun?: boolean } = {}): Promise<DeployOutcome> =>
    deployPool(pool, { client, location: LAB_LOCATION, mode: extra.mode ?? 'deploy', dryRun: extra.dryRun ?? false, now: () => 0 });

  const putBody = (name: string): Record<string, unknown> => {
    const put = fake.requests.find((request) => request.method === 'PUT' && request.path.endsWith(`/backends/${name}`));
    return (put?.body as { properties: Record<string, unknown> }).properties;
  };

  it('creates both backends, then the pool, after reading all three', async () => {
    const outcome = await deploy();
    expect(fake.calls()).toEqual([
      'GET openai-instance1',
      'GET openai-instance2',
      `GET ${POOL}`,
      'PUT openai-instance1',
      'PUT openai-instance2',
      `PUT ${POOL}`,
    ]);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.actions.map((a) => [a.resource, a.kind, a.plan, a.result])).toEqual([
      ['openai-instance1', 'backend', 'create', 'written'],
      ['openai-instance2', 'backend', 'create', 'written'],
      [POOL, 'pool', 'create', 'written'],
    ]);
    // A create carries no If-Match.
    expect(fake.requests.filter((r) => r.method === 'PUT').map((r) => r.headers['if-match'])).toEqual([undefined, undefined, undefined]);
  });

  it('sends bodies that meet the ARM constraints for single backends and pools', async () => {
    await deploy();
    // Facts (Microsoft.ApiManagement 2024-05-01 + service behaviour): a single backend has url + protocol
    // 'http' and at most one breaker rule; a pool has type 'Pool', no url/protocol, members by full ARM id,
    // priority/weight integers 0–100.
    const single = putBody('openai-instance1');
    expect(single).toEqual({
      url: 'https://aoai-nov26-instance1.openai.azure.com/openai',
      protocol: 'http',
      circuitBreaker: {
        rules: [
          {
            name: 'openai-instance1-breaker',
            failureCondition: { count: 1, interval: 'PT1M', statusCodeRanges: [{ min: 429, max: 429 }] },
            tripDuration: 'PT1M',
            acceptRetryAfter: true,
          },
        ],
      },
    });
    const pool = putBody(POOL);
    expect(pool.type).toBe('Pool');
    expect(pool).not.toHaveProperty('url');
    expect(pool).not.toHaveProperty('protocol');
    const services = (pool.pool as { services: { id: string; priority: number; weight: number }[] }).services;
    expect(services).toEqual([
      { id: `${SERVICE_ID}/backends/openai-instance1`, priority: 1, weight: 2 },
      { id: `${SERVICE_ID}/backends/openai-instance2`, priority: 1, weight: 1 },
    ]);
    for (const member of services) {
      expect(Number.isInteger(member.priority) && member.priority >= 0 && member.priority <= 100).toBe(true);
      expect(Number.isInteger(member.weight) && member.weight >= 0 && member.weight <= 100).toBe(true);
    }
  });

  it('writes nothing the second time', async () => {
    await deploy();
    fake.clearRequests();
    const outcome = await deploy();
    expect(fake.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(fake.requests).toHaveLength(3);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.actions.every((a) => a.plan === 'none' && a.result === 'unchanged')).toBe(true);
    expect(outcome.summary).toMatch(/2 backends unchanged, pool openai-instance-backend-pool unchanged/);
  });

  it('restores a weight changed in the portal by rewriting only the pool, with If-Match', async () => {
    await deploy();
    fake.edit(POOL, (properties) => {
      const services = (properties.pool as { services: { weight?: number }[] }).services;
      services[1]!.weight = 3;
    });
    const etagBefore = fake.backends.get(POOL)!.etag;
    fake.clearRequests();
    const outcome = await deploy();
    expect(fake.calls()).toEqual(['GET openai-instance1', 'GET openai-instance2', `GET ${POOL}`, `PUT ${POOL}`]);
    expect(fake.requests[3]!.headers['if-match']).toBe(etagBefore);
    const poolAction = outcome.actions.find((a) => a.kind === 'pool')!;
    expect(poolAction).toMatchObject({ plan: 'update', result: 'written', changedFields: ['pool.members[openai-instance2].weight'] });
    expect(outcome.summary).toContain('pool.members[openai-instance2].weight 3 → 1');
    expect((putBody(POOL).pool as { services: { weight: number }[] }).services.map((s) => s.weight)).toEqual([2, 1]);
  });

  it('updates only the backend whose URL changed in the definition', async () => {
    await deploy();
    fake.clearRequests();
    const moved = withBackend(makeLabPool(), 'openai-instance2', { url: 'https://aoai-nov26-instance3.openai.azure.com/openai' });
    const outcome = await deploy(moved);
    expect(fake.calls().filter((call) => call.startsWith('PUT'))).toEqual(['PUT openai-instance2']);
    expect(outcome.actions[1]).toMatchObject({ plan: 'update', result: 'written', changedFields: ['url'] });
  });

  it('keeps fields the definition does not manage when it updates a backend', async () => {
    await deploy();
    fake.edit('openai-instance1', (properties) => {
      properties.credentials = { header: { 'x-team': ['ai'] } };
      properties.url = 'https://elsewhere.example.com/openai';
    });
    fake.clearRequests();
    await deploy();
    expect(putBody('openai-instance1')).toMatchObject({
      url: 'https://aoai-nov26-instance1.openai.azure.com/openai',
      credentials: { header: { 'x-team': ['ai'] } },
    });
  });

  it('keeps settings made with newer api-versions (pool session affinity, member and rule extras) when it updates, with If-Match', async () => {
    await deploy();
    fake.edit(POOL, (properties) => {
      const pool = properties.pool as { services: Record<string, unknown>[]; sessionAffinity?: unknown; failureResponse?: unknown };
      pool.sessionAffinity = { sessionId: { source: 'Cookie', name: 'APIM-Backend' } };
      pool.failureResponse = { statusCode: 503 };
      pool.services[0]!.preferredCarbonEmission = 'Low';
      pool.services[1]!.weight = 3;
    });
    fake.edit('openai-instance2', (properties) => {
      properties.credentials = { header: { 'api-key': ['{{aoai-key}}'] } };
      properties.url = 'https://elsewhere.example.com/openai';
      (properties.circuitBreaker as { rules: Record<string, unknown>[] }).rules[0]!.failureResponse = { statusCode: 429 };
    });
    const poolEtag = fake.backends.get(POOL)!.etag;
    fake.clearRequests();
    const outcome = await deploy();
    expect(outcome.status).toBe('succeeded');
    const pool = putBody(POOL).pool as { services: Record<string, unknown>[]; sessionAffinity?: unknown; failureResponse?: unknown };
    expect(pool.sessionAffinity).toEqual({ sessionId: { source: 'Cookie', name: 'APIM-Backend' } });
    expect(pool.failureResponse).toEqual({ statusCode: 503 });
    expect(pool.services[0]).toMatchObject({ preferredCarbonEmission: 'Low', weight: 2 });
    expect(pool.services[1]).toMatchObject({ weight: 1 });
    const poolPut = fake.requests.find((request) => request.method === 'PUT' && request.path.endsWith(`/backends/${POOL}`));
    expect(poolPut?.headers['if-match']).toBe(poolEtag);
    const member = putBody('openai-instance2');
    expect(member).toMatchObject({ url: 'https://aoai-nov26-instance2.openai.azure.com/openai', credentials: { header: { 'api-key': ['{{aoai-key}}'] } } });
    expect((member.circuitBreaker as { rules: Record<string, unknown>[] }).rules[0]).toMatchObject({
      name: 'openai-instance2-breaker',
      failureResponse: { statusCode: 429 },
    });
    // What ARM holds afterwards still carries the unknown fields (the fake keeps them as the service does).
    expect((fake.backends.get(POOL)!.properties.pool as { sessionAffinity?: unknown }).sessionAffinity).toBeDefined();
  });

  it('shows the field-level reason of an ARM validation error (error.details[]), not only the generic top message', async () => {
    fake.script({
      method: 'PUT',
      resource: POOL,
      action: {
        kind: 'respond',
        status: 400,
        body: {
          error: {
            code: 'ValidationError',
            message: 'One or more fields contain incorrect values:',
            details: [{ code: 'ValidationError', target: 'pool.services[1].weight', message: 'Weight must be between 0 and 100.' }],
          },
        },
      },
    });
    const outcome = await deploy();
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toContain('One or more fields contain incorrect values');
    expect(outcome.error?.message).toContain('pool.services[1].weight: Weight must be between 0 and 100. (ValidationError)');
  });

  it('sends a pool update without the connection defaults ARM echoes for backends', async () => {
    await deploy();
    fake.edit(POOL, (properties) => {
      properties.title = 'Lab pool';
      (properties.pool as { services: { weight?: number }[] }).services[1]!.weight = 3;
    });
    fake.clearRequests();
    await deploy();
    const body = putBody(POOL);
    expect(body.title).toBe('Lab pool');
    expect(Object.keys(body).sort()).toEqual(['pool', 'title', 'type']);
  });

  it('treats ARM normalisations as equal: short or upper-case member ids, PT60S for PT1M, reordered members', async () => {
    await deploy();
    fake.edit(POOL, (properties) => {
      properties.pool = {
        services: [
          { id: '/backends/OPENAI-INSTANCE2', priority: 1, weight: 1 },
          { id: `${SERVICE_ID.toUpperCase()}/backends/openai-instance1`, priority: 1, weight: 2 },
        ],
      };
    });
    fake.edit('openai-instance1', (properties) => {
      const rule = (properties.circuitBreaker as { rules: { tripDuration: string }[] }).rules[0]!;
      rule.tripDuration = 'PT60S';
      properties.url = 'https://AOAI-NOV26-INSTANCE1.openai.azure.com/openai/';
    });
    fake.clearRequests();
    const outcome = await deploy();
    expect(fake.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);
    expect(outcome.status).toBe('succeeded');
  });

  describe('concurrent changes (412)', () => {
    it('re-reads and re-compares, then writes with the new ETag', async () => {
      await deploy();
      fake.edit(POOL, (properties) => {
        (properties.pool as { services: { weight?: number }[] }).services[0]!.weight = 50;
      });
      // Between our GET and our PUT someone edits the pool again (the PUT then meets a stale ETag).
      let etagAfterEdit = '';
      fake.script({
        method: 'PUT',
        resource: POOL,
        action: {
          kind: 'run',
          run: () => {
            fake.edit(POOL, (p) => ((p.pool as { services: { weight?: number }[] }).services[1]!.weight = 9));
            etagAfterEdit = fake.backends.get(POOL)!.etag;
          },
        },
      });
      fake.clearRequests();
      const outcome = await deploy();
      expect(fake.calls().slice(3)).toEqual([`PUT ${POOL}`, `GET ${POOL}`, `PUT ${POOL}`]);
      expect(fake.requests[3]!.headers['if-match']).not.toBe(etagAfterEdit);
      expect(fake.requests[5]!.headers['if-match']).toBe(etagAfterEdit);
      expect(outcome.actions[2]!.changedFields).toEqual(['pool.members[openai-instance1].weight', 'pool.members[openai-instance2].weight']);
      expect(outcome.status).toBe('succeeded');
      expect((fake.backends.get(POOL)!.properties.pool as { services: { weight: number }[] }).services.map((s) => s.weight)).toEqual([2, 1]);
    });

    it('does not write when the re-read shows someone already made it match', async () => {
      await deploy();
      fake.edit(POOL, (properties) => {
        (properties.pool as { services: { weight?: number }[] }).services[0]!.weight = 50;
      });
      fake.script({
        method: 'PUT',
        resource: POOL,
        action: { kind: 'run', run: () => fake.edit(POOL, (p) => ((p.pool as { services: { weight?: number }[] }).services[0]!.weight = 2)) },
      });
      fake.clearRequests();
      const outcome = await deploy();
      expect(fake.calls().slice(3)).toEqual([`PUT ${POOL}`, `GET ${POOL}`]);
      expect(outcome.actions[2]).toMatchObject({ result: 'unchanged' });
      expect(outcome.status).toBe('succeeded');
    });

    it('gives up after three conflicting rounds and never overwrites blindly', async () => {
      await deploy();
      fake.edit(POOL, (properties) => {
        (properties.pool as { services: { weight?: number }[] }).services[0]!.weight = 50;
      });
      fake.script({ method: 'PUT', resource: POOL, times: 10, action: { kind: 'respond', status: 412, body: { error: { code: 'PreconditionFailed', message: 'etag' } } } });
      fake.clearRequests();
      const outcome = await deploy();
      const puts = fake.requests.filter((r) => r.method === 'PUT');
      expect(puts).toHaveLength(3);
      expect(puts.every((put) => typeof put.headers['if-match'] === 'string' && put.headers['if-match'] !== '*')).toBe(true);
      expect(outcome.status).toBe('failed');
      expect(outcome.actions[2]).toMatchObject({ result: 'failed', error: { status: 412 } });
      expect(outcome.error?.message).toMatch(/changed 3 times/);
    });
  });

  describe('partial failure', () => {
    it('reports the backends written and the pool failed when the pool PUT fails', async () => {
      fake.script({ method: 'PUT', resource: POOL, action: { kind: 'respond', status: 400, body: { error: { code: 'ValidationError', message: 'Url is not supported for backend pool.' } } } });
      const outcome = await deploy();
      expect(outcome.status).toBe('failed');
      expect(outcome.actions.map((a) => a.result)).toEqual(['written', 'written', 'failed']);
      expect(outcome.actions[2]!.error).toMatchObject({ code: 'ValidationError', status: 400, operation: `PUT backends/${POOL}` });
      expect(outcome.error?.code).toBe('ValidationError');
    });

    it('does not attempt the pool when the second backend fails, and names the missing role', async () => {
      fake.script({
        method: 'PUT',
        resource: 'openai-instance2',
        action: { kind: 'respond', status: 403, body: { error: { code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action write.' } } },
      });
      const outcome = await deploy();
      expect(outcome.actions.map((a) => a.result)).toEqual(['written', 'failed', 'not-attempted']);
      expect(fake.calls()).not.toContain(`PUT ${POOL}`);
      expect(outcome.actions[1]!.error?.message).toContain('API Management Service Contributor');
      expect(outcome.actions[1]!.error?.message).toContain('system-assigned managed identity');
      expect(outcome.summary).toContain('not attempted');
      expect(JSON.stringify(outcome)).not.toContain(SECRET_TOKEN);
    });

    it('writes nothing when a read fails, and says which', async () => {
      fake.script({ method: 'GET', resource: 'openai-instance2', action: { kind: 'respond', status: 403, body: { error: { code: 'AuthorizationFailed', message: 'no read' } } } });
      const outcome = await deploy();
      expect(outcome.status).toBe('failed');
      expect(fake.requests.filter((r) => WRITE_METHODS.includes(r.method))).toEqual([]);
      expect(outcome.actions[1]).toMatchObject({ result: 'failed', phase: 'read' });
      expect(outcome.actions[1]!.error?.message).toContain('API Management Service Reader');
      expect(JSON.stringify(outcome)).not.toContain(SECRET_TOKEN);
    });

    it('retries a throttled write and then succeeds', async () => {
      fake.script({ method: 'PUT', resource: 'openai-instance1', action: { kind: 'respond', status: 429, headers: { 'Retry-After': '2' } } });
      const outcome = await deploy();
      expect(outcome.status).toBe('succeeded');
      expect(sleeps).toEqual([2_000]);
    });
  });

  describe('no writes', () => {
    it('verify-only reads and plans but never writes', async () => {
      await deploy();
      fake.edit(POOL, (p) => ((p.pool as { services: { weight?: number }[] }).services[1]!.weight = 3));
      fake.clearRequests();
      const outcome = await deploy(makeLabPool(), { mode: 'verify-only' });
      expect(fake.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);
      expect(outcome.status).toBe('skipped');
      expect(outcome.mode).toBe('verify-only');
      expect(outcome.actions.map((a) => a.result)).toEqual(['unchanged', 'unchanged', 'planned']);
      expect(outcome.summary).toMatch(/^Verify-only, nothing written: .*pool.members\[openai-instance2\].weight 3 → 1/);
    });

    it('a dry run on an empty service plans three creates and writes nothing', async () => {
      const outcome = await deploy(makeLabPool(), { dryRun: true });
      expect(fake.requests.filter((r) => WRITE_METHODS.includes(r.method))).toEqual([]);
      expect(outcome.actions.map((a) => [a.plan, a.result])).toEqual([
        ['create', 'planned'],
        ['create', 'planned'],
        ['create', 'planned'],
      ]);
      expect(outcome.summary).toMatch(/^Dry run/);
    });

    it('skips with a clear summary when no APIM service is set', async () => {
      const outcome = await deployPool(makeLabPool({ apim: undefined }), { client, mode: 'deploy' });
      expect(outcome.status).toBe('skipped');
      expect(outcome.summary).toMatch(/No APIM service/);
      expect(fake.requests).toHaveLength(0);
    });

    it('uses the pool’s own APIM location when none is passed', async () => {
      const outcome = await deployPool(makeLabPool(), { client, mode: 'deploy' });
      expect(outcome.status).toBe('succeeded');
    });

    it('refuses an invalid service name before any request', async () => {
      const outcome = await deployPool(makeLabPool(), {
        client,
        location: { ...LAB_LOCATION, serviceName: 'apim nov26/x' },
        mode: 'deploy',
      });
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.code).toBe('InvalidDefinition');
      expect(outcome.error?.message).toContain('apim.serviceName');
      expect(fake.requests).toHaveLength(0);
    });

    it('refuses to turn an existing single backend named like the pool into a pool', async () => {
      fake.seed(POOL, { url: 'https://legacy.example.com/openai', protocol: 'http' });
      const outcome = await deploy();
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.code).toBe('ConflictingResource');
      expect(outcome.error?.message).toContain(`${POOL} already exists as a`);
      expect(fake.requests.filter((r) => WRITE_METHODS.includes(r.method))).toEqual([]);
    });

    it('refuses to deploy when a member already exists as a pool', async () => {
      fake.seed('openai-instance2', { type: 'Pool', pool: { services: [{ id: `${SERVICE_ID}/backends/x` }] } });
      const outcome = await deploy();
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.message).toMatch(/openai-instance2 already exists as a pool/);
      expect(outcome.actions.every((a) => a.result === 'not-attempted')).toBe(true);
      expect(fake.requests.filter((r) => WRITE_METHODS.includes(r.method))).toEqual([]);
    });
  });

  describe('failures that are not outcomes', () => {
    it('reports an abort as a failed outcome rather than throwing', async () => {
      const controller = new AbortController();
      controller.abort();
      const outcome = await deployPool(makeLabPool(), { client, location: LAB_LOCATION, mode: 'deploy', signal: controller.signal });
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.code).toBe('Aborted');
      expect(fake.requests).toHaveLength(0);
    });

    it('stops at the overall deadline when ARM never answers a read, and says nothing was written', async () => {
      fake.script({ method: 'GET', resource: 'openai-instance2', action: { kind: 'hang' } });
      const started = Date.now();
      const outcome = await deployPool(makeLabPool(), { client, location: LAB_LOCATION, mode: 'deploy', deadlineInMs: 300 });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.code).toBe('DeployDeadlineExceeded');
      expect(outcome.summary).toMatch(/did not finish within 0\.3 s \(DEPLOY_DEADLINE_SECONDS\)/);
      expect(outcome.summary).toMatch(/Nothing was written\./);
      expect(outcome.summary).toContain(`Not written: backend openai-instance1, backend openai-instance2, pool ${POOL}.`);
      expect(fake.requests.filter((r) => WRITE_METHODS.includes(r.method))).toEqual([]);
    });

    it('stops at the deadline during the writes, naming what was written and the write left in doubt', async () => {
      fake.script({ method: 'PUT', resource: 'openai-instance2', action: { kind: 'hang' } });
      const outcome = await deployPool(makeLabPool(), { client, location: LAB_LOCATION, mode: 'deploy', deadlineInMs: 300 });
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.code).toBe('DeployDeadlineExceeded');
      expect(outcome.summary).toContain('the write of backend openai-instance2 was in flight, so ARM may or may not have applied it');
      expect(outcome.summary).toContain('Written: backend openai-instance1.');
      expect(outcome.summary).toContain(`Not written: backend openai-instance2, pool ${POOL}.`);
      expect(outcome.actions.map((a) => a.result)).toEqual(['written', 'failed', 'not-attempted']);
    });

    it('throws when the client has a bug (not an ArmRequestError)', async () => {
      const broken: ArmClient = { ...client, getBackend: async () => Promise.reject(new TypeError('bug')) };
      await expect(deployPool(makeLabPool(), { client: broken, location: LAB_LOCATION, mode: 'deploy' })).rejects.toThrow(TypeError);
    });
  });
});
