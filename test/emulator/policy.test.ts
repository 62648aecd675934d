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

describe('readGatewayPolicy: token limits and header routing', () => {
  it('reads azure-openai-token-limit with its header names, and the subscription counter key', () => {
    const xml = createLabPolicyXml({ poolBackendId: 'p', retryPolicy: null, tokenLimitPerMinute: 500 });
    expect(readGatewayPolicy(xml).tokenLimit).toEqual({
      tokensPerMinute: 500,
      counterKey: { kind: 'subscription' },
      estimatePromptTokens: true,
      retryAfterHeaderName: 'Retry-After',
      remainingTokensHeaderName: 'remaining-tokens',
      tokensConsumedHeaderName: 'consumed-tokens',
    });
  });

  it('reads llm-token-limit with a custom retry-after header and a literal counter key', () => {
    const read = readGatewayPolicy(
      policy({ inbound: '<llm-token-limit counter-key="team-a" tokens-per-minute="10" estimate-prompt-tokens="false" retry-after-header-name="x-wait" />' }),
    );
    expect(read.tokenLimit).toEqual({
      tokensPerMinute: 10,
      counterKey: { kind: 'constant', value: 'team-a' },
      estimatePromptTokens: false,
      retryAfterHeaderName: 'x-wait',
      remainingTokensHeaderName: undefined,
      tokensConsumedHeaderName: undefined,
    });
  });

  it('reads header routes of a choose, in order, and the otherwise backend as the default', () => {
    const xml = createLabPolicyXml({
      poolBackendId: 'the-pool',
      retryPolicy: null,
      headerRoutes: [
        { header: 'x-route', value: 'on-your-data', backendId: 'ondata' },
        { header: 'x-route', value: 'mini', backendId: 'mini-pool' },
      ],
    });
    const read = readGatewayPolicy(xml);
    expect(read.backendId).toBe('the-pool');
    expect(read.headerRoutes).toEqual([
      { header: 'x-route', value: 'on-your-data', backendId: 'ondata' },
      { header: 'x-route', value: 'mini', backendId: 'mini-pool' },
    ]);
    const reversed = readGatewayPolicy(
      policy({
        inbound:
          '<choose><when condition="@(&quot;x&quot; == context.Request.Headers.GetValueOrDefault(&quot;X-Team&quot;))"><set-backend-service backend-id="b" /></when>' +
          '<when condition="@(context.Request.Url.Path.Contains(&quot;v2&quot;))"><set-backend-service backend-id="c" /></when></choose>' +
          '<set-backend-service backend-id="a" />',
      }),
    );
    expect(reversed.backendId).toBe('a');
    expect(reversed.headerRoutes).toEqual([{ header: 'X-Team', value: 'x', backendId: 'b' }]);
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

  it('answers its own 429 under a token limit PUT through ARM, in the retry-after header the policy names', async () => {
    await putPolicy(
      policy({
        inbound:
          '<llm-token-limit counter-key="fixed" tokens-per-minute="10" estimate-prompt-tokens="false" retry-after-header-name="x-wait" />' +
          '<set-backend-service backend-id="openai-instance-backend-pool" />',
      }),
    );
    // Without estimate-prompt-tokens the first call passes on an untouched budget; its usage spends it.
    expect((await chat(env)).status).toBe(200);
    const throttled = await chat(env);
    expect(throttled.status).toBe(429);
    expect(throttled.body.message).toMatch(/^Token limit is exceeded\. Try again in \d+ seconds\.$/);
    expect(throttled.headers.get('x-wait')).toMatch(/^\d+$/);
    expect(throttled.headers.get('retry-after')).toBeNull();
  });

  it('routes by a request header when the policy chooses the backend on it', async () => {
    await putPolicy(
      policy({
        inbound:
          '<choose><when condition="@(context.Request.Headers.GetValueOrDefault(&quot;x-route&quot;,&quot;&quot;) == &quot;east&quot;)"><set-backend-service backend-id="openai-instance2" /></when>' +
          '<otherwise><set-backend-service backend-id="openai-instance1" /></otherwise></choose>',
      }),
    );
    for (let index = 0; index < 5; index += 1) {
      expect((await chat(env, { 'api-key': env.subscriptionKey, 'x-route': 'east' })).region).toBe('East US');
      expect((await chat(env)).region).toBe('West US');
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
