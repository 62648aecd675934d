import { HttpRequest, InvocationContext } from '@azure/functions';
import type { TokenCredential } from '@azure/core-auth';
import { disposeServices, getServices } from '../../src/app/appState';
import { createServices, type Services } from '../../src/app/createServices';
import { configureServicesExplicitly } from '../../src/app/defaultServices';
import { startEmbeddedEnvironment, type EmbeddedEnvironment, type EmbeddedEnvironmentOptions } from '../../src/emulator/startEmbeddedEnvironment';
import { sharedFunctionsCoreShim } from '../../src/local/functionsCoreShim';
import type { Report } from '../../src/lib/report/types';
import { APP_ROOT } from '../corpus/support';
import { drainProbeQueue } from '../support/drainProbeQueue';

/**
 * Drives the real registered functions (start-up hook, probeTimer, report) the way the Functions host does, with
 * services built by `createServices` from a settings object. The test file must mock `@azure/functions-core` with
 * the shared stand-in (jest.mock is hoisted per file) and call {@link registerFunctions} once.
 */

export const registry = sharedFunctionsCoreShim.registry;

/** Every line the functions logged, in order, across invocations. */
export const logs: string[] = [];

/** Imports the function modules, which register themselves with the stand-in. */
export async function registerFunctions(): Promise<void> {
  await import('../../src/functions/startup');
  await import('../../src/functions/probeTimer');
  await import('../../src/functions/probePool');
  await import('../../src/functions/report');
  await import('../../src/functions/health');
}

function context(name: string): InvocationContext {
  return new InvocationContext({ functionName: name, logHandler: (_level, ...args) => logs.push(args.map(String).join(' ')) });
}

/** Base settings for fault tests: in-memory store, small and fast runs, the run as headline window. */
export const FAST_SETTINGS: Readonly<Record<string, string>> = {
  STORE_PATH: ':memory:',
  PROBE_MAX_REQUESTS: '60',
  PROBE_CONCURRENCY: '4',
  PROBE_TIMEOUT_MS: '2000',
  REPORT_PRIMARY_WINDOW: 'run',
};

/** Starts a lab emulator on port 0 with no latency and a seed. */
export function startLab(options: EmbeddedEnvironmentOptions = {}): Promise<EmbeddedEnvironment> {
  return startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 42, ...options });
}

/** Replaces the services the functions use (closing the previous ones). */
export async function useServices(settings: Record<string, string>, embedded: EmbeddedEnvironment | undefined, credential?: TokenCredential): Promise<Services> {
  await disposeServices();
  configureServicesExplicitly(() =>
    createServices({ ...FAST_SETTINGS, ...settings }, { appRoot: APP_ROOT, ...(embedded ? { embedded } : {}), ...(credential ? { credential } : {}) }),
  );
  return getServices();
}

/** Runs the registered `appStart` hook (which returns at once) and waits for the start-up work it began in the background. */
export async function runStartupHook(): Promise<void> {
  const [hook] = registry.hooks.get('appStart') ?? [];
  if (!hook) throw new Error('appStart hook was not registered');
  await hook({ hookData: {}, appHookData: {} });
  await (await import('../../src/functions/startup')).startupSettled();
}

/** Invokes the registered probeTimer handler once, then the probePool trigger for what it queued (as the host would). */
export async function runTimer(): Promise<void> {
  const fn = registry.functions.get('probeTimer');
  if (!fn) throw new Error('probeTimer was not registered');
  await fn.handler({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } }, context('probeTimer'));
  await drainProbeQueue(registry, (line) => logs.push(line));
}

/** GET /api/report through the registered handler. */
export async function getReport(query: Record<string, string> = {}): Promise<{ status: number; body: unknown; report: Report }> {
  const fn = registry.functions.get('report');
  if (!fn) throw new Error('report was not registered');
  const url = new URL('http://localhost/api/report');
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const response = (await fn.handler(new HttpRequest({ method: 'GET', url: url.toString() }), context('report'))) as { status: number; jsonBody?: unknown; body?: unknown };
  const body = response.jsonBody ?? response.body;
  return { status: response.status, body, report: body as Report };
}

/** Kinds of the report's findings, sorted and unique. */
export function findingKinds(report: Report): string[] {
  return [...new Set(report.findings.map((f) => f.kind))].sort();
}
