import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { tableStorageOf } from '../../src/lib/state/tableStorageOf';
import { loadConfig } from '../../src/lib/config/loadConfig';

/** Which storage credentials the settings select (no I/O: creating a credential does not fetch a token). */

const CLIENT_ID = '11111111-2222-3333-4444-555555555555';

it('uses ManagedIdentityCredential for the user-assigned identity of the identity-based settings', () => {
  const storage = tableStorageOf(loadConfig({ AzureWebJobsStorage__accountName: 'stverifier01', AzureWebJobsStorage__credential: 'managedidentity', AzureWebJobsStorage__clientId: CLIENT_ID }));
  expect(storage?.kind).toBe('identity');
  if (storage?.kind !== 'identity') return;
  expect(storage.tableServiceUri).toBe('https://stverifier01.table.core.windows.net');
  expect(storage.credential).toBeInstanceOf(ManagedIdentityCredential);
});

it('uses the table endpoint as given, and DefaultAzureCredential without __credential', () => {
  const storage = tableStorageOf(loadConfig({ AzureWebJobsStorage__tableServiceUri: 'https://stverifier01.table.core.windows.net/' }));
  expect(storage).toMatchObject({ kind: 'identity', tableServiceUri: 'https://stverifier01.table.core.windows.net' });
  if (storage?.kind === 'identity') expect(storage.credential).toBeInstanceOf(DefaultAzureCredential);
});

it('prefers the connection string when both forms are set, as the Functions host does', () => {
  const connectionString = 'DefaultEndpointsProtocol=https;AccountName=stverifier01;AccountKey=SECRET-KEY-tables-1;EndpointSuffix=core.windows.net';
  expect(tableStorageOf(loadConfig({ AzureWebJobsStorage: connectionString, AzureWebJobsStorage__accountName: 'stverifier01' }))).toEqual({ kind: 'connection-string', connectionString });
});

it('has no storage when neither form is set', () => {
  expect(tableStorageOf(loadConfig({}))).toBeUndefined();
});
