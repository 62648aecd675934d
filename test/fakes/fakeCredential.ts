import type { AccessToken, TokenCredential } from '@azure/core-auth';

/** A credential that hands out a fixed, recognisable token and counts the calls (no Azure, no network). */
export function fakeCredential(token = 'fake-bearer-token-7c1e9a'): TokenCredential & { readonly token: string; calls: number } {
  const credential = {
    token,
    calls: 0,
    async getToken(): Promise<AccessToken> {
      credential.calls += 1;
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return credential;
}

/**
 * A credential whose tokens say which audience they were issued for, like an Entra access token's `aud` claim:
 * `fake.<base64url {"aud": scope without /.default}>.sig`. Fakes of token-checking services decode it.
 * Records the scopes asked for.
 */
export function audienceCredential(): TokenCredential & { readonly scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    async getToken(requested: string | string[]): Promise<AccessToken> {
      const scope = Array.isArray(requested) ? (requested[0] ?? '') : requested;
      scopes.push(scope);
      const claims = Buffer.from(JSON.stringify({ aud: scope.replace(/\/\.default$/, '').replace(/\/$/, '') })).toString('base64url');
      return { token: `fake.${claims}.sig`, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

/** The `aud` claim of a token made by {@link audienceCredential}, or null for anything else. */
export function audienceOf(authorization: string | undefined): string | null {
  const match = /^Bearer fake\.([A-Za-z0-9_-]+)\.sig$/.exec(authorization ?? '');
  if (match === null) return null;
  try {
    const claims = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')) as { aud?: unknown };
    return typeof claims.aud === 'string' ? claims.aud : null;
  } catch {
    return null;
  }
}
