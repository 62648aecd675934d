import type { EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';

/**
 * Changes the deployed lab pool's weights through the emulator's ARM endpoint, as someone editing the pool in the
 * portal would: behind the verifier's back. Used by tests and benchmarks.
 */
export async function setDeployedWeights(env: Pick<EmbeddedEnvironment, 'apim' | 'armEndpoint'>, west: number, east: number): Promise<void> {
  const base = `/subscriptions/${env.apim.subscriptionId}/resourceGroups/${env.apim.resourceGroup}/providers/Microsoft.ApiManagement/service/${env.apim.serviceName}/backends`;
  const response = await fetch(`${env.armEndpoint}${base}/openai-instance-backend-pool?api-version=2024-05-01`, {
    method: 'PUT',
    headers: { authorization: 'Bearer portal-user', 'content-type': 'application/json' },
    body: JSON.stringify({
      properties: {
        type: 'Pool',
        pool: {
          services: [
            { id: `${base}/openai-instance1`, priority: 1, weight: west },
            { id: `${base}/openai-instance2`, priority: 1, weight: east },
          ],
        },
      },
    }),
  });
  if (!response.ok) throw new Error(`PUT pool answered ${response.status}`);
}
