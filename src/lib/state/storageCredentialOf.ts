import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { Settings } from '../config/types';

/**
 * The credential of the identity-based `AzureWebJobsStorage` settings, as the Functions host reads them: with
 * `__credential=managedidentity` a `ManagedIdentityCredential` (user-assigned with `__clientId`, else
 * system-assigned); otherwise `DefaultAzureCredential` (a developer sign-in locally). Does no I/O.
 */
export function storageCredentialOf(identity: NonNullable<Settings['storageIdentity']>): TokenCredential {
  if (identity.credential === 'managedidentity') {
    return identity.clientId ? new ManagedIdentityCredential({ clientId: identity.clientId }) : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential(identity.clientId ? { managedIdentityClientId: identity.clientId } : {});
}
