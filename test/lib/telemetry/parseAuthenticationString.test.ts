import type { PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { createTelemetryHealth } from '../../../src/lib/telemetry/createTelemetryHealth';
import { AuthenticationStringError, parseAuthenticationString } from '../../../src/lib/telemetry/parseAuthenticationString';

describe('parseAuthenticationString', () => {
  it('reads Authorization=AAD with or without a user-assigned ClientId, names case-insensitive', () => {
    expect(parseAuthenticationString('Authorization=AAD')).toEqual({ kind: 'aad', clientId: undefined });
    expect(parseAuthenticationString('authorization=aad;ClientId=6f1b2c3d-1111-2222-3333-444455556666;')).toEqual({
      kind: 'aad',
      clientId: '6f1b2c3d-1111-2222-3333-444455556666',
    });
    expect(parseAuthenticationString(undefined)).toBeUndefined();
    expect(parseAuthenticationString('  ')).toBeUndefined();
  });

  it('refuses another scheme, an unknown part or a ClientId that is not a GUID, without echoing the value', () => {
    expect(() => parseAuthenticationString('Authorization=Key')).toThrow(AuthenticationStringError);
    expect(() => parseAuthenticationString('Authorization=AAD;Secret=hunter2')).toThrow(/ClientId/);
    let message = '';
    try {
      parseAuthenticationString('Authorization=AAD;ClientId=hunter2');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/GUID/);
    expect(message).not.toContain('hunter2');
  });
});

describe('createTelemetryHealth', () => {
  const track = (): PipelineRequest => createPipelineRequest({ url: 'https://ingest.example/v2.1/track', method: 'POST' });
  const answer = (request: PipelineRequest, status: number, body: object) => async (): Promise<PipelineResponse> => ({
    request,
    status,
    headers: createHttpHeaders(),
    bodyAsText: JSON.stringify(body),
  });

  it('counts items dropped from a 206 and a 403 naming the missing role, then recovers on a 200', async () => {
    let clock = 1000;
    const lines: string[] = [];
    const health = createTelemetryHealth({ now: () => clock, log: (line) => lines.push(line) });
    const request = track();
    await health.exportPolicy.sendRequest(request, answer(request, 206, { itemsReceived: 10, itemsAccepted: 7, errors: [] }));
    expect(health.snapshot()).toMatchObject({ status: 'degraded', itemsDropped: 3, batchesFailed: { '206': 1 }, lastFailureAtMs: 1000 });
    clock = 2000;
    await health.exportPolicy.sendRequest(request, answer(request, 403, {}));
    await health.exportPolicy.sendRequest(request, answer(request, 403, {}));
    expect(health.snapshot().reason).toMatch(/403.*Monitoring Metrics Publisher/);
    expect(health.snapshot().batchesFailed).toEqual({ '206': 1, '403': 2 });
    // One line per change of reason, not one per batch.
    expect(lines.filter((line) => line.includes('403'))).toHaveLength(1);
    await health.exportPolicy.sendRequest(request, answer(request, 200, { itemsReceived: 1, itemsAccepted: 1, errors: [] }));
    expect(health.snapshot()).toMatchObject({ status: 'ok', reason: undefined, batchesAccepted: 1, lastFailureAtMs: 2000 });
    expect(lines.at(-1)).toMatch(/recovered/);
  });

  it('counts a network failure and rethrows it; leaves other requests alone', async () => {
    const health = createTelemetryHealth();
    const request = track();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await expect(health.exportPolicy.sendRequest(request, async () => Promise.reject(refused))).rejects.toBe(refused);
    expect(health.snapshot().batchesFailed).toEqual({ network: 1 });
    expect(health.snapshot().reason).toMatch(/unreachable \(ECONNREFUSED\)/);
    const other = createPipelineRequest({ url: 'https://ingest.example/QuickPulseService.svc/ping', method: 'POST' });
    await health.exportPolicy.sendRequest(other, answer(other, 500, {}));
    expect(health.snapshot().batchesFailed).toEqual({ network: 1 });
  });

  it('records flush timeouts and secondary-sink errors as reasons', () => {
    const health = createTelemetryHealth();
    health.recordFlushTimeout(10_000);
    expect(health.snapshot()).toMatchObject({ flushTimeouts: 1, reason: expect.stringMatching(/10000 ms/) });
    health.recordSinkError(new Error('The App Insights sink is closed'));
    expect(health.snapshot()).toMatchObject({ sinkErrors: 1, reason: expect.stringMatching(/sink is closed/) });
  });
});
