import { InProcessQueue } from '../lib/queue/inProcessQueue';
import type { Fleet, FleetLookup } from './createFleet';
import { invalidateReports } from './reportCache';
import type { Services } from './createServices';
import { ensureStartup, type EnsureStartupResult } from './runStartup';

type FleetFactory = () => Promise<Fleet>;

let factory: FleetFactory | undefined;
let current: Promise<Fleet> | undefined;
let builtAtMs = Date.now();
const startups = new WeakMap<Services, Promise<EnsureStartupResult>>();

/**
 * Chooses how this process builds its fleet. The function entry point sets the production factory; the local host
 * and tests set theirs before the first invocation. Resets the cached instance.
 */
export function configureFleet(next: FleetFactory): void {
  factory = next;
  current = undefined;
  builtAtMs = Date.now();
}

/** Chooses a factory of one pool's services (tests, single-pool hosts): the fleet of that one pool. */
export function configureServices(next: () => Promise<Services>): void {
  configureFleet(async () => fleetOfOne(await next()));
}

/**
 * The process's fleet, built once on first use. A configuration error is cached as the rejection, so every
 * invocation reports the same clear error until the app restarts (Azure restarts it when settings change).
 */
export function getFleet(): Promise<Fleet> {
  if (!factory) return Promise.reject(new Error('Services are not configured: configureFleet() was not called.'));
  if (current === undefined) {
    builtAtMs = Date.now();
    current = factory();
  }
  return current;
}

/** The first pool's services (single-pool callers and tests). */
export async function getServices(): Promise<Services> {
  const fleet = await getFleet();
  const [first] = fleet.pools;
  if (first === undefined) throw new Error('The fleet has no pool.');
  return first;
}

/** Closes and forgets the current fleet (local host shutdown, tests). */
export async function disposeServices(): Promise<void> {
  const pending = current;
  current = undefined;
  if (!pending) return;
  const fleet = await pending.catch(() => undefined);
  await fleet?.close();
}

/** When this process started building its current fleet (health counts staleness from here before a first run). */
export function servicesBuiltAtMs(): number {
  return builtAtMs;
}

/**
 * The start-up step (deploy or verify-only read) for one pool's services, run at most once per process at a time
 * and once per definition across instances (see `ensureStartup`). The background task after `appStart` and the first
 * run of the pool share it. A failure (shared state unreachable) is forgotten so the next run tries again.
 */
export function ensureStartupOnce(services: Services, log: (line: string) => void): Promise<EnsureStartupResult> {
  let pending = startups.get(services);
  if (pending === undefined) {
    pending = ensureStartup(services, log);
    startups.set(services, pending);
    pending.then(
      (result) => {
        // A new deploy outcome or policy findings: reports built before it are out of date.
        if (result.ran) invalidateReports();
        // Another instance held the lease: look again at the next run.
        if (!result.ran && result.record === null) startups.delete(services);
      },
      () => startups.delete(services),
    );
  }
  return pending;
}

/** A fleet of exactly the given pool's services (closing it closes them). */
export function fleetOfOne(services: Services): Fleet {
  const queue = new InProcessQueue();
  const lookup = (pool: string, service?: string): FleetLookup =>
    pool === services.declaredPool.name && (service === undefined || service === services.service)
      ? { found: true, services }
      : { found: false, status: 404, code: 'UnknownPool', message: `Unknown pool "${pool}". This verifier watches "${services.declaredPool.name}".` };
  return {
    settings: services.settings,
    pools: [services],
    queue,
    embedded: services.embedded,
    telemetryHealth: services.telemetryHealth,
    localStore: services.localStore,
    instanceId: services.instanceId,
    find: lookup,
    async close() {
      await queue.close();
      await services.close();
    },
  };
}
