import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { doctorWithAzureIdentity } from '../lib/doctor/doctorWithAzureIdentity';

/**
 * `GET /api/doctor` (function key): the doctor's checklist run inside the Function App, with the app's own
 * identity and App Settings — the place where a Key Vault reference that did not resolve, or a role missing on
 * the APIM service, shows. 200 when every check passes, 503 when one fails; no secret in the body.
 */
export async function doctor(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const checks = await doctorWithAzureIdentity(process.env);
  const failed = checks.some((check) => check.status === 'failed');
  return { status: failed ? 503 : 200, jsonBody: { status: failed ? 'failed' : 'ok', checks }, headers: { 'cache-control': 'no-store' } };
}

app.http('doctor', { route: 'doctor', methods: ['GET'], authLevel: 'function', handler: doctor });
