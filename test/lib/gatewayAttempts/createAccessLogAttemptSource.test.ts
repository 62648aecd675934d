import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countAttempts, createAccessLogAttemptSource } from '../../../src/lib/gatewayAttempts/createAccessLogAttemptSource';
import { labPool } from '../telemetry/labPool';

const host1 = 'aoai-nov26-instance1.openai.azure.com';
const host2 = 'aoai-nov26-instance2.openai.azure.com';
const call = (backendId: string, host: string, status: number | null, tripped = false) => ({ backendId, host, region: null, status, ...(tripped ? { tripped } : {}) });

describe('counting the emulator access log', () => {
  const entries = [
    { id: 'a', at: 999, status: 200, gatewayInstance: 0, attempts: [call('openai-instance2', host2, 429)] },
    { id: 'b', at: 1_000, status: 200, gatewayInstance: 0, attempts: [call('openai-instance2', host2, 429, true), call('openai-instance1', host1, 200)] },
    { id: 'c', at: 1_500, status: 503, gatewayInstance: 0, attempts: [call('openai-instance1', host1, 503), call('other-backend', 'other.example', 200)] },
    { id: 'd', at: 1_800, status: 503, gatewayInstance: 0, attempts: [], outcome: 'pool-unavailable' },
    { id: 'e', at: 2_000, status: 200, gatewayInstance: 0, attempts: [call('openai-instance2', host2, 200)] },
  ];

  it('counts every attempt of the requests received in the window, by member, retries included', () => {
    const counts = countAttempts(labPool(), { fromMs: 1_000, toMs: 2_000 }, entries, 100);
    expect(counts).toMatchObject({ source: 'emulator-access-log', perAttempt: true, unattributed: 1, window: { fromMs: 1_000, toMs: 2_000 } });
    expect(counts.byBackend).toEqual({
      'openai-instance1': { attempts: 2, throttled429: 0, serverErrors: 1, breakerTrips: 0 },
      'openai-instance2': { attempts: 1, throttled429: 1, serverErrors: 0, breakerTrips: 1 },
    });
    expect(counts.note).not.toMatch(/Only the newest/);
  });

  it('says from when it counted when the log it read no longer reaches back to the window start', () => {
    const counts = countAttempts(labPool(), { fromMs: 0, toMs: 3_000 }, entries.slice(2), 3);
    expect(counts.window).toEqual({ fromMs: 1_500, toMs: 3_000 });
    expect(counts.note).toContain('Only the newest 3 requests were read: the counts start at 1970-01-01T00:00:01.500Z');
  });
});

describe('reading the access log over the control API', () => {
  let server: Server;
  let answer: { status: number; body: string };
  const paths: string[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      paths.push(request.url ?? '');
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));
  const controlUrl = (): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}/_emulator`;

  it('asks for at most maxEntries of the newest entries', async () => {
    answer = { status: 200, body: JSON.stringify({ entries: [{ id: 'x', at: 5, status: 200, gatewayInstance: 0, attempts: [call('openai-instance1', host1, 200)] }] }) };
    const counts = await createAccessLogAttemptSource({ controlUrl: controlUrl(), maxEntries: 50 }).readBackendAttempts(labPool(), { fromMs: 0, toMs: 10 });
    expect(paths.at(-1)).toBe('/_emulator/access-log?limit=50');
    expect(counts.byBackend['openai-instance1']?.attempts).toBe(1);
  });

  it('fails naming the URL when the control API answers an error or an unexpected shape', async () => {
    const source = createAccessLogAttemptSource({ controlUrl: controlUrl() });
    answer = { status: 404, body: '{}' };
    await expect(source.readBackendAttempts(labPool(), { fromMs: 0, toMs: 10 })).rejects.toThrow(`Could not read the emulator's access log (GET ${controlUrl()}/access-log?limit=20000): HTTP 404`);
    answer = { status: 200, body: '{"items":[]}' };
    await expect(source.readBackendAttempts(labPool(), { fromMs: 0, toMs: 10 })).rejects.toThrow("answered without an 'entries' array");
  });
});
