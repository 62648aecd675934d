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
