import { invalidateReports } from './reportCache';
import type { Services } from './createServices';
import { ensureStartup, type EnsureStartupResult } from './runStartup';

type ServicesFactory = () => Promise<Services>;

let factory: ServicesFactory | undefined;
let current: Promise<Services> | undefined;
let builtAtMs = Date.now();
const startups = new WeakMap<Services, Promise<EnsureStartupResult>>();

/**
 * Chooses how this process builds its services. The function entry point sets the production factory; the local
 * host and tests set theirs before the first invocation. Resets the cached instance.
 */
export function configureServices(next: ServicesFactory): void {
  factory = next;
  current = undefined;
  builtAtMs = Date.now();
}

/**
 * The process's services, built once on first use. A configuration error is cached as the rejection, so every
 * invocation reports the same clear error until the app restarts (Azure restarts it when settings change).
 */
export function getServices(): Promise<Services> {
  if (!factory) return Promise.reject(new Error('Services are not configured: configureServices() was not called.'));
  if (current === undefined) {
    builtAtMs = Date.now();
    current = factory();
  }
  return current;
}

/** Closes and forgets the current services (local host shutdown, tests). */
export async function disposeServices(): Promise<void> {
  const pending = current;
  current = undefined;
  if (!pending) return;
  const services = await pending.catch(() => undefined);
  await services?.close();
}

/** When this process started building its current services (health counts staleness from here before a first run). */
export function servicesBuiltAtMs(): number {
  return builtAtMs;
}

/**
 * The start-up step (deploy or verify-only read) for these services, run at most once per process at a time and
 * once per definition across instances (see `ensureStartup`). The background task after `appStart` and the first
 * timer run share it. A failure (shared state unreachable) is forgotten so the next timer run tries again.
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
        // Another instance held the lease: look again at the next timer run.
        if (!result.ran && result.record === null) startups.delete(services);
      },
      () => startups.delete(services),
    );
  }
  return pending;
}
