import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ProbeOptionsError, ProbeSinkError } from '../../../src/lib/probe/errors';
import { runProbes, type RunProbesOptions } from '../../../src/lib/probe/runProbes';
import type { ProbeRecord } from '../../../src/lib/probe/types';
import { openSqliteStore } from '../../../src/lib/store/sqliteStore';
import type { ProbeSink } from '../../../src/lib/store/types';
import { chatCompletion, startFakeGateway, type FakeGateway, type GatewayAnswer } from './fakeGateway';
import { labPool } from './labPool';
import { closedPortUrl } from '../../support/closedPortUrl';

/** Recognisable so a leak anywhere in results or errors is easy to find. */
const KEY = 'SECRET-KEY-7c41d9e2f0';

let gateway: FakeGateway;

beforeAll(async () => {
  gateway = await startFakeGateway(() => ({ type: 'json', region: 'West US' }));
});

afterAll(async () => {
  await gateway.close();
});

/** Points the shared fake at a script and forgets earlier requests. */
function script(plan: (index: number) => GatewayAnswer): void {
  gateway.requests.length = 0;
  gateway.setScript(plan);
}

function options(overrides: Partial<RunProbesOptions> = {}): RunProbesOptions {
  return {
    gatewayUrl: gateway.url,
    subscriptionKey: KEY,
    pool: labPool(),
    runId: 'run-1',
    maxProbes: 10,
    concurrency: 1,
    timeoutInMs: 2_000,
    ...overrides,
  };
}

/** A sink that keeps what it is given, in arrival order. */
function memorySink(): ProbeSink & { records: ProbeRecord[] } {
  const records: ProbeRecord[] = [];
  return {
    records,
    beginRun: async () => undefined,
    recordProbe: async (record) => {
      records.push(record);
    },
    finishRun: async () => undefined,
    recordVerdict: async () => undefined,
    flush: async () => undefined,
  };
}

describe('runProbes', () => {
  test('sends N minimal chat completions and records which backend answered each', async () => {
    // Server order 0,1,2,… answers West, West, East: 2:1 like the lab pool.
    script((index) => ({ type: 'json', region: index % 3 === 2 ? 'East US' : 'westus', body: chatCompletion(11) }));

    const result = await runProbes(options({ maxProbes: 30, concurrency: 3 }));

    expect(result.records).toHaveLength(30);
    expect(result.records.map((record) => record.probeIndex)).toEqual(Array.from({ length: 30 }, (_, index) => index));
    const backends = result.records.map((record) => record.backend);
    expect(backends.filter((name) => name === 'openai-instance1')).toHaveLength(20);
    expect(backends.filter((name) => name === 'openai-instance2')).toHaveLength(10);
    for (const record of result.records) {
      expect(record).toMatchObject({ runId: 'run-1', kind: 'ok', status: 200, totalTokens: 11, errorCode: null });
      expect(record.identifierValue === 'westus' ? 'openai-instance1' : 'openai-instance2').toBe(record.backend);
    }
    expect(result).toMatchObject({ probesSent: 30, tokensUsed: 330, stoppedEarly: false, fatal: null });

    const request = gateway.requests[0];
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01');
    expect(request?.headers['api-key']).toBe(KEY);
    expect(JSON.parse(request?.body ?? '')).toEqual({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 });
  });

  test('sends the key in Ocp-Apim-Subscription-Key when the pool says so and identifies by a custom header', async () => {
    script((index) => ({ type: 'json', headers: { 'x-backend-host': index % 2 === 0 ? 'aoai-nov26-instance1' : 'aoai-nov26-instance2' } }));
    const pool = labPool({ subscriptionKeyHeader: 'Ocp-Apim-Subscription-Key', identify: { mode: 'header', header: 'X-Backend-Host' } });

    const result = await runProbes(options({ pool, maxProbes: 4 }));

    expect(gateway.requests.every((request) => request.headers['ocp-apim-subscription-key'] === KEY)).toBe(true);
    expect(gateway.requests.every((request) => request.headers['api-key'] === undefined)).toBe(true);
    expect(result.records.map((record) => record.backend)).toEqual(['openai-instance1', 'openai-instance2', 'openai-instance1', 'openai-instance2']);
  });

  test('keeps the raw header value of an answer that matches no backend, and null when the header is absent', async () => {
    script((index) => (index === 0 ? { type: 'json', region: 'Sweden Central' } : { type: 'json' }));

    const result = await runProbes(options({ maxProbes: 2 }));

    expect(result.records.map((record) => [record.kind, record.backend, record.identifierValue])).toEqual([
      ['ok', null, 'Sweden Central'],
      ['ok', null, null],
    ]);
  });

  test('never has more probes in flight than the concurrency bound, and reaches it', async () => {
    script(() => ({ type: 'json', region: 'West US', delayInMs: 15 }));

    const result = await runProbes(options({ maxProbes: 40, concurrency: 4 }));

    expect(result.records).toHaveLength(40);
    expect(gateway.maxInFlight()).toBe(4);
  });

  test('ends a probe at its timeout, whether or not headers arrived, and records it as a timeout', async () => {
    script((index) => ({ type: 'hang', sendHead: index === 0, region: 'East US' }));
    const startedAt = Date.now();

    const result = await runProbes(options({ maxProbes: 2, concurrency: 2, timeoutInMs: 150 }));

    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(result.records).toHaveLength(2);
    for (const record of result.records) {
      expect(record).toMatchObject({ kind: 'timeout', status: null, errorCode: 'timeout', totalTokens: null });
      expect(record.latencyInMs).toBeGreaterThanOrEqual(140);
    }
    expect(result.fatal).toBeNull();
  });

  test('never retries: the gateway sees exactly one request per probe, whatever went wrong', async () => {
    const plans: GatewayAnswer[] = [
      { type: 'json', status: 429, region: 'West US', body: { error: { code: '429' } }, headers: { 'retry-after': '1' } },
      { type: 'json', status: 500, region: 'East US', body: { error: { code: 'InternalServerError' } } },
      { type: 'json', status: 503, body: { statusCode: 503, message: 'Service Unavailable' } },
      { type: 'reset' },
      { type: 'hang' },
      { type: 'json', region: 'West US' },
    ];
    script((index) => plans[index % plans.length] ?? { type: 'reset' });

    const result = await runProbes(options({ maxProbes: 12, concurrency: 3, timeoutInMs: 200 }));

    expect(result.probesSent).toBe(12);
    expect(result.records).toHaveLength(12);
    expect(gateway.requests).toHaveLength(12);
  });

  test('never sends back a cookie the gateway set', async () => {
    script(() => ({ type: 'json', region: 'West US', headers: { 'set-cookie': 'ApimAffinity=east; Path=/' } }));

    await runProbes(options({ maxProbes: 8, concurrency: 2 }));

    expect(gateway.requests).toHaveLength(8);
    expect(gateway.requests.filter((request) => request.headers.cookie !== undefined)).toEqual([]);
  });

  test('never puts the subscription key in records, results or fatal messages', async () => {
    script((index) => (index < 3 ? { type: 'json', status: 401, body: { statusCode: 401, message: `Access denied: invalid key ${KEY}` } } : { type: 'json' }));

    const result = await runProbes(options({ maxProbes: 5 }));

    expect(result.fatal?.kind).toBe('unauthorized');
    expect(JSON.stringify(result)).not.toContain(KEY);
    const thrown = await runProbes(options({ concurrency: 0 })).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(ProbeOptionsError);
    expect(String((thrown as Error).message)).not.toContain(KEY);
  });

  test('stops starting probes once shouldStop says so; in-flight probes finish and are recorded', async () => {
    script(() => ({ type: 'json', region: 'West US' }));
    const sink = memorySink();

    const sequential = await runProbes(options({ maxProbes: 50, sink, shouldStop: (record) => record.probeIndex === 4 }));

    expect(sequential.records).toHaveLength(5);
    expect(sequential).toMatchObject({ probesSent: 5, stoppedEarly: true, fatal: null });
    expect(sink.records).toHaveLength(5);

    script(() => ({ type: 'json', region: 'West US', delayInMs: 5 }));
    const parallel = await runProbes(options({ maxProbes: 50, concurrency: 4, shouldStop: () => true }));
    expect(parallel.records.length).toBeGreaterThanOrEqual(1);
    expect(parallel.records.length).toBeLessThanOrEqual(4);
    expect(parallel.records).toHaveLength(parallel.probesSent);
    expect(gateway.requests).toHaveLength(parallel.probesSent);
  });

  test.each([
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not-found'],
  ] as const)('stops as fatal %s after three answers from the gateway itself (no backend header)', async (status, kind) => {
    script(() => ({ type: 'json', status, body: { statusCode: status, message: 'gateway says no' } }));

    const result = await runProbes(options({ maxProbes: 60, concurrency: 2 }));

    expect(result.fatal).toMatchObject({ kind, status });
    expect(result.fatal?.message).toContain(`POST ${new URL(gateway.url).origin}/openai/deployments/gpt-4o/chat/completions`);
    expect(result.fatal?.message).not.toContain('api-version');
    expect(result.records.length).toBeGreaterThanOrEqual(3);
    // Three leading refusals decide; the other worker may have finished one more probe meanwhile.
    expect(result.records.length).toBeLessThanOrEqual(4);
    expect(result.stoppedEarly).toBe(true);
  });

  test('treats a 401 carrying a backend region as that backend failing, not as a configuration error', async () => {
    script((index) => (index % 2 === 0 ? { type: 'json', status: 401, region: 'East US', body: { error: { code: 'PermissionDenied' } } } : { type: 'json', region: 'West US' }));

    const result = await runProbes(options({ maxProbes: 20, concurrency: 2 }));

    expect(result.fatal).toBeNull();
    expect(result.records).toHaveLength(20);
    const failures = result.records.filter((record) => record.kind === 'http');
    expect(failures).toHaveLength(10);
    expect(failures.every((record) => record.status === 401 && record.backend === 'openai-instance2' && record.errorCode === '401')).toBe(true);
  });

  test('does not call a run fatal when the gateway refuses only after answering', async () => {
    script((index) => (index === 0 ? { type: 'json', region: 'West US' } : { type: 'json', status: 401 }));

    const result = await runProbes(options({ maxProbes: 6 }));

    expect(result.fatal).toBeNull();
    expect(result.records).toHaveLength(6);
  });

  test('reports an unreachable gateway as fatal within a few probes', async () => {
    const url = `${await closedPortUrl()}/openai`;
    const startedAt = Date.now();

    const result = await runProbes(options({ gatewayUrl: url, maxProbes: 60, concurrency: 4 }));

    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(result.fatal?.kind).toBe('unreachable');
    expect(result.fatal?.message).toContain(new URL(url).origin);
    expect(result.fatal?.message).toContain('ECONNREFUSED');
    // Three leading refusals decide; the other three workers may each have finished one more probe meanwhile.
    expect(result.records.length).toBeLessThanOrEqual(6);
    expect(result.records.every((record) => record.kind === 'network' && record.errorCode === 'ECONNREFUSED' && record.status === null)).toBe(true);
  });

  test('reports a gateway that never accepts a connection as fatal unreachable after three connect timeouts', async () => {
    // A resolver that never answers: the socket never connects, like a black-holed address.
    const lookup = (() => undefined) as unknown as NonNullable<RunProbesOptions['lookup']>;

    const result = await runProbes(options({ gatewayUrl: 'http://gateway.test/openai', lookup, maxProbes: 60, concurrency: 3, timeoutInMs: 100 }));

    expect(result.fatal).toMatchObject({ kind: 'unreachable' });
    expect(result.fatal?.message).toContain('http://gateway.test');
    // The fatal decision cancels the probes still waiting, so exactly the three deciding ones are recorded.
    expect(result.records).toHaveLength(3);
    expect(result.probesSent).toBe(5);
    expect(result.records.every((record) => record.kind === 'timeout' && record.errorCode === 'connect-timeout')).toBe(true);
  });

  test('reaches an https gateway through the keep-alive agent', async () => {
    const certificates = path.join(__dirname, '..', '..', 'fixtures', 'tls');
    const server = https.createServer({ cert: fs.readFileSync(path.join(certificates, 'cert.pem')), key: fs.readFileSync(path.join(certificates, 'key.pem')) }, (request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json', 'x-ms-region': 'East US' });
        response.end(JSON.stringify(chatCompletion()));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    // Trusted through NODE_EXTRA_CA_CERTS (set by npm test); a missing trust shows up as a TLS error code.
    const result = await runProbes(options({ gatewayUrl: `https://127.0.0.1:${port}/openai`, maxProbes: 3 }));
    server.close();

    const trusted = path.resolve(process.env.NODE_EXTRA_CA_CERTS ?? '') === path.join(certificates, 'cert.pem');
    if (trusted) {
      expect(result.records.map((record) => record.backend)).toEqual(['openai-instance2', 'openai-instance2', 'openai-instance2']);
    } else {
      // An untrusted certificate is a configuration error too: fatal unreachable, naming the TLS error code.
      expect(result.fatal?.kind).toBe('unreachable');
      expect(result.fatal?.message).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    }
  });

  test.each<[string, GatewayAnswer, Partial<ProbeRecord>]>([
    ['a 429 with a region', { type: 'json', status: 429, region: 'East US', body: { error: { code: '429' } } }, { kind: 'http', status: 429, errorCode: '429', backend: 'openai-instance2' }],
    ['an HTML error page', { type: 'raw', status: 502, contentType: 'text/html', body: '<html><body>Bad Gateway</body></html>' }, { kind: 'http', status: 502, errorCode: '502', backend: null }],
    ['a 200 with invalid JSON', { type: 'raw', status: 200, contentType: 'application/json', body: '{"id": "chatcmpl', region: 'West US' }, { kind: 'http', status: 200, errorCode: 'invalid-json', backend: 'openai-instance1' }],
    ['a 200 with an HTML page', { type: 'raw', status: 200, contentType: 'text/html', body: '<html>maintenance</html>' }, { kind: 'http', status: 200, errorCode: 'invalid-json' }],
    ['a 200 with an empty body', { type: 'raw', status: 200, contentType: 'application/json', body: '' }, { kind: 'http', status: 200, errorCode: 'empty-body' }],
    ['a 200 that is JSON but not a chat completion', { type: 'json', body: { hello: 'world' }, region: 'West US' }, { kind: 'http', status: 200, errorCode: 'invalid-body' }],
    ['a 10 MB body with content-length', { type: 'huge', sizeInBytes: 10 * 1024 * 1024, region: 'West US' }, { kind: 'http', status: 200, errorCode: 'body-too-large', backend: 'openai-instance1' }],
    ['a 10 MB chunked body', { type: 'huge', sizeInBytes: 10 * 1024 * 1024, chunked: true }, { kind: 'http', status: 200, errorCode: 'body-too-large' }],
    ['a connection reset before any answer', { type: 'reset' }, { kind: 'network', status: null, errorCode: 'ECONNRESET' }],
    ['a connection reset mid-body', { type: 'reset-mid-body', region: 'West US' }, { kind: 'network', status: null }],
  ])('records %s as a failure, not a crash', async (_name, plan, expected) => {
    script(() => plan);

    const result = await runProbes(options({ maxProbes: 1 }));

    expect(result.records).toHaveLength(1);
    expect(result.records[0]).toMatchObject({ totalTokens: null, ...expected });
    expect(result.tokensUsed).toBe(0);
  });

  test('stops on abort and does not record the probes it cancelled', async () => {
    // Its own gateway: cancelled requests may still reach a server after the run returns.
    const own = await startFakeGateway((index) => (index < 2 ? { type: 'json', region: 'West US' } : { type: 'hang' }));
    const controller = new AbortController();
    const sink = memorySink();
    const origin = sink.recordProbe;
    sink.recordProbe = async (record) => {
      await origin(record);
      if (sink.records.length === 2) {
        // Probes 2 and 3 hang; abort from outside while they are in flight.
        setImmediate(() => controller.abort());
      }
    };
    const startedAt = Date.now();

    const result = await runProbes(options({ gatewayUrl: own.url, maxProbes: 20, concurrency: 2, timeoutInMs: 10_000, signal: controller.signal, sink }));
    await own.close();

    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(result.records).toHaveLength(2);
    expect(result.stoppedEarly).toBe(true);
    expect(result.probesSent).toBeGreaterThanOrEqual(2);
    expect(result.probesSent).toBeLessThanOrEqual(4);
  });

  test('sends nothing when the signal is already aborted', async () => {
    script(() => ({ type: 'json', region: 'West US' }));
    const controller = new AbortController();
    controller.abort();

    const result = await runProbes(options({ signal: controller.signal }));

    expect(result).toMatchObject({ probesSent: 0, records: [], stoppedEarly: true });
    expect(gateway.requests).toHaveLength(0);
  });

  test('gives the sink each record as it completes and stops with ProbeSinkError when the sink fails', async () => {
    script(() => ({ type: 'json', region: 'West US' }));
    const sink = memorySink();
    sink.recordProbe = async (record) => {
      if (record.probeIndex === 3) {
        throw new Error('disk full');
      }
      sink.records.push(record);
    };

    const error = await runProbes(options({ maxProbes: 20, sink })).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(ProbeSinkError);
    expect((error as ProbeSinkError).probeIndex).toBe(3);
    expect(sink.records.map((record) => record.probeIndex)).toEqual([0, 1, 2]);
    expect(gateway.requests).toHaveLength(4);
  });

  test('takes start time and latency from the injected clock', async () => {
    script(() => ({ type: 'json', region: 'West US' }));
    let tick = 1_800_000_000_000;
    const now = (): number => {
      tick += 7;
      return tick;
    };

    const result = await runProbes(options({ maxProbes: 2, now }));

    expect(result.records[0]).toMatchObject({ startedAtMs: 1_800_000_000_007, latencyInMs: 7 });
    expect(result.records[1]).toMatchObject({ startedAtMs: 1_800_000_000_021, latencyInMs: 7 });
  });

  test.each<[string, Partial<RunProbesOptions>]>([
    ['gatewayUrl', { gatewayUrl: 'not a url' }],
    ['gatewayUrl', { gatewayUrl: 'ftp://127.0.0.1/openai' }],
    ['maxProbes', { maxProbes: -1 }],
    ['maxProbes', { maxProbes: 1.5 }],
    ['concurrency', { concurrency: 0 }],
    ['timeoutInMs', { timeoutInMs: 0 }],
    ['timeoutInMs', { timeoutInMs: 2 ** 31 }],
    ['runId', { runId: '' }],
    ['subscriptionKey', { subscriptionKey: `${KEY}\r\nx-injected: 1` }],
  ])('rejects a bad %s with an error naming it, before sending anything', async (field, overrides) => {
    script(() => ({ type: 'json', region: 'West US' }));
    const error = await runProbes(options(overrides)).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(ProbeOptionsError);
    expect((error as ProbeOptionsError).field).toBe(field);
    expect((error as Error).message).not.toContain(KEY);
    expect(gateway.requests).toHaveLength(0);
  });

  test('writes every record to the SQLite store as it completes, so the window evidence matches the run', async () => {
    script((index) => (index % 5 === 4 ? { type: 'json', status: 429, region: 'East US' } : { type: 'json', region: index % 5 === 3 ? 'East US' : 'West US' }));
    const store = openSqliteStore(':memory:');
    const startedAtMs = Date.now();
    await store.beginRun({ runId: 'run-1', pool: 'openai-instance-backend-pool', startedAtMs, trigger: 'test' });

    const result = await runProbes(options({ maxProbes: 50, concurrency: 4, sink: store }));

    const evidence = await store.readWindow('openai-instance-backend-pool', { fromMs: startedAtMs, toMs: Date.now() + 1 }, 60_000);
    expect(evidence).toMatchObject({ total: 50, answered: 40, tokensUsed: result.tokensUsed, errors: { byStatus: { '429': 10 }, timeout: 0, network: 0 } });
    expect(evidence.backends.map((backend) => [backend.backend, backend.answered, backend.errorsByStatus])).toEqual([
      ['openai-instance1', 30, {}],
      ['openai-instance2', 10, { '429': 10 }],
    ]);
    store.close();
  });

  test('runs 1,000 probes at concurrency 16 against a local gateway in well under 30 s', async () => {
    script((index) => ({ type: 'json', region: index % 3 === 2 ? 'East US' : 'West US' }));
    const startedAt = Date.now();

    const result = await runProbes(options({ maxProbes: 1_000, concurrency: 16 }));

    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(result.records.filter((record) => record.kind === 'ok')).toHaveLength(1_000);
    expect(gateway.requests).toHaveLength(1_000);
  });
});
