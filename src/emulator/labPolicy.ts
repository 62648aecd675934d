import type { RetryPolicy } from './gateway';

export interface LabPolicyOptions {
  /** Backend (pool) the API routes to with set-backend-service. */
  readonly poolBackendId: string;
  /** The retry around forward-request; null leaves forward-request unwrapped. */
  readonly retryPolicy: RetryPolicy | null;
  /** A response header the outbound section sets to the answering backend's host; undefined = none. */
  readonly backendHostHeader?: string | undefined;
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
 * own answer, and hide pool details behind a generic 503. The ARM endpoint serves it until a policy is PUT,
 * and the gateway obeys whichever policy is in force (see `readGatewayPolicy`).
 */
export function createLabPolicyXml(options: LabPolicyOptions): string {
  const { poolBackendId, retryPolicy, backendHostHeader } = options;
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
    <base />
    <set-backend-service backend-id="${poolBackendId}" />
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
