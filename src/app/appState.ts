import { invalidateReports } from './reportCache';
import type { PolicyFinding } from '../lib/deploy/types';
import type { Services } from './createServices';

type ServicesFactory = () => Promise<Services>;

let factory: ServicesFactory | undefined;
let current: Promise<Services> | undefined;
let policyFindings: readonly PolicyFinding[] = [];

/**
 * Chooses how this process builds its services. The function entry point sets the production factory; the local
 * host and tests set theirs before the first invocation. Resets the cached instance.
 */
export function configureServices(next: ServicesFactory): void {
  factory = next;
  current = undefined;
}

/**
 * The process's services, built once on first use. A configuration error is cached as the rejection, so every
 * invocation reports the same clear error until the app restarts (Azure restarts it when settings change).
 */
export function getServices(): Promise<Services> {
  if (!factory) return Promise.reject(new Error('Services are not configured: configureServices() was not called.'));
  current ??= factory();
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

/** Policy warnings found at startup, shown in every report. */
export function currentPolicyFindings(): readonly PolicyFinding[] {
  return policyFindings;
}

export function setPolicyFindings(findings: readonly PolicyFinding[]): void {
  policyFindings = findings;
  invalidateReports();
}
