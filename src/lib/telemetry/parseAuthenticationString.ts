/** What `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` asks for. */
export type IngestionAuthentication =
  /** Entra ID tokens for ingestion; `clientId` names a user-assigned managed identity (else system-assigned). */
  { readonly kind: 'aad'; readonly clientId: string | undefined };

/** Why an authentication string cannot be used (names the part, never echoes a value it does not know). */
export class AuthenticationStringError extends Error {
  override readonly name = 'AuthenticationStringError';
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Parses `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` the way the Functions host reads it: `;`-separated
 * `name=value` pairs, names case-insensitive, `Authorization=AAD` required, optional `ClientId=<GUID>` of a
 * user-assigned managed identity (docs: "Microsoft Entra authentication for Application Insights", Azure
 * Functions "Configure monitoring"). With it the verifier's own telemetry is sent with an Entra token for
 * `https://monitor.azure.com/.default` (or the connection string's `AADAudience`); the identity needs the
 * **Monitoring Metrics Publisher** role on the App Insights resource.
 * @returns undefined for an absent or blank value.
 * @throws AuthenticationStringError for anything else (unknown part, Authorization other than AAD, bad ClientId).
 */
export function parseAuthenticationString(value: string | undefined): IngestionAuthentication | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    const name = (at < 0 ? part : part.slice(0, at)).trim().toLowerCase();
    if (at < 0 || (name !== 'authorization' && name !== 'clientid')) {
      throw new AuthenticationStringError('expected Authorization=AAD, optionally followed by ;ClientId=<GUID>');
    }
    fields.set(name, part.slice(at + 1).trim());
  }
  if ((fields.get('authorization') ?? '').toUpperCase() !== 'AAD') {
    throw new AuthenticationStringError('Authorization must be AAD (the only scheme Application Insights ingestion supports besides the key)');
  }
  const clientId = fields.get('clientid');
  if (clientId !== undefined && !GUID.test(clientId)) {
    throw new AuthenticationStringError('ClientId must be the client id (a GUID) of a user-assigned managed identity');
  }
  return { kind: 'aad', clientId: clientId === undefined || clientId === '' ? undefined : clientId };
}
