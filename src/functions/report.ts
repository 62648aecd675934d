import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getFleet } from '../app/appState';
import type { Fleet } from '../app/createFleet';
import type { Services } from '../app/createServices';
import { buildServiceReport } from '../app/buildServiceReport';
import { cachedReport } from '../app/reportCache';
import { ensureDefaultServices } from '../app/defaultServices';
import { fleetOverview } from '../app/fleetOverview';
import { poisonFindingOf } from '../app/poisonFinding';
import { renderFleetOverview } from '../lib/report/fleet/renderFleetOverview';
import { renderReport } from '../lib/report/renderReportHtml';
import { ensureError } from '../lib/util/errors';
import { parseReportQuery } from '../app/parseReportQuery';

ensureDefaultServices();

/** Headers of every HTML page (strict Content-Security-Policy from the renderer). */
function htmlHeaders(contentSecurityPolicy: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': contentSecurityPolicy,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
}

/**
 * `GET /api/report`: JSON for machines, HTML (with a strict Content-Security-Policy) for browsers
 * (`Accept: text/html` or `?format=html`). Without `?pool=` a fleet of several pools answers with the fleet
 * overview (one row per pool, worst first); a fleet of one answers with that pool's report. `?pool=<name>` (and
 * `&service=` where the name repeats across APIM services) is one pool's report. `?window=run|hour|day` picks the
 * headline window; `?refresh=N` (10–3600) reloads the HTML page every N seconds.
 */
export async function report(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const parsed = parseReportQuery(request.query, request.headers.get('accept'));
  if (!parsed.ok) {
    return { status: 400, jsonBody: { error: { code: 'InvalidQuery', message: parsed.message } } };
  }
  let fleet;
  try {
    fleet = await getFleet();
  } catch (error) {
    context.error(`Report unavailable: ${ensureError(error).message}`);
    return { status: 503, jsonBody: { error: { code: 'ConfigurationError', message: ensureError(error).message } } };
  }
  const log = (line: string): void => context.log(line);
  const refresh = parsed.refresh !== undefined ? { refreshSeconds: parsed.refresh } : {};
  if (parsed.pool === undefined && fleet.pools.length > 1) {
    const overview = await fleetOverview(fleet, log);
    if (parsed.format === 'html') {
      const page = renderFleetOverview(overview, refresh);
      return { status: 200, body: page.html, headers: htmlHeaders(page.contentSecurityPolicy) };
    }
    return { status: 200, jsonBody: overview, headers: { 'cache-control': 'no-store' } };
  }
  const lookup = parsed.pool === undefined ? fleet.find(fleet.pools[0]?.declaredPool.name ?? '') : fleet.find(parsed.pool, parsed.service);
  if (!lookup.found) return { status: lookup.status, jsonBody: { error: { code: lookup.code, message: lookup.message } } };
  const services = lookup.services;
  const window = parsed.window ?? services.settings.report.primaryWindow;
  const built = await cachedReport(services, window, () => buildServiceReport(services, window, log));
  const poison = await poisonFindingOf(fleet, services, log);
  const body = poison === undefined ? built : { ...built, findings: [...built.findings, poison] };
  if (parsed.format === 'html') {
    const page = renderReport(body, { ...refresh, ...(fleet.pools.length > 1 ? { fleet: fleetLinkOf(fleet, services) } : {}) });
    return { status: 200, body: page.html, headers: htmlHeaders(page.contentSecurityPolicy) };
  }
  return { status: 200, jsonBody: body, headers: { 'cache-control': 'no-store' } };
}

/** The pool page's way back to the overview; `service` only where the pool's name repeats across services. */
function fleetLinkOf(fleet: Fleet, services: Services): { pool: string; service?: string } {
  const name = services.declaredPool.name.toLowerCase();
  const repeats = fleet.pools.filter((candidate) => candidate.declaredPool.name.toLowerCase() === name).length > 1;
  return repeats ? { pool: services.declaredPool.name, service: services.service } : { pool: services.declaredPool.name };
}

app.http('report', { route: 'report', methods: ['GET'], authLevel: 'function', handler: report });
