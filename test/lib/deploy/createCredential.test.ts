import { createAzureCredential, createLocalCredential } from '../../../src/lib/deploy/createCredential';

describe('createLocalCredential', () => {
  it('hands out a fixed token that expires in the future, and describes itself as local', async () => {
    const { credential, description } = createLocalCredential();
    const token = await credential.getToken('https://management.azure.com/.default');
    expect(token?.token).toEqual(expect.any(String));
    expect(token!.token.length).toBeGreaterThan(0);
    expect(token!.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect(description).toMatch(/local/);
    expect(description).not.toMatch(/managed identity/);
  });
});

describe('createAzureCredential', () => {
  it('names the user-assigned identity by its client id', () => {
    const { credential, description } = createAzureCredential({ managedIdentityClientId: '1234abcd-0000-0000-0000-000000000000' });
    expect(typeof credential.getToken).toBe('function');
    expect(description).toBe('user-assigned managed identity 1234abcd-0000-0000-0000-000000000000');
  });

  it('falls back to the system-assigned identity when no client id is given', () => {
    expect(createAzureCredential({}).description).toMatch(/^system-assigned managed identity/);
    expect(createAzureCredential({ managedIdentityClientId: '  ' }).description).toMatch(/^system-assigned managed identity/);
  });
});
