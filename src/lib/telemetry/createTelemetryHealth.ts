import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

/** Counts of what happened to this process's telemetry since start (bounded: fixed keys, statuses ≤ 20). */
export interface TelemetryHealthSnapshot {
  /** `ok` while the last export succeeded (or nothing was exported yet); `degraded` after a failure. */
  readonly status: 'ok' | 'degraded';
  /** Why, naming the status and what to check (undefined when ok). Never carries a token or key. */
  readonly reason: string | undefined;
  /** Batches the ingestion endpoint accepted whole. */
  readonly batchesAccepted: number;
  /** Batches refused or lost, by HTTP status (`"401"`, `"403"` …), `network` or `timeout`. */
  readonly batchesFailed: Readonly<Record<string, number>>;
  /** Items the endpoint answered 206 for (accepted the batch, dropped these items). */
  readonly itemsDropped: number;
  /** Flushes that gave up waiting (the SDK keeps trying in the background). */
  readonly flushTimeouts: number;
  /** Errors of a secondary sink (e.g. App Insights behind SQLite) that did not stop the run. */
  readonly sinkErrors: number;
  /** Epoch ms of the last failure, or null. */
  readonly lastFailureAtMs: number | null;
}

/** Records telemetry export outcomes for the report and the health endpoint. */
export interface TelemetryHealth {
  /** An Azure pipeline policy (exporter `additionalPolicies`) that watches `POST …/v2.1/track` answers. */
  readonly exportPolicy: PipelinePolicy;
  recordFlushTimeout(timeoutInMs: number): void;
  recordSinkError(error: unknown): void;
  snapshot(): TelemetryHealthSnapshot;
}

/** Options of {@link createTelemetryHealth}. */
export interface TelemetryHealthOptions {
  /** Receives one line per failure kind change (never telemetry content, tokens or keys). */
  readonly log?: (line: string) => void;
  /** Clock (tests). Default `Date.now`. */
  readonly now?: () => number;
  /** What the ingestion needs, named in the 401/403 reason, e.g. "Entra ID token (Monitoring Metrics Publisher)". */
  readonly authDescription?: string;
}

const MAX_STATUS_KEYS = 20;

/**
 * Counts export failures of the App Insights exporter and turns them into a reason a person can act on.
 * Why a policy: `applicationinsights` 3.x swallows export failures (its `flush()` resolves either way, and with
 * local authentication disabled every batch is refused with 401), so the only place that sees each answer is
 * the exporter's HTTP pipeline, which accepts `additionalPolicies` (core-client `ServiceClient`).
 * Status meanings (Breeze): 401 = no/invalid Entra token (the resource has local auth disabled, or the token's
 * audience is wrong); 403 = the identity lacks **Monitoring Metrics Publisher**; 206 = some items dropped;
 * 400 = refused as invalid; 408/429/5xx = throttled or unavailable (the SDK retries).
 */
export function createTelemetryHealth(options: TelemetryHealthOptions = {}): TelemetryHealth {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const failed: Record<string, number> = {};
  let batchesAccepted = 0;
  let itemsDropped = 0;
  let flushTimeouts = 0;
  let sinkErrors = 0;
  let lastFailureAtMs: number | null = null;
  let reason: string | undefined;
  let lastLogged: string | undefined;

  const fail = (key: string, text: string): void => {
    const bucket = key in failed || Object.keys(failed).length < MAX_STATUS_KEYS ? key : 'other';
    failed[bucket] = (failed[bucket] ?? 0) + 1;
    lastFailureAtMs = now();
    reason = text;
    // One line per change of reason, not per batch: a refused resource would otherwise log every second.
    if (text !== lastLogged) {
      lastLogged = text;
      log(`Telemetry export failed: ${text}`);
    }
  };

  const describeStatus = (status: number): string => {
    if (status === 401) {
      return `HTTP 401 from App Insights ingestion: the telemetry was refused without a valid ${options.authDescription ?? 'Entra ID token'} (local authentication disabled? set APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD)`;
    }
    if (status === 403) {
      return 'HTTP 403 from App Insights ingestion: the identity lacks the Monitoring Metrics Publisher role on the App Insights resource';
    }
    if (status === 408 || status === 429 || status >= 500) {
      return `HTTP ${status} from App Insights ingestion: throttled or unavailable, the SDK retries in the background`;
    }
    return `HTTP ${status} from App Insights ingestion: the batch was refused`;
  };

  const observe = async (response: PipelineResponse): Promise<void> => {
    const status = response.status;
    if (status === 200) {
      batchesAccepted += 1;
      if (reason !== undefined && lastLogged !== undefined) log('Telemetry export recovered: the ingestion endpoint accepts batches again');
      reason = undefined;
      lastLogged = undefined;
      return;
    }
    if (status === 206) {
      const dropped = partialDropCount(response.bodyAsText);
      itemsDropped += dropped;
      fail('206', `HTTP 206 from App Insights ingestion: ${dropped} item(s) of a batch were dropped`);
      return;
    }
    fail(String(status), describeStatus(status));
  };

  const exportPolicy: PipelinePolicy = {
    name: 'apimPoolVerifierTelemetryHealth',
    async sendRequest(request: PipelineRequest, next) {
      const isTrack = request.method === 'POST' && /\/v2(\.1)?\/track$/.test(new URL(request.url).pathname);
      if (!isTrack) return next(request);
      try {
        const response = await next(request);
        await observe(response);
        return response;
      } catch (error) {
        const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name ?? '') : '';
        const code = typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code ?? '') : '';
        const statusCode = typeof error === 'object' && error !== null ? (error as { statusCode?: unknown }).statusCode : undefined;
        if (typeof statusCode === 'number') fail(String(statusCode), describeStatus(statusCode));
        else if (name === 'AbortError' || code === 'ETIMEDOUT') fail('timeout', 'the App Insights ingestion endpoint timed out');
        else fail('network', `the App Insights ingestion endpoint is unreachable (${code || name || 'network error'})`);
        throw error;
      }
    },
  };

  return {
    exportPolicy,
    recordFlushTimeout(timeoutInMs) {
      flushTimeouts += 1;
      fail('timeout', `a telemetry flush gave up after ${timeoutInMs} ms (ingestion slow or unreachable)`);
    },
    recordSinkError(error) {
      sinkErrors += 1;
      const message = typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string' ? (error as Error).message : 'unknown error';
      fail('sink', `the telemetry sink failed: ${message.slice(0, 300)}`);
    },
    snapshot() {
      return {
        status: reason === undefined ? 'ok' : 'degraded',
        reason,
        batchesAccepted,
        batchesFailed: { ...failed },
        itemsDropped,
        flushTimeouts,
        sinkErrors,
        lastFailureAtMs,
      };
    },
  };
}

/** Items a 206 answer says were not accepted (`itemsReceived − itemsAccepted`), 0 when unreadable. */
function partialDropCount(body: string | null | undefined): number {
  try {
    const parsed = JSON.parse(body ?? '') as { itemsReceived?: unknown; itemsAccepted?: unknown };
    const received = typeof parsed.itemsReceived === 'number' ? parsed.itemsReceived : 0;
    const accepted = typeof parsed.itemsAccepted === 'number' ? parsed.itemsAccepted : 0;
    return Math.max(0, received - accepted);
  } catch {
    return 0;
  }
}
