import type { Report } from '../lib/report/types';
import { assembleFromWindows, readServiceWindows, type WindowToAssess } from '../lib/verifier/runVerificationCycle';
import { currentPolicyFindings } from './appState';
import type { Services } from './createServices';

/**
 * The report served over HTTP: the latest run, the last hour and the last day, judged against the current
 * expectation (declared pool, or the deployed one in verify-only mode), with `primaryWindow` as the headline.
 */
export async function buildServiceReport(services: Services, primaryWindow: 'run' | 'hour' | 'day', log: (line: string) => void, signal?: AbortSignal): Promise<Report> {
  const deps = services.cycleDependencies(log);
  const nowMs = Date.now();
  const pool = services.settings.deploy.mode === 'verify-only' ? (await services.expectation.currentExpectation(signal)).pool : services.declaredPool;
  const windows: WindowToAssess[] = [];
  // The latest finished run: a run still in progress would show a partial count.
  const latest = services.store.recentRuns(pool.name, 5).find((run) => run.state !== 'running');
  if (latest) {
    const window = { fromMs: latest.startedAtMs, toMs: (latest.finishedAtMs ?? nowMs) + 1 };
    const evidence = await services.store.readWindow(pool.name, window, Math.max(1, window.toMs - window.fromMs));
    windows.push({ name: 'run', evidence, alpha: services.settings.verdict.alphaRun, description: 'in the latest run' });
  }
  windows.push(...(await readServiceWindows(deps, pool.name, nowMs, signal)));
  return assembleFromWindows(
    { ...deps, settings: { ...deps.settings, primaryWindow } },
    pool,
    windows,
    nowMs,
    currentPolicyFindings(),
  );
}
