import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../emulator/startEmbeddedEnvironment';
import { resourcesFromPool } from '../emulator/resourcesFromPool';
import type { ResolvedPool } from '../lib/pool/types';
import { configureServices } from './appState';
import { createServices } from './createServices';

let configured = false;

/** Starts the embedded emulator with one simulated Azure OpenAI resource per backend host of the pool. */
export async function startEmbeddedForPool(pool: ResolvedPool): Promise<EmbeddedEnvironment> {
  return startEmbeddedEnvironment({
    resources: resourcesFromPool(pool.backends, pool.probe.deployment),
    poolBackendId: pool.name,
  });
}

/**
 * Configures the production factory (settings from `process.env`, as Azure App Settings and
 * `local.settings.json` provide them) unless a host or test configured another one first.
 */
export function ensureDefaultServices(): void {
  if (configured) return;
  configured = true;
  configureServices(() => createServices(process.env, { startEmbedded: startEmbeddedForPool }));
}

/** A host chooses its own factory; the functions, imported afterwards, then keep it. */
export function configureServicesExplicitly(factory: Parameters<typeof configureServices>[0]): void {
  configured = true;
  configureServices(factory);
}
