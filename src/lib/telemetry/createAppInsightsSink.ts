import type { TokenCredential } from '@azure/core-auth';
import { TelemetryClient } from 'applicationinsights';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResolvedPool } from '../pool/types';
import type { ProbeRecord, ProbeRunInfo, ProbeRunSummary } from '../probe/types';
import type { ProbeSink, RunVerdictTelemetry } from '../store/types';
import type { TelemetryHealth } from './createTelemetryHealth';
import { TelemetrySetupError } from './TelemetrySetupError';
import { SCHEMA_VERSION, telemetryNames } from './telemetryNames';

/** Options of {@link createAppInsightsSink}. */
export interface AppInsightsSinkOptions {
  /** `APPLICATIONINSIGHTS_CONNECTION_STRING`; must carry an `InstrumentationKey` GUID. Never logged. */
  readonly connectionString: string;
  /** Cloud role name on every item (queries filter on it), 1–256 characters. */
  readonly cloudRoleName: string;
  readonly pool: ResolvedPool;
  /**
   * The APIM service the probes go through (its name, or the gateway host), sent as `apimService` on every item:
   * several verifiers may share one App Insights resource, and queries filter on pool *and* service.
   */
  readonly apimService: string;
  /**
   * Keep telemetry on local disk and resend it when ingestion fails (the SDK's default). Default true;
   * tests turn it off so nothing is written outside the test.
   */
  readonly offlineStorage?: boolean;
  /**
   * Flush as soon as this many items wait in the SDK's queue. Default 500. The OpenTelemetry batch processors
   * hold at most 2,048 items and silently drop the rest (measured: 3,000 probes without a flush → 2,560 arrived),
   * so a long run must flush on the way.
   */
  readonly flushEveryItems?: number;
  /**
   * Longest wait for a flush (and for `close`), ms. Default 10,000. The SDK retries a failing ingestion endpoint
   * (measured: 6.5 s against HTTP 500) and waits up to 30 s for one that hangs; a probe run must not. After the
   * timeout the SDK keeps trying in the background and `onFlushTimeout` is told.
   */
  readonly flushTimeoutInMs?: number;
  /** Called when a flush or close gave up waiting (e.g. to log a warning); never receives telemetry content. */
  readonly onFlushTimeout?: (timeoutInMs: number) => void;
  /**
   * Entra ID credential for ingestion (`APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD`). Required
   * when the resource has local authentication disabled (`DisableLocalAuth: true`, as Microsoft's Functions
   * templates create it): ingestion then answers 401 to the key alone. The exporter asks for
   * `https://monitor.azure.com/.default`, or the connection string's `AADAudience` (sovereign clouds).
   */
  readonly credential?: TokenCredential;
  /** Receives every export outcome (401/403/4xx/5xx, network, timeouts, dropped items) and flush timeouts. */
  readonly health?: TelemetryHealth;
}

/** A `ProbeSink` writing to Application Insights, plus `close()` to flush and release the SDK's providers. */
export type AppInsightsSink = ProbeSink & { close(): Promise<void> };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Writes probe evidence to Application Insights with the `applicationinsights` 3.x SDK.
 *
 * **Per probe: one dependency** named `PoolProbe`, not a custom event, because a dependency carries the
 * probe's own start time as its timestamp (so the App Insights window selects the same probes as the local
 * store, which goes by start time — a custom event is stamped when it is emitted, up to a timeout later), its
 * latency as the native `duration` and its outcome as `success`; the portal's dependency views then show
 * probes as what they are, calls to a backend. The exporter may round the timestamp 1 ms down (float
 * nanoseconds), so the exact start also goes in the `startedAtMs` dimension, which the queries use. The 3.x
 * shim turns a dependency into an OpenTelemetry span and keeps no `target`/`resultCode`/type for a custom
 * dependency type (toolchain notes), so everything the queries need is in custom dimensions (`customDimensions` / `Properties`): `pool`, `apimService`, `backend` (absent when
 * unidentified), `region`, `identifierValue` (absent when the header was), `status`, `kind`, `latencyInMs`,
 * `startedAtMs`, `runId`, `probeIndex`, `errorCode`, `totalTokens`, `schemaVersion`, and when the answer said so
 * `retryAfterSeconds` (kind `gateway-throttled`) and `remainingTokens` (the token-limit policy's header).
 *
 * **No sampling.** Spans normally go through the distro's rate-limited sampler (~5 per second by default),
 * which silently dropped bursts of `trackDependency`. This sink uses an *isolated* client
 * (`useGlobalProviders: false`): its own tracer provider whose sampler is `ParentBased(TraceIdRatio(1))`
 * — `samplingPercentage` 100, i.e. `samplingRatio: 1`; `tracesPerSecond: 0` is set as well so the rate
 * limiter stays off should the SDK ever route through the distro config — and every span is started in the
 * root context so no unsampled parent (e.g. a host's trace) can veto it. The verdict is a custom event (log
 * pipeline, no sampler); verdict numbers are metrics. The isolated client also registers no
 * instrumentation: the host's HTTP requests, dependencies, console and performance counters are not collected
 * by it, only the items below. Because it is not the process-wide singleton, tests can create and close it
 * repeatedly.
 *
 * **Run markers** `PoolRunStarted`/`PoolRunFinished` are zero-duration dependencies too, for the same reason:
 * a custom event cannot carry its own time, and the queries decide which runs are in a window (and which
 * never finished) by the run's start, so both markers carry `startedAtMs` (remembered from `beginRun`).
 *
 * Items: the run markers (runId, state …), the `PoolVerification` event per run and
 * the metrics `PoolBackendShare` (dimension `backend`, value in [0, 1]), `PoolWorstDeviationInPoints`,
 * `PoolProbesUsed`, `PoolTokensUsed`, `PoolHealth` (0 ok / 1 otherwise, dimension `health`), all with a
 * `pool` dimension, so Azure Monitor metric alerts work without KQL (alerting on custom metric dimensions must
 * be enabled on the App Insights resource).
 *
 * Nothing secret is sent: records carry no key or token by contract and the connection string is used only
 * by the SDK. The SDK itself also talks to Microsoft endpoints on its own: statsbeat (its usage statistics,
 * which first probes the instance-metadata address outside Azure Functions; `APPLICATION_INSIGHTS_NO_STATSBEAT=true`
 * turns it off) and an hourly settings poll to `settings.sdk.monitor.azure.com` that no setting turns off.
 *
 * @throws TelemetrySetupError when the connection string has no valid InstrumentationKey or the role name is bad.
 */
export function createAppInsightsSink(options: AppInsightsSinkOptions): AppInsightsSink {
  const { connectionString, cloudRoleName, pool } = options;
  assertConnectionString(connectionString);
  if (typeof cloudRoleName !== 'string' || cloudRoleName.length === 0 || cloudRoleName.length > 256 || CONTROL.test(cloudRoleName)) {
    throw new TelemetrySetupError('cloudRoleName', 'must be 1–256 characters without control characters');
  }
  const flushEveryItems = options.flushEveryItems ?? 500;
  if (!Number.isSafeInteger(flushEveryItems) || flushEveryItems < 1 || flushEveryItems > 2000) {
    throw new TelemetrySetupError('flushEveryItems', 'must be an integer 1–2000 (the SDK queue holds 2048)');
  }

  const flushTimeoutInMs = options.flushTimeoutInMs ?? 10_000;
  if (!Number.isFinite(flushTimeoutInMs) || flushTimeoutInMs < 1) {
    throw new TelemetrySetupError('flushTimeoutInMs', 'must be a positive number of milliseconds');
  }

  const client = new TelemetryClient(connectionString, { useGlobalProviders: false });
  // An APPLICATIONINSIGHTS_CONFIGURATION_CONTENT/FILE with samplingPercentage would otherwise apply here.
  client.config.samplingPercentage = 100;
  client.config.azureMonitorOpenTelemetryOptions = {
    azureMonitorExporterOptions: {
      connectionString,
      disableOfflineStorage: options.offlineStorage === false,
      ...(options.credential === undefined ? {} : { credential: options.credential }),
      // Export failures are otherwise invisible: the SDK's flush resolves whether ingestion accepted or refused.
      ...(options.health === undefined ? {} : { additionalPolicies: [{ policy: options.health.exportPolicy, position: 'perRetry' as const }] }),
    },
    resource: resourceFromAttributes({ 'service.name': cloudRoleName }),
    samplingRatio: 1,
    tracesPerSecond: 0,
    enableLiveMetrics: false,
    enableStandardMetrics: false,
    enablePerformanceCounters: false,
    enableAutoCollectPerformance: false,
    enableAutoCollectExceptions: false,
    enableAutoCollectDependencies: false,
    enableAutoCollectRequests: false,
  };
  if (options.offlineStorage === false) {
    client.config.enableUseDiskRetryCaching = false;
  }
  client.initialize();

  const regionOf = new Map(pool.backends.map((backend) => [backend.name, backend.region]));
  if (typeof options.apimService !== 'string' || options.apimService.trim() === '' || options.apimService.length > 256) {
    throw new TelemetrySetupError('apimService', 'must be 1–256 characters');
  }
  const common = { pool: pool.name, apimService: options.apimService, schemaVersion: SCHEMA_VERSION };
  /** Start of each run begun by this sink and not yet finished, so the finish marker can carry it. */
  const runStarts = new Map<string, number>();
  let queued = 0;
  let flushChain: Promise<void> = Promise.resolve();
  let scheduledFlush: Promise<void> | null = null;
  let closed = false;

  const bounded = async (work: Promise<void>): Promise<void> => {
    if (!(await settlesWithin(work, flushTimeoutInMs))) {
      options.health?.recordFlushTimeout(flushTimeoutInMs);
      options.onFlushTimeout?.(flushTimeoutInMs);
    }
  };
  // Flushes run one after another. A flush that is scheduled but not started yet covers everything tracked
  // so far, so concurrent callers share it; a caller arriving while one is running gets the next one (the
  // running flush may have snapshotted its queue before the caller's items).
  const flush = (): Promise<void> => {
    queued = 0;
    if (scheduledFlush !== null) return scheduledFlush;
    const next = flushChain.then(async () => {
      scheduledFlush = null;
      await bounded(client.flush());
    });
    scheduledFlush = next;
    flushChain = next;
    return next;
  };
  const afterTrack = async (): Promise<void> => {
    queued += 1;
    if (queued >= flushEveryItems) {
      await flush();
    }
  };
  const trackMarker = (name: string, atMs: number, properties: Record<string, string>): void => {
    context.with(ROOT_CONTEXT, () =>
      client.trackDependency({
        name,
        dependencyTypeName: name,
        data: name,
        time: new Date(atMs),
        duration: 0,
        resultCode: '',
        success: true,
        properties: { ...common, ...properties },
      }),
    );
  };
  const assertOpen = (): void => {
    if (closed) {
      throw new Error('The App Insights sink is closed');
    }
  };

  return {
    async beginRun(run: ProbeRunInfo): Promise<void> {
      assertOpen();
      runStarts.set(run.runId, run.startedAtMs);
      trackMarker(telemetryNames.runStarted, run.startedAtMs, {
        runId: run.runId,
        trigger: run.trigger,
        startedAtMs: String(run.startedAtMs),
      });
      await afterTrack();
    },

    async recordProbe(record: ProbeRecord): Promise<void> {
      assertOpen();
      const properties: Record<string, string> = {
        ...common,
        runId: record.runId,
        probeIndex: String(record.probeIndex),
        kind: record.kind,
        latencyInMs: String(record.latencyInMs),
        startedAtMs: String(record.startedAtMs),
      };
      if (record.backend !== null) {
        properties.backend = record.backend;
        const region = regionOf.get(record.backend);
        if (region !== undefined) properties.region = region;
      }
      if (record.identifierValue !== null) properties.identifierValue = record.identifierValue;
      if (record.status !== null) properties.status = String(record.status);
      if (record.errorCode !== null) properties.errorCode = record.errorCode;
      if (record.totalTokens !== null) properties.totalTokens = String(record.totalTokens);
      if (record.retryAfterSeconds !== undefined && record.retryAfterSeconds !== null) properties.retryAfterSeconds = String(record.retryAfterSeconds);
      if (record.remainingTokens !== undefined && record.remainingTokens !== null) properties.remainingTokens = String(record.remainingTokens);
      // The root context: a span under an unsampled parent would be dropped by the ParentBased sampler.
      context.with(ROOT_CONTEXT, () =>
        client.trackDependency({
          name: telemetryNames.probe,
          dependencyTypeName: telemetryNames.probe,
          data: telemetryNames.probe,
          time: new Date(record.startedAtMs),
          duration: record.latencyInMs,
          resultCode: record.status === null ? '' : String(record.status),
          success: record.kind === 'ok',
          properties,
        }),
      );
      await afterTrack();
    },

    async finishRun(summary: ProbeRunSummary): Promise<void> {
      assertOpen();
      const startedAtMs = runStarts.get(summary.runId);
      runStarts.delete(summary.runId);
      const properties: Record<string, string> = {
        runId: summary.runId,
        state: summary.state,
        verdict: summary.verdict,
        stoppedEarly: String(summary.stoppedEarly),
        finishedAtMs: String(summary.finishedAtMs),
        probesSent: String(summary.probesSent),
        tokensUsed: String(summary.tokensUsed),
      };
      if (startedAtMs !== undefined) properties.startedAtMs = String(startedAtMs);
      trackMarker(telemetryNames.runFinished, summary.finishedAtMs, properties);
      await afterTrack();
    },

    async recordVerdict(verdict: RunVerdictTelemetry): Promise<void> {
      assertOpen();
      const measurements: Record<string, number> = {
        probesSent: verdict.probesSent,
        tokensUsed: verdict.tokensUsed,
        worstDeviationInPoints: verdict.worstDeviationInPoints,
      };
      const shareProperties: Record<string, string> = {};
      for (const [backend, share] of Object.entries(verdict.shares)) {
        shareProperties[`share.${backend}`] = share === null ? '' : String(share);
      }
      const dims = { pool: verdict.pool };
      client.trackEvent({
        name: telemetryNames.verification,
        properties: { ...common, pool: verdict.pool, runId: verdict.runId, status: verdict.status, health: verdict.health, ...shareProperties },
        measurements,
      });
      for (const [backend, share] of Object.entries(verdict.shares)) {
        if (share !== null && Number.isFinite(share)) {
          client.trackMetric({ name: telemetryNames.metrics.backendShare, value: share, properties: { ...dims, backend } });
        }
      }
      const metric = (name: string, value: number, extra: Record<string, string> = {}): void => {
        if (Number.isFinite(value)) client.trackMetric({ name, value, properties: { ...dims, ...extra } });
      };
      metric(telemetryNames.metrics.worstDeviationInPoints, verdict.worstDeviationInPoints);
      metric(telemetryNames.metrics.probesUsed, verdict.probesSent);
      metric(telemetryNames.metrics.tokensUsed, verdict.tokensUsed);
      metric(telemetryNames.metrics.health, verdict.health === 'ok' ? 0 : 1, { health: verdict.health });
      await afterTrack();
    },

    /** Delivers everything queued; metrics are exported only by a flush (their interval is 60 s). */
    flush(): Promise<void> {
      return flush();
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await flush();
      await bounded(client.shutdown());
    },
  };
}

/** Waits for `work` up to `timeoutInMs`; true when it settled in time. Its rejection is swallowed (best effort). */
async function settlesWithin(work: Promise<void>, timeoutInMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutInMs);
  });
  try {
    return await Promise.race([work.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function assertConnectionString(connectionString: string): void {
  if (typeof connectionString !== 'string' || connectionString.trim() === '') {
    throw new TelemetrySetupError('connectionString', 'missing');
  }
  const fields = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  if (!GUID.test(fields.get('instrumentationkey') ?? '')) {
    throw new TelemetrySetupError('connectionString', 'has no InstrumentationKey=<GUID>');
  }
  const endpoint = fields.get('ingestionendpoint');
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch (error) {
      throw new TelemetrySetupError('connectionString', 'IngestionEndpoint is not a URL', { cause: error });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TelemetrySetupError('connectionString', 'IngestionEndpoint must be https');
    }
  }
}
