import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';

/** A credential and the human description of the identity behind it (named in 403 messages). */
export interface DescribedCredential {
  readonly credential: TokenCredential;
  readonly description: string;
}

/**
 * The Azure credential: `DefaultAzureCredential`, pinned to a user-assigned managed identity when
 * `managedIdentityClientId` is given (otherwise the system-assigned identity in Azure, or a developer
 * sign-in locally). Creating it does no I/O; the first `getToken` does.
 */
export function createAzureCredential(options: { managedIdentityClientId?: string | undefined }): DescribedCredential {
  const clientId = options.managedIdentityClientId?.trim();
  if (clientId) {
    return {
      credential: new DefaultAzureCredential({ managedIdentityClientId: clientId }),
      description: `user-assigned managed identity ${clientId}`,
    };
  }
  return {
    credential: new DefaultAzureCredential(),
    description: 'system-assigned managed identity (DefaultAzureCredential; a developer sign-in when run locally)',
  };
}

/** The fixed token the local credential hands out; the embedded emulator accepts any token. */
const LOCAL_TOKEN = 'local-embedded-emulator-token';

/**
 * A credential for the embedded emulator: returns a fixed local token and never touches Azure or the
 * network.
 */
export function createLocalCredential(): DescribedCredential {
  const credential: TokenCredential = {
    async getToken(): Promise<AccessToken> {
      // Expiry one hour ahead, recomputed per call so that callers caching the token refresh it normally.
      return { token: LOCAL_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return { credential, description: 'local credential for the embedded emulator (no Azure identity)' };
}
