import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator';
import { API_VERSION, arm, LAB_BREAKER, readJson, serviceId } from './armClient';

const single = (host = 'aoai-nov26-instance1.openai.azure.com') => ({
  properties: { url: `https://${host}/openai`, protocol: 'http', circuitBreaker: { rules: [LAB_BREAKER] } },
});

describe('ARM management endpoint (Microsoft.ApiManagement backends)', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await startEmbeddedEnvironment({ latencyScale: 0 });
  });
  afterAll(() => env.close());
  beforeEach(async () => {
    for (const name of ['pool', 'b1', 'b2', 'inner-pool']) {
      await arm(env, 'DELETE', `/backends/${name}`);
    }
  });

  it('answers 401 in the ARM error shape without a bearer token', async () => {
    const missing = await fetch(`${env.armEndpoint}${serviceId(env)}/backends?api-version=${API_VERSION}`);
    expect(missing.status).toBe(401);
    expect((await readJson(missing)).error.code).toBe('AuthenticationFailed');
    const basic = await arm(env, 'GET', '/backends', undefined, { authorization: 'Basic abc' });
    expect(basic.status).toBe(401);
    expect(basic.body.error.code).toBe('InvalidAuthenticationToken');
  });

  it('requires the api-version query parameter', async () => {
    const answer = await arm(env, 'GET', '/backends', undefined, {}, '');
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('MissingApiVersionParameter');
  });

  it('creates with 201, updates with 200, and returns the resource body with a new ETag each write', async () => {
    const created = await arm(env, 'PUT', '/backends/b1', single());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: `${serviceId(env)}/backends/b1`,
      type: 'Microsoft.ApiManagement/service/backends',
      name: 'b1',
      properties: { url: 'https://aoai-nov26-instance1.openai.azure.com/openai', protocol: 'http' },
    });
    expect(created.etag).toMatch(/^".+"$/);
    const updated = await arm(env, 'PUT', '/backends/b1', single('other.openai.azure.com'));
    expect(updated.status).toBe(200);
    expect(updated.etag).not.toBe(created.etag);
    const read = await arm(env, 'GET', '/backends/b1');
    expect(read.status).toBe(200);
    expect(read.etag).toBe(updated.etag);
    expect(read.body.properties.url).toBe('https://other.openai.azure.com/openai');
  });

  it('keeps pool and member fields it does not model (settings made with newer api-versions), as the service does', async () => {
    await arm(env, 'PUT', '/backends/b1', single());
    await arm(env, 'PUT', '/backends/b2', single('aoai-nov26-instance2.openai.azure.com'));
    const body = {
      properties: {
        type: 'Pool',
        pool: {
          services: [
            { id: `${serviceId(env)}/backends/b1`, priority: 1, weight: 2, preferredCarbonEmission: 'Low' },
            { id: `${serviceId(env)}/backends/b2`, priority: 1, weight: 1 },
          ],
          sessionAffinity: { sessionId: { source: 'Cookie', name: 'APIM-Backend' } },
        },
      },
    };
    expect((await arm(env, 'PUT', '/backends/pool', body)).status).toBe(201);
    const read = await arm(env, 'GET', '/backends/pool');
    expect(read.body.properties.pool.sessionAffinity).toEqual({ sessionId: { source: 'Cookie', name: 'APIM-Backend' } });
    expect(read.body.properties.pool.services[0]).toMatchObject({ preferredCarbonEmission: 'Low', weight: 2 });
  });

  it('honours If-Match on PUT: 412 on a stale tag, success on the current tag or *', async () => {
    const created = await arm(env, 'PUT', '/backends/b1', single());
    const updated = await arm(env, 'PUT', '/backends/b1', single(), { 'if-match': created.etag ?? '' });
    expect(updated.status).toBe(200);
    const stale = await arm(env, 'PUT', '/backends/b1', single(), { 'if-match': created.etag ?? '' });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('PreconditionFailed');
    const star = await arm(env, 'PUT', '/backends/b1', single(), { 'if-match': '*' });
    expect(star.status).toBe(200);
  });

  it('deletes with 200, answers 204 when nothing is there, honours If-Match, and 404s a deleted backend', async () => {
    const created = await arm(env, 'PUT', '/backends/b1', single());
    const stale = await arm(env, 'DELETE', '/backends/b1', undefined, { 'if-match': '"not-the-tag"' });
    expect(stale.status).toBe(412);
    const deleted = await arm(env, 'DELETE', '/backends/b1', undefined, { 'if-match': created.etag ?? '' });
    expect(deleted.status).toBe(200);
    expect(deleted.etag).toBeTruthy();
    expect((await arm(env, 'DELETE', '/backends/b1')).status).toBe(204);
    const missing = await arm(env, 'GET', '/backends/b1');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('ResourceNotFound');
  });

  it('rejects a pool carrying url or protocol', async () => {
    await arm(env, 'PUT', '/backends/b1', single());
    const answer = await arm(env, 'PUT', '/backends/pool', {
      properties: { type: 'Pool', url: 'https://x', protocol: 'http', pool: { services: [{ id: '/backends/b1' }] } },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toBe('Url is not supported for backend pool.');
  });

  it.each([
    ['weight', 101],
    ['weight', -1],
    ['weight', 1.5],
    ['priority', 101],
    ['priority', '1'],
  ])('rejects %s %p outside the integers 0–100, naming the field', async (field, value) => {
    await arm(env, 'PUT', '/backends/b1', single());
    const answer = await arm(env, 'PUT', '/backends/pool', {
      properties: { type: 'Pool', pool: { services: [{ id: '/backends/b1', [field]: value }] } },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('ValidationError');
    expect(answer.body.error.details[0].target).toBe(`pool.services[0].${field}`);
  });

  it('rejects pool members that do not exist or are pools themselves', async () => {
    const missing = await arm(env, 'PUT', '/backends/pool', {
      properties: { type: 'Pool', pool: { services: [{ id: `${serviceId(env)}/backends/nope` }] } },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('nope');
    await arm(env, 'PUT', '/backends/b1', single());
    expect((await arm(env, 'PUT', '/backends/inner-pool', { properties: { type: 'Pool', pool: { services: [{ id: '/backends/b1' }] } } })).status).toBe(201);
    const nested = await arm(env, 'PUT', '/backends/pool', {
      properties: { type: 'Pool', pool: { services: [{ id: '/backends/inner-pool' }] } },
    });
    expect(nested.status).toBe(400);
    expect(nested.body.error.message).toContain('pool');
  });

  it('rejects a pool of more than 30 members', async () => {
    await arm(env, 'PUT', '/backends/b1', single());
    const services = Array.from({ length: 31 }, () => ({ id: '/backends/b1' }));
    const answer = await arm(env, 'PUT', '/backends/pool', { properties: { type: 'Pool', pool: { services } } });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('at most 30');
  });

  it('rejects more than one circuit-breaker rule', async () => {
    const answer = await arm(env, 'PUT', '/backends/b1', {
      properties: { url: 'https://h/openai', protocol: 'http', circuitBreaker: { rules: [LAB_BREAKER, LAB_BREAKER] } },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].target).toBe('circuitBreaker.rules');
  });

  it('rejects a circuit-breaker rule with a non-ISO duration', async () => {
    const answer = await arm(env, 'PUT', '/backends/b1', {
      properties: { url: 'https://h/openai', protocol: 'http', circuitBreaker: { rules: [{ ...LAB_BREAKER, tripDuration: '60s' }] } },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].target).toBe('circuitBreaker.rules[0].tripDuration');
  });

  it('rejects a single backend without url and protocol', async () => {
    const answer = await arm(env, 'PUT', '/backends/b1', { properties: { title: 'no url' } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.map((detail: { target: string }) => detail.target).sort()).toEqual(['protocol', 'url']);
  });

  it('accepts members by full ARM id and by the short /backends/<name> form, storing the full id', async () => {
    await arm(env, 'PUT', '/backends/b1', single());
    await arm(env, 'PUT', '/backends/b2', single('aoai-nov26-instance2.openai.azure.com'));
    const answer = await arm(env, 'PUT', '/backends/pool', {
      properties: { type: 'Pool', pool: { services: [{ id: '/backends/b1', weight: 2 }, { id: `${serviceId(env)}/backends/b2`, weight: 1 }] } },
    });
    expect(answer.status).toBe(201);
    expect(answer.body.properties.pool.services).toEqual([
      { id: `${serviceId(env)}/backends/b1`, weight: 2 },
      { id: `${serviceId(env)}/backends/b2`, weight: 1 },
    ]);
    expect(answer.body.properties.url).toBeUndefined();
  });

  it('treats paths case-insensitively and tolerates double slashes', async () => {
    await arm(env, 'PUT', '/backends/b1', single());
    const path = `${serviceId(env)}/backends/B1`.toUpperCase().replace('/PROVIDERS', '//providers');
    const response = await fetch(`${env.armEndpoint}/${path}?api-version=${API_VERSION}`, { headers: { authorization: 'Bearer t' } });
    expect(response.status).toBe(200);
    expect((await readJson(response)).name).toBe('b1');
  });

  it('lists backends as {value: [...]}', async () => {
    await arm(env, 'PUT', '/backends/b1', single());
    const answer = await arm(env, 'GET', '/backends');
    expect(answer.status).toBe(200);
    expect(answer.etag).toBeTruthy();
    expect(answer.body.value.map((backend: { name: string }) => backend.name)).toContain('b1');
  });

  it('404s a backend of another APIM service', async () => {
    const response = await fetch(
      `${env.armEndpoint}/subscriptions/${env.apim.subscriptionId}/resourceGroups/${env.apim.resourceGroup}/providers/Microsoft.ApiManagement/service/other/backends/b1?api-version=${API_VERSION}`,
      { headers: { authorization: 'Bearer t' } },
    );
    expect(response.status).toBe(404);
    expect((await readJson(response)).error.code).toBe('ResourceNotFound');
  });

  it("serves the lab's API policy until another one is PUT", async () => {
    const initial = await arm(env, 'GET', '/apis/azure-openai/policies/policy', undefined, {}, `?api-version=${API_VERSION}&format=rawxml`);
    expect(initial.status).toBe(200);
    expect(initial.body.properties.format).toBe('rawxml');
    expect(initial.body.properties.value).toContain('<set-backend-service backend-id="openai-instance-backend-pool" />');
    expect(initial.body.properties.value).toContain('count="2" interval="0" first-fast-retry="true"');
    const xml = '<policies><inbound><base /></inbound><backend><forward-request /></backend><outbound /><on-error /></policies>';
    const put = await arm(env, 'PUT', '/apis/azure-openai/policies/policy', { properties: { format: 'rawxml', value: xml } });
    expect(put.status).toBe(201);
    const read = await arm(env, 'GET', '/apis/azure-openai/policies/policy', undefined, {}, `?api-version=${API_VERSION}&format=rawxml`);
    expect(read.body.properties.value).toBe(xml);
  });

  it('logs every ARM request with method, path and status', async () => {
    const before = env.armLog.length;
    await arm(env, 'GET', '/backends/does-not-exist');
    const entry = env.armLog[before];
    expect(entry).toMatchObject({ method: 'GET', status: 404 });
    expect(entry?.path).toContain('/backends/does-not-exist');
  });
});
