import type { EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { setDeployedWeights } from './setDeployedWeights';

/**
 * Deploys the lab's two backends and its pool with the given weights through the emulator's ARM endpoint (as a
 * team's own IaC would), so that the gateway splits traffic west:east. Used by tests and benchmarks that need a
 * known true split without running the verifier's own deploy.
 */
export async function deployLabPool(env: Pick<EmbeddedEnvironment, 'apim' | 'armEndpoint'>, west: number, east: number): Promise<void> {
  const base = `/subscriptions/${env.apim.subscriptionId}/resourceGroups/${env.apim.resourceGroup}/providers/Microsoft.ApiManagement/service/${env.apim.serviceName}/backends`;
  for (const [name, host] of [['openai-instance1', 'aoai-nov26-instance1'], ['openai-instance2', 'aoai-nov26-instance2']] as const) {
    const response = await fetch(`${env.armEndpoint}${base}/${name}?api-version=2024-05-01`, {
      method: 'PUT',
      headers: { authorization: 'Bearer iac-pipeline', 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { url: `https://${host}.openai.azure.com/openai`, protocol: 'http' } }),
    });
    if (!response.ok) throw new Error(`PUT backend ${name} answered ${response.status}`);
  }
  await setDeployedWeights(env, west, east);
}
