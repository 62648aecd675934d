import type { Settings } from '../config/types';
import { storageCredentialOf } from './storageCredentialOf';
import type { TableStorage } from './tableSharedState';

/**
 * The storage account for shared state, from the settings the Functions host itself uses for
 * `AzureWebJobsStorage`: the connection string when set (the host prefers it too), else the identity-based
 * settings. With `AzureWebJobsStorage__credential=managedidentity` the credential is `ManagedIdentityCredential`
 * (user-assigned with `__clientId`, else system-assigned); otherwise `DefaultAzureCredential` (a developer
 * sign-in locally). Creating a credential does no I/O. Undefined when no storage is configured.
 */
export function tableStorageOf(settings: Settings): TableStorage | undefined {
  const connectionString = settings.secrets.storageConnectionString;
  if (connectionString !== undefined) return { kind: 'connection-string', connectionString };
  const identity = settings.storageIdentity;
  if (identity === undefined) return undefined;
  return { kind: 'identity', tableServiceUri: identity.tableServiceUri, credential: storageCredentialOf(identity) };
}
