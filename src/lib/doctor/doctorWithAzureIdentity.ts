import { createArmClient } from '../deploy/armClient';
import { createAzureCredential } from '../deploy/createCredential';
import { loadPoolDefinition } from '../pool/loadPoolDefinition';
import { runProbes } from '../probe/runProbes';
import { runDoctor, type DoctorCheck } from './runDoctor';

/**
 * {@link runDoctor} with the real adapters: the pool file from disk, ARM with `DefaultAzureCredential` (pinned to
 * AZURE_CLIENT_ID when set — the app's user-assigned identity in Azure, your sign-in locally) and the real probe.
 * Used by `apim-pool-verifier doctor` and `GET /api/doctor`.
 */
export function doctorWithAzureIdentity(env: Readonly<Record<string, string | undefined>>): Promise<DoctorCheck[]> {
  const identity = createAzureCredential({ managedIdentityClientId: env.AZURE_CLIENT_ID });
  return runDoctor({
    env,
    loadPool: loadPoolDefinition,
    identityDescription: identity.description,
    createArm: (settings) =>
      createArmClient({
        endpoint: settings.deploy.armEndpoint,
        credential: identity.credential,
        apiVersion: settings.deploy.armApiVersion ?? '2024-05-01',
        retry: { maxRetries: 1 },
        identityDescription: identity.description,
      }),
    runProbes,
  });
}
