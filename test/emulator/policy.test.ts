import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator';
import { createLabPolicyXml } from '../../src/emulator/labPolicy';
import { readGatewayPolicy } from '../../src/emulator/readGatewayPolicy';
import { arm, chat, deployPool, LAB_MEMBERS } from './armClient';

const LAB_RETRY = { count: 2, intervalInMs: 0, firstFastRetry: true, statusCodes: [429, 503] };

const policy = (parts: { inbound?: string; backend?: string; outbound?: string; onError?: string }) =>
  `<policies><inbound><base />${parts.inbound ?? ''}</inbound><backend>${parts.backend ?? '<forward-request />'}</backend><outbound><base />${
    parts.outbound ?? ''
  }</outbound><on-error><base />${parts.onError ?? ''}</on-error></policies>`;

describe('readGatewayPolicy', () => {
  it("reads the lab's policy: the pool, retry 2 × on 429/503 with a fast first retry, and the hidden 503", () => {
    expect(readGatewayPolicy(createLabPolicyXml({ poolBackendId: 'openai-instance-backend-pool', retryPolicy: LAB_RETRY }))).toEqual({
      backendId: 'openai-instance-backend-pool',
      headerRoutes: [],
      tokenLimit: null,
      retry: LAB_RETRY,
      hidesPool503: true,
      backendHostHeader: undefined,
    });
  });

  it('reads a policy without retry, on-error handling or backend as such', () => {
    expect(readGatewayPolicy(policy({}))).toEqual({
      backendId: undefined,
      headerRoutes: [],
      tokenLimit: null,
      retry: null,
      hidesPool503: false,
      backendHostHeader: undefined,
    });
  });

  it('reads the retry interval in seconds and an outbound backend-host header', () => {
    const read = readGatewayPolicy(
      policy({
        backend: '<retry condition="@(context.Response.StatusCode == 500)" count="1" interval="2"><forward-request /></retry>',
        outbound: '<set-header name="x-served-by" exists-action="override"><value>@(context.Request.Url.Host)</value></set-header>',
      }),
    );
    expect(read.retry).toEqual({ count: 1, intervalInMs: 2000, firstFastRetry: false, statusCodes: [500] });
    expect(read.backendHostHeader).toBe('x-served-by');
  });
});

describe('the gateway obeys the API policy in force', () => {
  let env: EmbeddedEnvironment;
  beforeEach(async () => {
    env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 9 });
    await deployPool(env, LAB_MEMBERS);
  });
  afterEach(() => env.close());

  const putPolicy = (xml: string, headers: Record<string, string> = {}) =>
    arm(env, 'PUT', '/apis/azure-openai/policies/policy', { properties: { format: 'rawxml', value: xml } }, headers);

  it('stops retrying once a policy without retry is PUT', async () => {
    await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 60 });
    await env.faults.setFault('West US', { kind: 'throttled', retryAfterSeconds: 60 });
    expect((await putPolicy(policy({ inbound: '<set-backend-service backend-id="openai-instance-backend-pool" />' }))).status).toBe(201);
    const answer = await chat(env);
    expect(answer.status).toBe(429);
    expect(env.accessLog.entries()[0]?.attempts).toHaveLength(1);
  });

  it("answers the pool's own 503 when on-error does not hide it", async () => {
    await putPolicy(policy({ inbound: '<set-backend-service backend-id="openai-instance-backend-pool" />' }));
    await env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 60 });
    await env.faults.setFault('West US', { kind: 'throttled', retryAfterSeconds: 60 });
    await chat(env);
    await chat(env);
    const exhausted = await chat(env);
    expect(exhausted.status).toBe(503);
    expect(exhausted.body.message).toContain('openai-instance-backend-pool');
  });

  it('routes to the backend the policy names, even a single backend', async () => {
    await putPolicy(policy({ inbound: '<set-backend-service backend-id="openai-instance2" />' }));
    for (let index = 0; index < 5; index += 1) {
      expect((await chat(env)).region).toBe('East US');
    }
  });

  it('answers 500 when the policy has no set-backend-service', async () => {
    await putPolicy(policy({}));
    const answer = await chat(env);
    expect(answer.status).toBe(500);
    expect(answer.body.message).toContain('set-backend-service');
  });

  it('rejects a policy that is not well-formed XML, and honours If-Match', async () => {
    const malformed = await putPolicy('<policies><inbound></policies>');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toContain('not well-formed');
    const first = await putPolicy(policy({ inbound: '<set-backend-service backend-id="openai-instance1" />' }));
    expect((await putPolicy(policy({}), { 'if-match': '"stale"' })).status).toBe(412);
    expect((await putPolicy(policy({}), { 'if-match': first.etag ?? '' })).status).toBe(200);
  });
});
