import { createArmClient, type ArmClient } from '../../../src/lib/deploy/armClient';
import { compareDeployed } from '../../../src/lib/deploy/compareDeployed';
import { deployPool } from '../../../src/lib/deploy/deployPool';
import { DeployedPoolError } from '../../../src/lib/deploy/DeployedPoolError';
import { readDeployedPool } from '../../../src/lib/deploy/readDeployedPool';
import { startFakeArmServer, type FakeArmServer } from './fakeArmServer';
import { fakeCredential, LAB_LOCATION, labBreaker, makeBackend, makeLabPool, withBackend } from './poolFixtures';

const CHECKED_AT = '2026-11-25T03:00:00.000Z';
const POOL = 'openai-instance-backend-pool';

describe('compareDeployed', () => {
  it('finds no difference between identical definitions', () => {
    expect(compareDeployed(makeLabPool(), makeLabPool(), CHECKED_AT)).toEqual({ checkedAt: CHECKED_AT, differences: [] });
  });

  it('reports a weight changed in the portal', () => {
    const deployed = withBackend(makeLabPool(), 'openai-instance2', { weight: 3 });
    expect(compareDeployed(makeLabPool(), deployed, CHECKED_AT).differences).toEqual([
      { resource: POOL, field: 'pool.members[openai-instance2].weight', declared: 1, deployed: 3 },
    ]);
  });

  it('reports a changed priority', () => {
    const deployed = withBackend(makeLabPool(), 'openai-instance1', { priority: 2 });
    expect(compareDeployed(makeLabPool(), deployed, CHECKED_AT).differences).toEqual([
      { resource: POOL, field: 'pool.members[openai-instance1].priority', declared: 1, deployed: 2 },
    ]);
  });

  it('reports a member removed from the pool and one added to it', () => {
    const lab = makeLabPool();
    const deployed = { ...lab, backends: [lab.backends[0]!, makeBackend({ name: 'openai-instance9', weight: 1 })] };
    expect(compareDeployed(lab, deployed, CHECKED_AT).differences).toEqual([
      { resource: POOL, field: 'pool.members[openai-instance2]', declared: 'present', deployed: null },
      { resource: POOL, field: 'pool.members[openai-instance9]', declared: null, deployed: 'present' },
    ]);
  });

  it('reports a changed URL', () => {
    const deployed = withBackend(makeLabPool(), 'openai-instance1', { url: 'https://aoai-other.openai.azure.com/openai' });
    expect(compareDeployed(makeLabPool(), deployed, CHECKED_AT).differences).toEqual([
      {
        resource: 'openai-instance1',
        field: 'url',
        declared: 'https://aoai-nov26-instance1.openai.azure.com/openai',
        deployed: 'https://aoai-other.openai.azure.com/openai',
      },
    ]);
  });

  it('reports each breaker field that changed', () => {
    const rule = labBreaker('openai-instance2-breaker');
    const deployed = withBackend(makeLabPool(), 'openai-instance2', {
      circuitBreaker: {
        ...rule,
        tripDuration: 'PT5M',
        acceptRetryAfter: false,
        failureCondition: { ...rule.failureCondition, count: 3, statusCodeRanges: [{ min: 429, max: 429 }, { min: 500, max: 599 }] },
      },
    });
    expect(compareDeployed(makeLabPool(), deployed, CHECKED_AT).differences).toEqual([
      { resource: 'openai-instance2', field: 'circuitBreaker.failureCondition.count', declared: 1, deployed: 3 },
      { resource: 'openai-instance2', field: 'circuitBreaker.failureCondition.statusCodeRanges', declared: '429-429', deployed: '429-429,500-599' },
      { resource: 'openai-instance2', field: 'circuitBreaker.tripDuration', declared: 'PT1M', deployed: 'PT5M' },
      { resource: 'openai-instance2', field: 'circuitBreaker.acceptRetryAfter', declared: true, deployed: false },
    ]);
  });

  it('reports a breaker removed in the portal', () => {
    const deployed = withBackend(makeLabPool(), 'openai-instance1', { circuitBreaker: undefined });
    const [difference, ...rest] = compareDeployed(makeLabPool(), deployed, CHECKED_AT).differences;
    expect(rest).toEqual([]);
    expect(difference).toMatchObject({ resource: 'openai-instance1', field: 'circuitBreaker', deployed: null });
    expect(difference!.declared).toMatch(/count 1 in PT1M on 429-429, trip PT1M/);
  });

  it('treats equal durations written differently and member-name case as equal', () => {
    const lab = makeLabPool();
    const rule = labBreaker('openai-instance1-breaker');
    const deployed = {
      ...lab,
      backends: [
        { ...lab.backends[0]!, name: 'OpenAI-Instance1', circuitBreaker: { ...rule, tripDuration: 'PT60S' } },
        lab.backends[1]!,
      ],
    };
    expect(compareDeployed(lab, deployed, CHECKED_AT).differences).toEqual([]);
  });
});

describe('readDeployedPool', () => {
  let fake: FakeArmServer;
  let client: ArmClient;

  beforeAll(async () => {
    fake = await startFakeArmServer();
    client = createArmClient({ endpoint: fake.endpoint, credential: fakeCredential, apiVersion: '2024-05-01', retry: { maxRetries: 0 } });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('reads what deployPool wrote back as the same definition, with regions from the declared file', async () => {
    const lab = makeLabPool();
    await deployPool(lab, { client, location: LAB_LOCATION, mode: 'deploy' });
    fake.clearRequests();
    const deployed = await readDeployedPool({ client, location: LAB_LOCATION, poolName: POOL, declared: lab });
    expect(fake.requests.every((request) => request.method === 'GET')).toBe(true);
    expect(deployed.pool.backends.map((b) => [b.name, b.region, b.priority, b.weight, b.url])).toEqual([
      ['openai-instance1', 'West US', 1, 2, 'https://aoai-nov26-instance1.openai.azure.com/openai'],
      ['openai-instance2', 'East US', 1, 1, 'https://aoai-nov26-instance2.openai.azure.com/openai'],
    ]);
    expect(deployed.pool.backends.map((b) => b.expectedShare)).toEqual([2 / 3, 1 / 3]);
    expect(deployed.pool.backends[0]!.circuitBreaker).toEqual(labBreaker('openai-instance1-breaker'));
    expect(compareDeployed(lab, deployed, CHECKED_AT).differences).toEqual([]);
  });

  it('computes the expectation from the deployed weights and priorities, not the declared ones', async () => {
    const lab = makeLabPool();
    await deployPool(lab, { client, location: LAB_LOCATION, mode: 'deploy' });
    fake.edit(POOL, (properties) => {
      const services = (properties.pool as { services: { weight?: number; priority?: number }[] }).services;
      services[0]!.weight = 3;
      services[1]!.priority = 2;
    });
    const deployed = await readDeployedPool({ client, location: LAB_LOCATION, poolName: POOL, declared: lab });
    expect(deployed.pool.backends.map((b) => [b.expectedShare, b.isPrimary])).toEqual([
      [1, true],
      [0, false],
    ]);
    expect(compareDeployed(lab, deployed, CHECKED_AT).differences.map((d) => d.field)).toEqual([
      'pool.members[openai-instance1].weight',
      'pool.members[openai-instance2].priority',
    ]);
  });

  it('lists a member that does not exist and reports it as a difference', async () => {
    fake.seed('openai-instance1', { url: 'https://aoai-nov26-instance1.openai.azure.com/openai', protocol: 'http' });
    fake.seed(POOL, {
      type: 'Pool',
      pool: { services: [{ id: '/backends/openai-instance1', weight: 1 }, { id: '/backends/openai-instance2', weight: 1 }] },
    });
    const deployed = await readDeployedPool({ client, location: LAB_LOCATION, poolName: POOL, declared: makeLabPool() });
    expect(deployed.raw.missingMembers).toEqual(['openai-instance2']);
    const fields = compareDeployed(makeLabPool(), deployed, CHECKED_AT).differences.map((d) => `${d.resource}:${d.field}`);
    expect(fields).toContain('openai-instance2:exists');
  });

  it('throws a DeployedPoolError when the pool does not exist or is not a pool', async () => {
    await expect(readDeployedPool({ client, location: LAB_LOCATION, poolName: POOL })).rejects.toMatchObject({ code: 'PoolNotFound' });
    fake.seed(POOL, { url: 'https://x.example.com', protocol: 'http' });
    const error = await readDeployedPool({ client, location: LAB_LOCATION, poolName: POOL }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployedPoolError);
    expect(error).toMatchObject({ code: 'NotAPool' });
  });

  it('works without a declared file: no regions, default probe settings', async () => {
    await deployPool(makeLabPool(), { client, location: LAB_LOCATION, mode: 'deploy' });
    const deployed = await readDeployedPool({ client, location: LAB_LOCATION, poolName: POOL });
    expect(deployed.pool.backends.map((b) => b.region)).toEqual([undefined, undefined]);
    expect(deployed.pool.probe.identify).toEqual({ mode: 'region', header: 'x-ms-region' });
  });
});
