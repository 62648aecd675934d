import type { SimulatedResource } from './startEmbeddedEnvironment';

/**
 * Builds the simulated Azure OpenAI resources for a pool: one per distinct backend URL host, with the
 * backend's region (default `Unknown`) and the given deployment. Unparsable URLs are skipped.
 */
export function resourcesFromPool(backends: readonly { url: string; region?: string }[], deployment: string): SimulatedResource[] {
  const byHost = new Map<string, SimulatedResource>();
  for (const backend of backends) {
    let host: string;
    try {
      host = new URL(backend.url).hostname.toLowerCase();
    } catch {
      continue;
    }
    if (host !== '' && !byHost.has(host)) {
      byHost.set(host, { host, region: backend.region ?? 'Unknown', deployments: [deployment] });
    }
  }
  return [...byHost.values()];
}
