import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../emulator/startEmbeddedEnvironment';
import { resourcesFromPool } from '../emulator/resourcesFromPool';
import type { ResolvedPool } from '../lib/pool/types';
import type { FleetEntry } from '../lib/pool/loadFleetDefinitions';
import { startEmbeddedFleet } from '../emulator/startEmbeddedFleet';
import { demoFleetApisFor } from '../emulator/demoFleet';
import { configureFleet, fleetOfOne } from './appState';
import { createFleet, type Fleet } from './createFleet';
import type { EmbeddedEndpoints, Services } from './createServices';

let configured = false;

/** Starts the embedded emulator with one simulated Azure OpenAI resource per backend host of the pool. */
export async function startEmbeddedForPool(pool: ResolvedPool): Promise<EmbeddedEnvironment> {
  return startEmbeddedEnvironment({
    resources: resourcesFromPool(pool.backends, pool.probe.deployment),
    poolBackendId: pool.name,
  });
}

/**
 * The embedded emulator for a fleet: one API per pool on one emulated APIM service (the demo policies of
 * `examples/fleet/` — a token limit, a header-routed API — when the fleet holds those pools). A single pool keeps the
 * lab's one API at `/openai`.
 */
export async function startEmbeddedForPools(entries: readonly FleetEntry[]): Promise<EmbeddedEnvironment & EmbeddedEndpoints> {
  const [only] = entries;
  if (entries.length === 1 && only !== undefined) return startEmbeddedForPool(only.pool);
  const fleet = await startEmbeddedFleet(entries, { apis: demoFleetApisFor(entries) });
  const [first] = fleet.apis;
  if (first === undefined) {
    await fleet.close();
    throw new Error('The embedded fleet started without an API.');
  }
  return { ...fleet, gatewayUrl: first.gatewayUrl };
}

/**
 * Configures the production factory (settings from `process.env`, as Azure App Settings and
 * `local.settings.json` provide them) unless a host or test configured another one first.
 */
export function ensureDefaultServices(): void {
  if (configured) return;
  configured = true;
  configureFleet(() => createFleet(process.env, { startEmbedded: startEmbeddedForPools }));
}

/**
 * A host chooses its own factory (of a fleet, or of one pool's services: the fleet of that pool); the functions,
 * imported afterwards, then keep it.
 */
export function configureServicesExplicitly(factory: () => Promise<Fleet | Services>): void {
  configured = true;
  configureFleet(async () => {
    const built = await factory();
    return 'pools' in built ? built : fleetOfOne(built);
  });
}
