import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessLog } from './accessLog';
import { UnknownFaultTargetError, type FaultController } from './fault';
import { isRecord, readBody, sendJson, tryParseJson } from './httpUtil';
import { FaultSpecError, toFault } from './parseFaultSpec';

export interface ControlApiDependencies {
  readonly faults: FaultController;
  readonly accessLog: AccessLog;
  /** A JSON-ready snapshot of the environment; must hold no secret (no subscription key). */
  readonly state: () => unknown;
}

/**
 * The emulator's own control API under `/_emulator` (not part of Azure): `GET state`,
 * `POST faults {target, fault}`, `POST heal {target?}`, `GET access-log?limit=&api=` (`api`: an API id or
 * URL suffix, to see one API's entries). Errors are 400 with
 * `{error}` naming the problem.
 */
export class ControlApi {
  constructor(private readonly deps: ControlApiDependencies) {}

  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '').toLowerCase();
    if (request.method === 'GET' && path === '/_emulator/state') {
      sendJson(response, 200, this.deps.state());
      return;
    }
    if (request.method === 'GET' && path === '/_emulator/access-log') {
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? 1000 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 0) {
        sendJson(response, 400, { error: `'limit' must be a non-negative integer; got '${limitText ?? ''}'` });
        return;
      }
      const api = url.searchParams.get('api');
      const entries =
        api === null
          ? this.deps.accessLog.entries()
          : this.deps.accessLog.entries().filter((entry) => entry.apiId.toLowerCase() === api.toLowerCase() || entry.apiPath.toLowerCase() === api.toLowerCase());
      sendJson(response, 200, { entries: limit === 0 ? [] : entries.slice(-limit) });
      return;
    }
    if (request.method === 'POST' && (path === '/_emulator/faults' || path === '/_emulator/heal')) {
      const parsed = tryParseJson((await readBody(request)).toString('utf8') || '{}');
      if (!parsed.ok || !isRecord(parsed.value)) {
        sendJson(response, 400, { error: 'Body must be a JSON object.' });
        return;
      }
      const target = parsed.value['target'];
      try {
        if (path === '/_emulator/faults') {
          if (typeof target !== 'string' || target === '') {
            sendJson(response, 400, { error: "'target' (a region or host) is required." });
            return;
          }
          await this.deps.faults.setFault(target, toFault(parsed.value['fault']));
        } else {
          if (target !== undefined && typeof target !== 'string') {
            sendJson(response, 400, { error: "'target' must be a region or host." });
            return;
          }
          await this.deps.faults.heal(target);
        }
      } catch (error) {
        if (error instanceof FaultSpecError || error instanceof UnknownFaultTargetError) {
          sendJson(response, 400, { error: error.message });
          return;
        }
        throw error;
      }
      sendJson(response, 200, { faults: this.deps.faults.list() });
      return;
    }
    sendJson(response, 404, { error: `No control route ${request.method ?? ''} ${url.pathname}` });
  }
}
