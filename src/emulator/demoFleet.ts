import type { FleetApiOptions } from './startEmbeddedFleet';

/**
 * The API policies of the demo fleet in `examples/fleet/` that a definition cannot express (they are the
 * API's, not the pool's): the "on your data" API (`ondata-backend-pool`) has a token limit of 20,000
 * tokens per minute per subscription (a probe uses about 9 tokens, so a run of 100 probes stays far inside
 * it) and routes a request with `x-route: on-your-data` to the single backend `openai-instance1` (deployed
 * with the lab pool). Pass as `startEmbeddedFleet(entries, { apis: DEMO_FLEET_APIS })`.
 */
export const DEMO_FLEET_APIS: Readonly<Record<string, FleetApiOptions>> = {
  // Its token limit (20,000 tokens per minute) is the definition's own probe.tokenLimitPerMinute.
  'ondata-backend-pool': {
    headerRoutes: [{ header: 'x-route', value: 'on-your-data', backendId: 'openai-instance1' }],
  },
};

/**
 * The part of {@link DEMO_FLEET_APIS} that applies to a fleet: the policies of its pools that the demo names,
 * kept only when every backend their header routes name is a pool or backend of the fleet (so that a fleet
 * other than `examples/fleet/` starts with the plain lab policy instead of failing).
 */
export function demoFleetApisFor(
  entries: readonly { readonly pool: { readonly name: string; readonly backends: readonly { readonly name: string }[] } }[],
): Record<string, FleetApiOptions> {
  const names = new Set(entries.flatMap((entry) => [entry.pool.name, ...entry.pool.backends.map((backend) => backend.name)].map((name) => name.toLowerCase())));
  const pools = new Set(entries.map((entry) => entry.pool.name.toLowerCase()));
  return Object.fromEntries(
    Object.entries(DEMO_FLEET_APIS).filter(
      ([pool, api]) => pools.has(pool.toLowerCase()) && (api.headerRoutes ?? []).every((route) => names.has(route.backendId.toLowerCase())),
    ),
  );
}
