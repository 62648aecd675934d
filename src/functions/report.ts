import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getServices } from '../app/appState';
import { buildServiceReport } from '../app/buildServiceReport';
import { cachedReport } from '../app/reportCache';
import { ensureDefaultServices } from '../app/defaultServices';
import { renderReport } from '../lib/report/renderReportHtml';
import { ensureError } from '../lib/util/errors';
import { parseReportQuery } from '../app/parseReportQuery';

ensureDefaultServices();

/**
 * `GET /api/report`: JSON for machines, HTML (with a strict Content-Security-Policy) for browsers
 * (`Accept: text/html` or `?format=html`). `?window=run|hour|day` picks the headline window;
 * `?refresh=N` (10–3600) reloads the HTML page every N seconds.
 */
export async function report(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const parsed = parseReportQuery(request.query, request.headers.get('accept'));
  if (!parsed.ok) {
    return { status: 400, jsonBody: { error: { code: 'InvalidQuery', message: parsed.message } } };
  }
  let services;
  try {
    services = await getServices();
  } catch (error) {
    context.error(`Report unavailable: ${ensureError(error).message}`);
    return { status: 503, jsonBody: { error: { code: 'ConfigurationError', message: ensureError(error).message } } };
  }
  if (parsed.pool !== undefined && parsed.pool !== services.declaredPool.name) {
    return {
      status: 404,
      jsonBody: { error: { code: 'UnknownPool', message: `Unknown pool "${parsed.pool}". This verifier watches "${services.declaredPool.name}".` } },
    };
  }
  const window = parsed.window ?? services.settings.report.primaryWindow;
  const body = await cachedReport(services, window, () => buildServiceReport(services, window, (line) => context.log(line)));
  if (parsed.format === 'html') {
    const page = renderReport(body, parsed.refresh !== undefined ? { refreshSeconds: parsed.refresh } : {});
    return {
      status: 200,
      body: page.html,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': page.contentSecurityPolicy,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      },
    };
  }
  return { status: 200, jsonBody: body, headers: { 'cache-control': 'no-store' } };
}

app.http('report', { route: 'report', methods: ['GET'], authLevel: 'function', handler: report });
