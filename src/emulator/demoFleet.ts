import type { FleetApiOptions } from './startEmbeddedFleet';

/**
 * The API policies of the demo fleet in `examples/fleet/` that a definition cannot express (they are the
 * API's, not the pool's): the "on your data" API (`ondata-backend-pool`) has a token limit of 20,000
 * tokens per minute per subscription (a probe uses about 9 tokens, so a run of 100 probes stays far inside
 * it) and routes a request with `x-route: on-your-data` to the single backend `openai-instance1` (deployed
 * with the lab pool). Pass as `startEmbeddedFleet(entries, { apis: DEMO_FLEET_APIS })`.
 */
export const DEMO_FLEET_APIS: Readonly<Record<string, FleetApiOptions>> = {
  'ondata-backend-pool': {
    tokenLimitPerMinute: 20_000,
    headerRoutes: [{ header: 'x-route', value: 'on-your-data', backendId: 'openai-instance1' }],
  },
};
