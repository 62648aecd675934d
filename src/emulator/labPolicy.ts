import type { RetryPolicy } from './gateway';

export interface LabPolicyOptions {
  /** Backend (pool) the API routes to with set-backend-service. */
  readonly poolBackendId: string;
  /** The retry around forward-request; null leaves forward-request unwrapped. */
  readonly retryPolicy: RetryPolicy | null;
  /** A response header the outbound section sets to the answering backend's host; undefined = none. */
  readonly backendHostHeader?: string | undefined;
  /** Adds an `azure-openai-token-limit` per subscription with this many tokens per minute; undefined = none. */
  readonly tokenLimitPerMinute?: number | undefined;
  /** Routes to another backend (pool or single) when a request header has a value; absent = always the pool. */
  readonly headerRoutes?: readonly { readonly header: string; readonly value: string; readonly backendId: string }[] | undefined;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The token limit as the lab's token-limit API writes it. Attributes per the policy reference
 * (learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy): `counter-key` and
 * `tokens-per-minute` required, `estimate-prompt-tokens` lets APIM refuse before calling the backend,
 * `remaining-tokens-header-name` / `tokens-consumed-header-name` name response headers.
 */
function tokenLimitXml(tokensPerMinute: number): string {
  return `
    <azure-openai-token-limit tokens-per-minute="${tokensPerMinute}" counter-key="@(context.Subscription.Id)" estimate-prompt-tokens="true" remaining-tokens-header-name="remaining-tokens" tokens-consumed-header-name="consumed-tokens" />`;
}

function routingXml(poolBackendId: string, routes: LabPolicyOptions['headerRoutes']): string {
  if (!routes || routes.length === 0) {
    return `<set-backend-service backend-id="${escapeAttribute(poolBackendId)}" />`;
  }
  const whens = routes
    .map(
      (route) => `
      <when condition="${escapeAttribute(`@(context.Request.Headers.GetValueOrDefault("${route.header}", "") == "${route.value}")`)}">
        <set-backend-service backend-id="${escapeAttribute(route.backendId)}" />
      </when>`,
    )
    .join('');
  return `<choose>${whens}
      <otherwise>
        <set-backend-service backend-id="${escapeAttribute(poolBackendId)}" />
      </otherwise>
    </choose>`;
}

function isoRetryCondition(statusCodes: readonly number[]): string {
  const parts = statusCodes.map((code) =>
    code === 503
      ? // The lab retries a 503 only when it is not the pool's own "temporarily unavailable" answer.
        '(context.Response.StatusCode == 503 &amp;&amp; !context.Response.StatusReason.Contains(&quot;Backend pool&quot;) &amp;&amp; !context.Response.StatusReason.Contains(&quot;is temporarily unavailable&quot;))'
      : `context.Response.StatusCode == ${code}`,
  );
  return `@(${parts.join(' || ')})`;
}

/**
 * The reference lab's API policy (see the project's domain notes): route to the pool, authenticate to
 * Azure OpenAI with the gateway's managed identity, retry twice on 429 or on a 503 that is not the pool's
 * own answer, and hide pool details behind a generic 503. Optionally, as the lab's later APIs do, a token
 * limit per subscription and a header that routes to another backend (the "on your data" API). The ARM endpoint serves it until a policy is PUT,
 * and the gateway obeys whichever policy is in force (see `readGatewayPolicy`).
 */
export function createLabPolicyXml(options: LabPolicyOptions): string {
  const { poolBackendId, retryPolicy, backendHostHeader, tokenLimitPerMinute, headerRoutes } = options;
  const forward = '<forward-request buffer-request-body="true" />';
  const backend = retryPolicy
    ? `<retry condition="${isoRetryCondition(retryPolicy.statusCodes)}" count="${retryPolicy.count}" interval="${Math.round(retryPolicy.intervalInMs / 1000)}" first-fast-retry="${String(retryPolicy.firstFastRetry)}">
      ${forward}
    </retry>`
    : forward;
  const outboundHeader = backendHostHeader
    ? `
    <set-header name="${backendHostHeader}" exists-action="override">
      <value>@(context.Request.Url.Host)</value>
    </set-header>`
    : '';
  return `<policies>
  <inbound>
    <base />${tokenLimitPerMinute === undefined ? '' : tokenLimitXml(tokenLimitPerMinute)}
    ${routingXml(poolBackendId, headerRoutes)}
    <authentication-managed-identity resource="https://cognitiveservices.azure.com" output-token-variable-name="managed-id-access-token" ignore-error="false" />
    <set-header name="Authorization" exists-action="override">
      <value>@("Bearer " + (string)context.Variables["managed-id-access-token"])</value>
    </set-header>
  </inbound>
  <backend>
    ${backend}
  </backend>
  <outbound>
    <base />${outboundHeader}
  </outbound>
  <on-error>
    <base />
    <choose>
      <when condition="@(context.Response.StatusCode == 503)">
        <return-response>
          <set-status code="503" reason="Service Unavailable" />
        </return-response>
      </when>
    </choose>
  </on-error>
</policies>
`;
}
