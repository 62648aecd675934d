import type { Report } from '../lib/report/types';
import type { WindowEvidence } from '../lib/store/types';
import { assembleFromWindows, BLIND_VERDICT, emptyEvidence, readServiceWindows, type WindowToAssess } from '../lib/verifier/runVerificationCycle';
import { ensureError } from '../lib/util/errors';
import { readGatewayAttempts } from './readGatewayAttempts';
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
  const latest = (await services.state.recentRuns(pool.name, 5)).find((run) => run.state !== 'running');
  // The latest finished run never reached the pool: the report is about the verifier being blind (issue 11).
  const blind =
    latest?.verdict === BLIND_VERDICT
      ? `the latest run (started ${new Date(latest.startedAtMs).toISOString()}) could not reach the gateway; the probe timer's log names the cause`
      : null;
  if (latest) {
    const window = { fromMs: latest.startedAtMs, toMs: (latest.finishedAtMs ?? nowMs) + 1 };
    const evidence = await readRunWindow(services, pool.name, window, log, signal);
    windows.push({ name: 'run', evidence, alpha: services.settings.verdict.alphaRun, description: 'in the latest run' });
  }
  windows.push(...(await readServiceWindows(deps, pool.name, nowMs, signal)));
  if (services.allTrafficEvidence) windows.push(await readAllTrafficWindow(services, pool.name, nowMs, log, signal));
  const report = await assembleFromWindows(
    { ...deps, settings: { ...deps.settings, primaryWindow } },
    pool,
    windows,
    nowMs,
    (await services.state.lastStartupRecord(services.declaredPool.name))?.policy ?? [],
    blind,
  );
  // Issue 16: the gateway's own 429s beside the probes' (only where a record of them is known).
  if (services.gatewayAttempts === undefined) return report;
  return { ...report, gatewayAttempts: await readGatewayAttempts(services.gatewayAttempts, pool, report.window, log, signal) };
}

/** The latest run's window, from wherever evidence lives (the local store, or Azure Monitor Logs in Azure). */
async function readRunWindow(services: Services, poolName: string, window: { fromMs: number; toMs: number }, log: (line: string) => void, signal?: AbortSignal): Promise<WindowEvidence> {
  const binInMs = Math.max(1, window.toMs - window.fromMs);
  try {
    return await services.runEvidence.readWindow(poolName, window, binInMs, signal);
  } catch (error) {
    const message = ensureError(error).message;
    log(`Could not read the run window: ${message}`);
    return emptyEvidence(window, binInMs, message);
  }
}

/** All-traffic evidence covers the last hour; its counts are APIM's (possibly sampled) server-side records. */
const ALL_TRAFFIC_SPAN_IN_MS = 3_600_000;

/**
 * APIM's own telemetry of real traffic for the last hour, judged like the probes' hour window so the two splits
 * stand side by side. A failing query degrades this window only.
 */
async function readAllTrafficWindow(services: Services, poolName: string, nowMs: number, log: (line: string) => void, signal?: AbortSignal): Promise<WindowToAssess> {
  const window = { fromMs: nowMs - ALL_TRAFFIC_SPAN_IN_MS, toMs: nowMs + 1 };
  const binInMs = services.settings.report.binInMinutes * 60_000;
  const description = 'in all traffic APIM logged in the last hour (sampled server-side data)';
  try {
    const evidence = await (services.allTrafficEvidence as NonNullable<Services['allTrafficEvidence']>).readWindow(poolName, window, binInMs, signal);
    return { name: 'all-traffic', evidence, alpha: services.settings.verdict.alphaHour, description };
  } catch (error) {
    const message = ensureError(error).message;
    log(`Could not read all-traffic telemetry: ${message}`);
    return { name: 'all-traffic', evidence: { ...emptyEvidence(window, binInMs, message), source: 'all-traffic' }, alpha: services.settings.verdict.alphaHour, description };
  }
}
