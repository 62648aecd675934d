import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getServices } from '../app/appState';
import { ensureDefaultServices } from '../app/defaultServices';

ensureDefaultServices();

/**
 * `GET /api/health` (anonymous): is the app configured and probing? Reveals nothing about backends, weights or
 * verdicts — those are behind the function key on `/api/report`.
 */
export async function health(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const services = await getServices();
    const [latest] = services.store.recentRuns(services.declaredPool.name, 1);
    // Telemetry export failures (401/403 …) name their reason; no backend, weight or verdict is revealed.
    const telemetry = services.telemetryHealth?.snapshot();
    return {
      status: 200,
      jsonBody: {
        status: 'healthy',
        lastRunAt: latest ? new Date(latest.startedAtMs).toISOString() : null,
        ...(telemetry === undefined ? {} : { telemetry: { status: telemetry.status, ...(telemetry.reason === undefined ? {} : { reason: telemetry.reason }) } }),
      },
      headers: { 'cache-control': 'no-store' },
    };
  } catch {
    return { status: 503, jsonBody: { status: 'unhealthy', reason: 'The app is not configured correctly; see its logs.' } };
  }
}

app.http('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: health });
