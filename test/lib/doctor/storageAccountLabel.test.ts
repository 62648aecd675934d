import { fakeCredential } from '../../fakes/fakeCredential';
import { storageAccountLabel } from '../../../src/lib/doctor/doctorWithAzureIdentity';

describe('storageAccountLabel', () => {
  it('names the account from the table endpoint, host-style or the emulator path-style', () => {
    expect(storageAccountLabel({ kind: 'identity', tableServiceUri: 'https://stapvx42.table.core.windows.net', credential: fakeCredential() })).toBe('stapvx42');
    expect(storageAccountLabel({ kind: 'identity', tableServiceUri: 'http://127.0.0.1:10002/devstoreaccount1', credential: fakeCredential() })).toBe('devstoreaccount1');
  });

  it('names the account from a connection string without ever returning its key', () => {
    const connectionString = 'DefaultEndpointsProtocol=https;AccountName=stapvx42;AccountKey=c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=;EndpointSuffix=core.windows.net';
    expect(storageAccountLabel({ kind: 'connection-string', connectionString })).toBe('stapvx42');
    expect(storageAccountLabel({ kind: 'connection-string', connectionString: 'UseDevelopmentStorage=true' })).toBe('named by AzureWebJobsStorage');
  });
});
