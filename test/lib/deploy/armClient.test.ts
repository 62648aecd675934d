import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { abortableSleep, ArmRequestError, createArmClient, retryAfterInMs, type ArmClientOptions } from '../../../src/lib/deploy/armClient';
import { startFakeArmServer, type FakeArmServer } from './fakeArmServer';
import { fakeCredential, LAB_LOCATION, SECRET_TOKEN } from './poolFixtures';

const AUTHORIZATION_FAILED_WRITE = {
  error: {
    code: 'AuthorizationFailed',
    message:
      "The client '11111111-2222-3333-4444-555555555555' with object id '11111111-2222-3333-4444-555555555555' does not have " +
      "authorization to perform action 'Microsoft.ApiManagement/service/backends/write' over scope " +
      "'/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26/backends/openai-instance1' " +
      'or the scope is invalid. If access was recently granted, please refresh your credentials.',
  },
};

const SINGLE = { url: 'https://aoai-nov26-instance1.openai.azure.com/openai', protocol: 'http' };

describe('createArmClient', () => {
  let fake: FakeArmServer;
  let sleeps: number[];
  let clock: number;

  beforeAll(async () => {
    fake = await startFakeArmServer();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    sleeps = [];
    // A whole second, so that an HTTP-date Retry-After (second resolution) maps to an exact delay.
    clock = Date.UTC(2026, 10, 25, 3, 0, 0);
  });

  function client(overrides: Partial<ArmClientOptions> = {}) {
    return createArmClient({
      endpoint: fake.endpoint,
      credential: fakeCredential,
      apiVersion: '2024-05-01',
      identityDescription: 'system-assigned managed identity',
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
      now: () => clock,
      random: () => 0.5,
      ...overrides,
    });
  }

  function leaksToken(value: unknown): boolean {
    return (
      JSON.stringify(value).includes(SECRET_TOKEN) ||
      inspect(value, { depth: 10, showHidden: true }).includes(SECRET_TOKEN)
    );
  }

  it('returns null for a backend that does not exist and the body and ETag for one that does', async () => {
    const arm = client();
    expect(await arm.getBackend(LAB_LOCATION, 'openai-instance1')).toBeNull();
    const put = await arm.putBackend(LAB_LOCATION, 'openai-instance1', SINGLE);
    expect(put.created).toBe(true);
    expect(put.etag).toMatch(/^"etag-\d+"$/);
    const read = await arm.getBackend(LAB_LOCATION, 'openai-instance1');
    expect(read?.etag).toBe(put.etag);
    expect(read?.body.properties.url).toBe(SINGLE.url);

    const request = fake.requests[0]!;
    expect(request.path).toBe(
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26/backends/openai-instance1',
    );
    expect(request.query['api-version']).toBe('2024-05-01');
    expect(request.headers.authorization).toBe(`Bearer ${SECRET_TOKEN}`);
  });

  it('reports created=false when a PUT replaces an existing backend, and sends If-Match when given', async () => {
    const arm = client();
    const first = await arm.putBackend(LAB_LOCATION, 'b1', SINGLE);
    const second = await arm.putBackend(LAB_LOCATION, 'b1', { ...SINGLE, description: 'x' }, { ifMatch: first.etag! });
    expect(second.created).toBe(false);
    expect(fake.requests[1]!.headers['if-match']).toBe(first.etag);
  });

  it('throws a 412 ArmRequestError when If-Match is stale', async () => {
    const arm = client();
    await arm.putBackend(LAB_LOCATION, 'b1', SINGLE);
    const error = await arm.putBackend(LAB_LOCATION, 'b1', SINGLE, { ifMatch: '"stale"' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmRequestError);
    expect(error).toMatchObject({ status: 412, code: 'PreconditionFailed', operation: 'PUT backends/b1' });
    expect(fake.requests).toHaveLength(2);
  });

  it('reads the raw XML of an API policy from properties.value with format=rawxml, null when absent', async () => {
    const arm = client();
    expect(await arm.getApiPolicy(LAB_LOCATION, 'azure-openai-api')).toBeNull();
    fake.policies.set('azure-openai-api', '<policies><inbound><base /></inbound></policies>');
    expect(await arm.getApiPolicy(LAB_LOCATION, 'azure-openai-api')).toBe('<policies><inbound><base /></inbound></policies>');
    expect(fake.requests[1]!.path).toMatch(/\/service\/apim-nov26\/apis\/azure-openai-api\/policies\/policy$/);
    expect(fake.requests[1]!.query.format).toBe('rawxml');
  });

  it('deletes with If-Match * and reports whether the backend existed', async () => {
    const arm = client();
    await arm.putBackend(LAB_LOCATION, 'b1', SINGLE);
    expect(await arm.deleteBackend(LAB_LOCATION, 'b1')).toBe(true);
    expect(fake.requests[1]!.headers['if-match']).toBe('*');
    expect(await arm.deleteBackend(LAB_LOCATION, 'b1')).toBe(false);
  });

  describe('retries', () => {
    it('waits the Retry-After seconds of a 429 before retrying', async () => {
      fake.script({ method: 'GET', action: { kind: 'respond', status: 429, headers: { 'Retry-After': '7' }, body: { error: { code: 'TooManyRequests', message: 'slow down' } } } });
      expect(await client().getBackend(LAB_LOCATION, 'b1')).toBeNull();
      expect(sleeps).toEqual([7_000]);
      expect(fake.requests).toHaveLength(2);
    });

    it('waits until the HTTP-date of a Retry-After', async () => {
      const at = new Date(clock + 5_000).toUTCString();
      fake.script({ method: 'GET', action: { kind: 'respond', status: 503, headers: { 'Retry-After': at } } });
      expect(await client().getBackend(LAB_LOCATION, 'b1')).toBeNull();
      expect(sleeps).toEqual([5_000]);
    });

    it('grows the backoff exponentially with full jitter when no Retry-After is given', async () => {
      fake.script({ method: 'GET', times: 3, action: { kind: 'respond', status: 500, body: { error: { code: 'InternalServerError', message: 'oops' } } } });
      expect(await client({ random: () => 0.5 }).getBackend(LAB_LOCATION, 'b1')).toBeNull();
      // Full jitter: delay = random() × min(maxDelay, base × 2^attempt) = 0.5 × 1000, 2000, 4000.
      expect(sleeps).toEqual([500, 1_000, 2_000]);
    });

    it('draws each delay from the jitter source (random 0 → no wait)', async () => {
      fake.script({ method: 'GET', times: 2, action: { kind: 'respond', status: 502 } });
      await client({ random: () => 0 }).getBackend(LAB_LOCATION, 'b1');
      expect(sleeps).toEqual([0, 0]);
    });

    it('caps one delay at maxDelayInMs', async () => {
      fake.script({ method: 'GET', times: 4, action: { kind: 'respond', status: 500 } });
      await client({ random: () => 0.999, retry: { maxRetries: 4, baseDelayInMs: 1_000, maxDelayInMs: 3_000 } }).getBackend(LAB_LOCATION, 'b1');
      expect(sleeps).toEqual([999, 1_998, 2_997, 2_997]);
    });

    it('stops retrying before the total time would exceed maxTotalInMs', async () => {
      fake.script({ method: 'GET', times: 20, action: { kind: 'respond', status: 500, body: { error: { code: 'InternalServerError', message: 'down' } } } });
      const error = await client({ random: () => 0.999, retry: { maxRetries: 20, baseDelayInMs: 1_000, maxDelayInMs: 30_000, maxTotalInMs: 10_000 } })
        .getBackend(LAB_LOCATION, 'b1')
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 500, code: 'InternalServerError' });
      const total = sleeps.reduce((sum, ms) => sum + ms, 0);
      expect(total).toBeLessThanOrEqual(10_000);
      expect(sleeps).toEqual([999, 1_998, 3_996]);
      expect(fake.requests).toHaveLength(sleeps.length + 1);
    });

    it('gives up at once when Retry-After asks for more than maxDelayInMs', async () => {
      fake.script({ method: 'GET', action: { kind: 'respond', status: 429, headers: { 'Retry-After': '86400' } } });
      const error = await client().getBackend(LAB_LOCATION, 'b1').catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 429 });
      expect(sleeps).toEqual([]);
    });

    it('makes at most maxRetries retries', async () => {
      fake.script({ method: 'GET', times: 10, action: { kind: 'respond', status: 503 } });
      await expect(client({ retry: { maxRetries: 2 } }).getBackend(LAB_LOCATION, 'b1')).rejects.toMatchObject({ status: 503 });
      expect(fake.requests).toHaveLength(3);
    });

    it('retries a network reset', async () => {
      fake.script({ method: 'GET', action: { kind: 'reset' } });
      expect(await client().getBackend(LAB_LOCATION, 'b1')).toBeNull();
      expect(fake.requests).toHaveLength(2);
      expect(sleeps).toHaveLength(1);
    });

    it.each([400, 401, 403, 404, 409, 412])('does not retry a %i on PUT', async (status) => {
      fake.script({ method: 'PUT', action: { kind: 'respond', status, body: { error: { code: `Code${status}`, message: 'no' } } } });
      await expect(client().putBackend(LAB_LOCATION, 'b1', SINGLE)).rejects.toMatchObject({ status, code: `Code${status}` });
      expect(fake.requests).toHaveLength(1);
      expect(sleeps).toEqual([]);
    });

    it('retries a 408', async () => {
      fake.script({ method: 'PUT', action: { kind: 'respond', status: 408 } });
      await expect(client().putBackend(LAB_LOCATION, 'b1', SINGLE)).resolves.toMatchObject({ created: true });
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('errors', () => {
    it('names the missing write role, the identity and the service in a 403 on PUT, and never the token', async () => {
      fake.script({ method: 'PUT', action: { kind: 'respond', status: 403, body: AUTHORIZATION_FAILED_WRITE } });
      const error = (await client().putBackend(LAB_LOCATION, 'openai-instance1', SINGLE).catch((e: unknown) => e)) as ArmRequestError;
      expect(error).toBeInstanceOf(ArmRequestError);
      expect(error.status).toBe(403);
      expect(error.code).toBe('AuthorizationFailed');
      expect(error.operation).toBe('PUT backends/openai-instance1');
      expect(error.resource).toMatch(/\/service\/apim-nov26\/backends\/openai-instance1$/);
      expect(error.message).toContain('API Management Service Contributor');
      expect(error.message).toContain('system-assigned managed identity');
      expect(error.message).toContain('apim-nov26');
      expect(error.message).toContain('does not have authorization');
      expect(leaksToken(error)).toBe(false);
    });

    it('names the read role in a 403 on GET', async () => {
      fake.script({ method: 'GET', action: { kind: 'respond', status: 403, body: { error: { code: 'AuthorizationFailed', message: 'no read' } } } });
      const error = (await client({ identityDescription: 'user-assigned managed identity 1234' })
        .getBackend(LAB_LOCATION, 'b1')
        .catch((e: unknown) => e)) as ArmRequestError;
      expect(error.message).toContain('API Management Service Reader');
      expect(error.message).toContain('user-assigned managed identity 1234');
    });

    it('keeps no request headers in a transport error or its cause', async () => {
      fake.script({ method: 'GET', times: 5, action: { kind: 'reset' } });
      const error = (await client({ retry: { maxRetries: 0 } }).getBackend(LAB_LOCATION, 'b1').catch((e: unknown) => e)) as ArmRequestError;
      expect(error).toBeInstanceOf(ArmRequestError);
      expect(error.code).toBe('NetworkError');
      expect(error.status).toBeUndefined();
      expect(error.cause).toBeInstanceOf(Error);
      expect(Object.keys(error.cause as object)).not.toContain('config');
      expect(leaksToken(error)).toBe(false);
    });

    it('redacts the token if a server echoes it in an error message', async () => {
      fake.script({ method: 'GET', action: { kind: 'respond', status: 400, body: { error: { code: 'BadRequest', message: `bad header Bearer ${SECRET_TOKEN}` } } } });
      const error = await client().getBackend(LAB_LOCATION, 'b1').catch((e: unknown) => e);
      expect((error as Error).message).toContain('[redacted]');
      expect(leaksToken(error)).toBe(false);
    });

    it('reports a credential failure with the identity and without retrying', async () => {
      const arm = client({
        credential: { getToken: async () => Promise.reject(new Error('ManagedIdentityCredential: no endpoint')) },
      });
      await expect(arm.getBackend(LAB_LOCATION, 'b1')).rejects.toMatchObject({
        code: 'CredentialUnavailable',
        message: expect.stringContaining('system-assigned managed identity'),
      });
      expect(fake.requests).toHaveLength(0);
    });

    it('times out an attempt that gets no answer', async () => {
      fake.script({ method: 'GET', action: { kind: 'hang' } });
      await expect(client({ timeoutInMs: 150, retry: { maxRetries: 0 } }).getBackend(LAB_LOCATION, 'b1')).rejects.toMatchObject({
        code: 'Timeout',
        message: expect.stringContaining('150 ms'),
      });
    });

    it('times out an answer that trickles in for longer than the timeout', async () => {
      fake.script({ method: 'GET', action: { kind: 'drip', everyInMs: 20 } });
      await expect(client({ timeoutInMs: 200, retry: { maxRetries: 0 } }).getBackend(LAB_LOCATION, 'b1')).rejects.toMatchObject({
        code: 'Timeout',
      });
    });

    it('stops when the AbortSignal fires, without retrying', async () => {
      fake.script({ method: 'GET', action: { kind: 'hang' } });
      const controller = new AbortController();
      const pending = client().getBackend(LAB_LOCATION, 'b1', controller.signal);
      setTimeout(() => controller.abort(), 50);
      await expect(pending).rejects.toMatchObject({ code: 'Aborted' });
      expect(sleeps).toEqual([]);
    });

    it('sends nothing when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(client().getBackend(LAB_LOCATION, 'b1', controller.signal)).rejects.toMatchObject({ code: 'Aborted' });
      expect(fake.requests).toHaveLength(0);
    });
  });

  it('works over https with a given agent', async () => {
    const tlsDir = join(__dirname, '..', '..', 'fixtures', 'tls');
    const cert = readFileSync(join(tlsDir, 'cert.pem'));
    const server = createHttpsServer({ cert, key: readFileSync(join(tlsDir, 'key.pem')) }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"tls-1"' });
      res.end(JSON.stringify({ name: 'b1', properties: SINGLE }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const agent = new HttpsAgent({ ca: cert, keepAlive: false });
      const arm = client({ endpoint: `https://127.0.0.1:${port}/`, httpsAgent: agent });
      await expect(arm.getBackend(LAB_LOCATION, 'b1')).resolves.toMatchObject({ etag: '"tls-1"', body: { properties: SINGLE } });
      agent.destroy();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('retryAfterInMs', () => {
  const now = Date.UTC(2026, 10, 25, 3, 0, 0);
  it('reads seconds, milliseconds headers and HTTP-dates, and ignores garbage', () => {
    expect(retryAfterInMs({ 'retry-after': '3' }, now)).toBe(3_000);
    expect(retryAfterInMs({ 'retry-after-ms': '250', 'retry-after': '3' }, now)).toBe(250);
    expect(retryAfterInMs({ 'x-ms-retry-after-ms': '40' }, now)).toBe(40);
    expect(retryAfterInMs({ 'retry-after': new Date(now + 9_000).toUTCString() }, now)).toBe(9_000);
    expect(retryAfterInMs({ 'retry-after': new Date(now - 9_000).toUTCString() }, now)).toBe(0);
    expect(retryAfterInMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterInMs({}, now)).toBeUndefined();
  });
});

describe('abortableSleep', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('resolves after the delay', async () => {
    let done = false;
    const pending = abortableSleep(1_000).then(() => {
      done = true;
    });
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await pending;
    expect(done).toBe(true);
  });

  it('rejects as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const pending = abortableSleep(60_000, controller.signal);
    const outcome = pending.then(
      () => 'resolved',
      () => 'rejected',
    );
    await jest.advanceTimersByTimeAsync(10);
    controller.abort();
    expect(await outcome).toBe('rejected');
  });
});

describe('armScopeOf', () => {
  it('asks for a token of the configured ARM cloud, not the public one', async () => {
    const { armScopeOf, createArmClient: create } = await import('../../../src/lib/deploy/armClient');
    expect(armScopeOf('https://management.azure.com')).toBe('https://management.azure.com/.default');
    expect(armScopeOf('https://management.usgovcloudapi.net/')).toBe('https://management.usgovcloudapi.net/.default');
    expect(armScopeOf('https://management.chinacloudapi.cn')).toBe('https://management.chinacloudapi.cn/.default');
    const scopes: string[] = [];
    const client = create({
      endpoint: 'https://management.usgovcloudapi.net',
      apiVersion: '2024-05-01',
      retry: { maxRetries: 0 },
      credential: {
        async getToken(scope) {
          scopes.push(String(scope));
          throw new Error('no identity here');
        },
      },
    });
    await expect(client.getBackend({ subscriptionId: 's', resourceGroup: 'rg', serviceName: 'apim', armApiVersion: '2024-05-01' }, 'b')).rejects.toThrow(/no identity here/);
    expect(scopes).toEqual(['https://management.usgovcloudapi.net/.default']);
  });
});
