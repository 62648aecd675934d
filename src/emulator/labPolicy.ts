/**
 * The reference lab's API policy (see the project's domain notes): route to the pool, authenticate to
 * Azure OpenAI with the gateway's managed identity, retry twice on 429 or on a 503 that is not the pool's
 * own answer, and hide pool details behind a generic 503. The ARM endpoint serves it until a policy is PUT.
 */
export function createLabPolicyXml(poolBackendId: string, backendHostHeader?: string): string {
  // Optional outbound header naming the backend that answered (tells apart two backends in one region).
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
    <retry condition="@(context.Response.StatusCode == 429 || (context.Response.StatusCode == 503 &amp;&amp; !context.Response.StatusReason.Contains(&quot;Backend pool&quot;) &amp;&amp; !context.Response.StatusReason.Contains(&quot;is temporarily unavailable&quot;)))" count="2" interval="0" first-fast-retry="true">
      <forward-request buffer-request-body="true" />
    </retry>
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
