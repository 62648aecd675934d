import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getServices, servicesBuiltAtMs } from '../app/appState';
import { assessHealth } from '../app/assessHealth';
import { ensureDefaultServices } from '../app/defaultServices';
import { describeServicesFailure } from '../app/describeServicesFailure';
import { longestIntervalInMsOf } from '../app/runsPerHourOf';
import { ensureError } from '../lib/util/errors';

ensureDefaultServices();

const NO_STORE = { 'cache-control': 'no-store' };

/**
 * `GET /api/health` (anonymous): is the app configured and probing? 200 `ok`; 503 `stale` when no run has finished
 * within two schedule intervals plus a grace; 503 `misconfigured` naming the bad settings (never their values).
 * Reveals nothing about backends, weights or verdicts — those are behind the function key on `/api/report`.
 */
export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  let services;
  try {
    services = await getServices();
  } catch (error) {
    const failure = describeServicesFailure(error);
    return { status: 503, jsonBody: { status: 'misconfigured', lastRunAt: null, reason: failure.line, settings: failure.settings }, headers: NO_STORE };
  }
  let runs;
  try {
    runs = await services.state.recentRuns(services.declaredPool.name, 10);
  } catch (error) {
    context.error(`Health: cannot read the run records: ${ensureError(error).message}`);
    return { status: 503, jsonBody: { status: 'unavailable', lastRunAt: null, reason: 'the run records cannot be read (see the logs)' }, headers: NO_STORE };
  }
  const { probe } = services.settings;
  const answer = assessHealth({
    runs,
    nowMs: Date.now(),
    sinceMs: servicesBuiltAtMs(),
    intervalInMs: longestIntervalInMsOf(probe.schedule),
    longestRunInMs: Math.min(Math.ceil(probe.maxRequests / probe.concurrency) * probe.timeoutInMs, 10 * 60_000),
  });
  // Telemetry export failures (401/403 …) name their reason; no backend, weight or verdict is revealed.
  const telemetry = services.telemetryHealth?.snapshot();
  const body =
    telemetry === undefined
      ? answer
      : { ...answer, telemetry: { status: telemetry.status, ...(telemetry.reason === undefined ? {} : { reason: telemetry.reason }) } };
  return { status: answer.status === 'ok' ? 200 : 503, jsonBody: body, headers: NO_STORE };
}

app.http('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: health });
