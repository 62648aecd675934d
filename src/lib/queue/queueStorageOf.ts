import type { Settings } from '../config/types';
import { storageCredentialOf } from '../state/storageCredentialOf';
import type { QueueStorage } from './storageWorkQueue';

/**
 * The queue service of `AzureWebJobsStorage`, read as the Functions host reads it for a queue trigger with
 * `connection: 'AzureWebJobsStorage'` (and as `tableStorageOf` reads it for Tables): the connection string when set,
 * else the identity-based settings (`__queueServiceUri`, or `__accountName` → `https://<name>.queue.core.windows.net`,
 * with `__credential` / `__clientId`). Undefined when neither names a queue service. Does no I/O.
 */
export function queueStorageOf(settings: Settings): QueueStorage | undefined {
  const connectionString = settings.secrets.storageConnectionString;
  if (connectionString !== undefined) return { kind: 'connection-string', connectionString };
  const identity = settings.storageIdentity;
  if (identity?.queueServiceUri === undefined) return undefined;
  return { kind: 'identity', queueServiceUri: identity.queueServiceUri, credential: storageCredentialOf(identity) };
}
