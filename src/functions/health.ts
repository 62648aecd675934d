import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getFleet, servicesBuiltAtMs } from '../app/appState';
import { assessHealth, type HealthAnswer } from '../app/assessHealth';
import { ensureDefaultServices } from '../app/defaultServices';
import { describeServicesFailure } from '../app/describeServicesFailure';
import { longestIntervalInMsOf } from '../app/runsPerHourOf';
import { ensureError } from '../lib/util/errors';
import { mapBounded } from '../lib/util/mapBounded';

ensureDefaultServices();

const NO_STORE = { 'cache-control': 'no-store' };
/** Run records read at once (a fleet of hundreds of pools must not open hundreds of requests to the table). */
const READ_CONCURRENCY = 16;

/**
 * `GET /api/health` (anonymous): is the app configured and probing? 200 `ok`; 503 `stale` when a pool has no run
 * finished within two schedule intervals plus a grace; 503 `misconfigured` naming the bad settings (never their
 * values). With several pools the answer summarises the fleet (`pools`: how many are ok and stale) and is `stale`
 * when any pool is. Reveals nothing about pools, backends, weights or verdicts — those are behind the function key
 * on `/api/report`.
 */
export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  let fleet;
  try {
    fleet = await getFleet();
  } catch (error) {
    const failure = describeServicesFailure(error);
    return { status: 503, jsonBody: { status: 'misconfigured', lastRunAt: null, reason: failure.line, settings: failure.settings }, headers: NO_STORE };
  }
  const { probe } = fleet.settings;
  const timing = {
    nowMs: Date.now(),
    sinceMs: servicesBuiltAtMs(),
    intervalInMs: longestIntervalInMsOf(probe.schedule),
    longestRunInMs: Math.min(Math.ceil(probe.maxRequests / probe.concurrency) * probe.timeoutInMs, 10 * 60_000),
  };
  let answers: HealthAnswer[];
  try {
    answers = await mapBounded(fleet.pools, READ_CONCURRENCY, async (services) =>
      assessHealth({ ...timing, runs: await services.state.recentRuns(services.declaredPool.name, 10) }),
    );
  } catch (error) {
    context.error(`Health: cannot read the run records: ${ensureError(error).message}`);
    return { status: 503, jsonBody: { status: 'unavailable', lastRunAt: null, reason: 'the run records cannot be read (see the logs)' }, headers: NO_STORE };
  }
  const answer = answers.length === 1 ? (answers[0] as HealthAnswer) : summarise(answers);
  // Telemetry export failures (401/403 …) name their reason; no backend, weight or verdict is revealed.
  const telemetry = fleet.telemetryHealth?.snapshot();
  const body =
    telemetry === undefined
      ? answer
      : { ...answer, telemetry: { status: telemetry.status, ...(telemetry.reason === undefined ? {} : { reason: telemetry.reason }) } };
  return { status: answer.status === 'ok' ? 200 : 503, jsonBody: body, headers: NO_STORE };
}

/** The fleet in one answer: stale when any pool is, the newest finished run, counts (never pool names: anonymous). */
function summarise(answers: readonly HealthAnswer[]): HealthAnswer & { readonly pools: { readonly total: number; readonly ok: number; readonly stale: number } } {
  const stale = answers.filter((answer) => answer.status === 'stale');
  const lastRunAt = answers.map((answer) => answer.lastRunAt).filter((at): at is string => at !== null).sort().pop() ?? null;
  const pools = { total: answers.length, ok: answers.length - stale.length, stale: stale.length };
  const [firstStale] = stale;
  return firstStale === undefined
    ? { status: 'ok', lastRunAt, reason: `every one of the ${answers.length} pools has a recent finished run`, pools }
    : { status: 'stale', lastRunAt, reason: `${stale.length} of ${answers.length} pools are stale; for example: ${firstStale.reason}`, pools };
}

app.http('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: health });
