import { channel } from 'node:diagnostics_channel';
import https from 'node:https';
import { ROOT_CONTEXT, TraceFlags, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TelemetryClient } from 'applicationinsights';
import type { ClientRequest } from 'node:http';
import { createAppInsightsSink } from '../../../src/lib/telemetry/createAppInsightsSink';
import { TelemetrySetupError } from '../../../src/lib/telemetry/TelemetrySetupError';
import { stopAppInsightsBackgroundWork } from '../../fakes/stopAppInsightsBackgroundWork';
import { startHttpsFakeServer } from '../../fakes/httpsFakeServer';
import { startFakeIngestion, type FakeIngestion, type TelemetryEnvelope } from '../../fakes/fakeIngestion';
import { labPool } from './labPool';
import { makeRun } from './probeRecords';

// The SDK's own statistics (statsbeat) would probe the Azure instance-metadata address and Microsoft endpoints:
// off for this test file (jest gives each test file its own copy of process.env).
const savedStatsbeat = process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

/** Every outgoing http(s) request of this process, as host:port, seen through Node's diagnostics channel. */
const outgoing: string[] = [];
const requestStart = channel('http.client.request.start');
const onRequest = (message: unknown): void => {
  const request = (message as { request: ClientRequest }).request;
  outgoing.push(`${request.host}`);
};

const SUBSCRIPTION_KEY = 'f00dfeedf00dfeedf00dfeedf00dfeed';
const BEARER = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-token';

let ingestion: FakeIngestion;

beforeAll(async () => {
  requestStart.subscribe(onRequest);
  ingestion = await startFakeIngestion();
});

// Every new exporter (re)starts the SDK's settings poller (first poll 5–15 s later, off loopback): stop it as
// soon as the sinks of each step exist.
afterEach(() => stopAppInsightsBackgroundWork());

afterAll(async () => {
  stopAppInsightsBackgroundWork();
  requestStart.unsubscribe(onRequest);
  await ingestion.close();
  if (savedStatsbeat === undefined) delete process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
  else process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = savedStatsbeat;
});

const probesOf = (envelopes: TelemetryEnvelope[]): TelemetryEnvelope[] =>
  envelopes.filter((e) => e.data.baseType === 'RemoteDependencyData' && e.data.baseData.name === 'PoolProbe');
const eventsNamed = (envelopes: TelemetryEnvelope[], name: string): TelemetryEnvelope[] =>
  envelopes.filter((e) => e.data.baseType === 'EventData' && e.data.baseData.name === name);
const metricsOf = (envelopes: TelemetryEnvelope[]): { name: string; value: number; properties: Record<string, string> }[] =>
  envelopes
    .filter((e) => e.data.baseType === 'MetricData')
    .flatMap((e) => (e.data.baseData.metrics ?? []).map((m) => ({ name: m.name, value: m.value, properties: { ...e.data.baseData.properties } })))
    .filter((m) => m.name.startsWith('Pool'));

describe('createAppInsightsSink against a fake ingestion endpoint', () => {
  const pool = labPool();
  const records = makeRun('run-burst', 600, Date.UTC(2026, 10, 25, 1, 0, 0), 7, 50);
  // One answer of the gateway's token limit, with what it said.
  records[1] = { ...records[1]!, kind: 'gateway-throttled', status: 429, backend: null, identifierValue: null, totalTokens: null, errorCode: 'gateway-token-limit', retryAfterSeconds: 5, remainingTokens: 0 };
  let envelopes: TelemetryEnvelope[] = [];

  beforeAll(async () => {
    const sink = createAppInsightsSink({
      connectionString: ingestion.connectionString,
      cloudRoleName: 'pool-verifier-test',
      pool,
      apimService: 'apim-nov26',
      offlineStorage: false,
    });
    await sink.beginRun({ runId: 'run-burst', pool: pool.name, startedAtMs: records[0]!.startedAtMs, trigger: 'timer' });
    // Host activity the sink must not collect: an outgoing https call of this process while the sink is live.
    await new Promise<void>((resolve, reject) => {
      https.get(`${ingestion.server.origin}/not-telemetry`, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
    // A burst: every probe recorded at once, the way a concurrent run reports them.
    await Promise.all(records.map((record) => sink.recordProbe(record)));
    await sink.finishRun({
      runId: 'run-burst',
      finishedAtMs: records[599]!.startedAtMs + 1000,
      state: 'complete',
      probesSent: 600,
      tokensUsed: 1234,
      verdict: 'ok',
      stoppedEarly: false,
    });
    await sink.recordVerdict({
      runId: 'run-burst',
      pool: pool.name,
      status: 'drift',
      probesSent: 600,
      tokensUsed: 1234,
      shares: { 'openai-instance1': 0.61, 'openai-instance2': 0.39 },
      worstDeviationInPoints: 5.67,
      health: 'drift',
    });
    await sink.flush();
    await sink.close();
    stopAppInsightsBackgroundWork();
    envelopes = ingestion.envelopes();
  });

  it('delivers exactly one dependency per probe for a burst of 600 (no sampling, no queue loss)', () => {
    const probes = probesOf(envelopes);
    expect(probes).toHaveLength(600);
    const indexes = new Set(probes.map((e) => e.data.baseData.properties?.probeIndex));
    expect(indexes.size).toBe(600);
    expect(probes.every((e) => e.sampleRate === undefined || e.sampleRate === 100)).toBe(true);
  });

  it("sends a gateway-throttled probe with its kind, Retry-After and remaining tokens, as a failed call", () => {
    const throttled = probesOf(envelopes).find((e) => e.data.baseData.properties?.probeIndex === '1');
    expect(throttled?.data.baseData.properties).toMatchObject({ kind: 'gateway-throttled', status: '429', errorCode: 'gateway-token-limit', retryAfterSeconds: '5', remainingTokens: '0' });
    expect(throttled?.data.baseData.properties?.backend).toBeUndefined();
    expect(throttled?.data.baseData.success).toBe(false);
  });

  it('marks the run start and finish with exact timestamps, both carrying the run start', () => {
    const markers = envelopes.filter((e) => e.data.baseType === 'RemoteDependencyData' && e.data.baseData.name !== 'PoolProbe');
    expect(markers.map((e) => e.data.baseData.name).sort()).toEqual(['PoolRunFinished', 'PoolRunStarted']);
    const started = markers.find((e) => e.data.baseData.name === 'PoolRunStarted')!;
    const finished = markers.find((e) => e.data.baseData.name === 'PoolRunFinished')!;
    expect(Math.abs(Date.parse(started.time) - records[0]!.startedAtMs)).toBeLessThanOrEqual(1);
    expect(Math.abs(Date.parse(finished.time) - (records[599]!.startedAtMs + 1000))).toBeLessThanOrEqual(1);
    expect(started.data.baseData.properties).toMatchObject({ pool: pool.name, runId: 'run-burst', trigger: 'timer', startedAtMs: String(records[0]!.startedAtMs) });
    expect(finished.data.baseData.properties).toMatchObject({
      pool: pool.name,
      runId: 'run-burst',
      state: 'complete',
      startedAtMs: String(records[0]!.startedAtMs),
      probesSent: '600',
    });
  });

  it('sends one verification event for the run', () => {
    expect(eventsNamed(envelopes, 'PoolVerification')).toHaveLength(1);
    const verification = eventsNamed(envelopes, 'PoolVerification')[0]!.data.baseData;
    expect(verification.properties).toMatchObject({ pool: pool.name, runId: 'run-burst', status: 'drift', health: 'drift' });
    expect(verification.measurements).toEqual({ probesSent: 600, tokensUsed: 1234, worstDeviationInPoints: 5.67 });
  });

  it('sends the verdict as metrics with pool and backend dimensions, so alerts need no KQL', () => {
    const metrics = metricsOf(envelopes);
    const shares = metrics.filter((m) => m.name === 'PoolBackendShare');
    expect(shares.map((m) => [m.properties.backend, m.value]).sort()).toEqual([
      ['openai-instance1', 0.61],
      ['openai-instance2', 0.39],
    ]);
    const byName = Object.fromEntries(metrics.filter((m) => m.name !== 'PoolBackendShare').map((m) => [m.name, m]));
    expect(byName.PoolWorstDeviationInPoints?.value).toBe(5.67);
    expect(byName.PoolProbesUsed?.value).toBe(600);
    expect(byName.PoolTokensUsed?.value).toBe(1234);
    expect(byName.PoolHealth).toMatchObject({ value: 1, properties: { health: 'drift', pool: pool.name } });
    expect(metrics.every((m) => m.properties.pool === pool.name)).toBe(true);
  });

  it('stamps every item with the cloud role name', () => {
    const ours = envelopes.filter((e) => e.data.baseType !== 'MetricData' || (e.data.baseData.metrics ?? []).some((m) => m.name.startsWith('Pool')));
    expect(ours.length).toBeGreaterThan(600);
    expect(ours.every((e) => e.tags['ai.cloud.role'] === 'pool-verifier-test')).toBe(true);
  });

  it('carries each probe field the queries need in custom dimensions, with the probe start as timestamp', () => {
    const byIndex = new Map(probesOf(envelopes).map((e) => [Number(e.data.baseData.properties?.probeIndex), e]));
    for (const record of records) {
      const envelope = byIndex.get(record.probeIndex)!;
      const properties = envelope.data.baseData.properties ?? {};
      // The exporter may round the timestamp 1 ms down; the exact start travels as a dimension.
      expect(Math.abs(Date.parse(envelope.time) - record.startedAtMs)).toBeLessThanOrEqual(1);
      expect(properties.startedAtMs).toBe(String(record.startedAtMs));
      expect(properties.pool).toBe(pool.name);
      expect(properties.runId).toBe('run-burst');
      expect(properties.kind).toBe(record.kind);
      expect(Number(properties.latencyInMs)).toBe(record.latencyInMs);
      expect(properties.backend).toBe(record.backend ?? undefined);
      expect(properties.identifierValue).toBe(record.identifierValue ?? undefined);
      expect(properties.status).toBe(record.status === null ? undefined : String(record.status));
      expect(properties.errorCode).toBe(record.errorCode ?? undefined);
      expect(properties.totalTokens).toBe(record.totalTokens === null ? undefined : String(record.totalTokens));
      expect(properties.region).toBe(record.backend === null ? undefined : pool.backends.find((b) => b.name === record.backend)?.region);
      expect(envelope.data.baseData.success).toBe(record.kind === 'ok');
    }
  });

  it('sends nothing but our own items: no request, exception, trace or performance telemetry', () => {
    const types = new Set(envelopes.map((e) => e.data.baseType));
    expect([...types].sort()).toEqual(['EventData', 'MetricData', 'RemoteDependencyData']);
    // Besides ours, only the SDK's resource descriptor metric (APPLICATIONINSIGHTS_OPENTELEMETRY_RESOURCE_METRIC_DISABLED).
    const metricNames = new Set(envelopes.flatMap((e) => (e.data.baseData.metrics ?? []).map((m) => m.name)));
    expect([...metricNames].filter((name) => !name.startsWith('Pool'))).toEqual(['_OTELRESOURCE_']);
    expect(envelopes.filter((e) => e.data.baseType === 'EventData').map((e) => e.data.baseData.name)).toEqual(['PoolVerification']);
    const dependencyNames = new Set(envelopes.filter((e) => e.data.baseType === 'RemoteDependencyData').map((e) => e.data.baseData.name));
    expect([...dependencyNames].sort()).toEqual(['PoolProbe', 'PoolRunFinished', 'PoolRunStarted']);
  });

  it('leaks no key or token: the instrumentation key appears only in the iKey field, nothing else secret at all', () => {
    for (const body of ingestion.rawBodies()) {
      expect(body).not.toContain(ingestion.connectionString);
      expect(body).not.toContain('IngestionEndpoint');
      expect(body).not.toContain(SUBSCRIPTION_KEY);
      expect(body).not.toContain(BEARER);
      expect(body.toLowerCase()).not.toContain('bearer');
    }
    for (const envelope of envelopes) {
      const { iKey, ...rest } = envelope;
      expect(iKey).toBe(ingestion.instrumentationKey);
      expect(JSON.stringify(rest)).not.toContain(ingestion.instrumentationKey);
    }
  });

  it('talks to nothing but the loopback ingestion endpoint', () => {
    expect(ingestion.otherPaths()).toEqual(['GET /not-telemetry']);
    expect(outgoing.length).toBeGreaterThan(0);
    expect(outgoing.filter((host) => host !== '127.0.0.1' && host !== `127.0.0.1:${ingestion.server.port}`)).toEqual([]);
  });
});

describe('createAppInsightsSink on a long run', () => {
  it('needs its flushing on the way: the SDK alone silently drops what exceeds its 2,048-item queue', async () => {
    const before = ingestion.envelopes().length;
    const raw = new TelemetryClient(ingestion.connectionString, { useGlobalProviders: false });
    raw.config.enableUseDiskRetryCaching = false;
    for (let i = 0; i < 3000; i += 1) {
      raw.trackDependency({ name: 'RawBurst', duration: 1, success: true, time: new Date(), properties: { i: String(i) } });
    }
    await raw.flush();
    await raw.shutdown();
    const arrived = ingestion.envelopes().slice(before).filter((e) => e.data.baseData.name === 'RawBurst').length;
    expect(arrived).toBeLessThan(3000);
    expect(arrived).toBeGreaterThanOrEqual(2048);
  });

  it('loses nothing when a run records more probes than the SDK queue holds (3,000 > 2,048)', async () => {
    const before = ingestion.envelopes().length;
    const sink = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: 'long-run', pool: labPool(), apimService: 'apim-nov26', offlineStorage: false });
    // Sequential, as a run with concurrency 1 records them: the sink must flush on the way.
    for (const record of makeRun('run-long', 3000, Date.UTC(2026, 10, 25, 4, 0, 0), 11, 10)) {
      await sink.recordProbe(record);
    }
    await sink.close();
    const added = probesOf(ingestion.envelopes().slice(before));
    expect(added).toHaveLength(3000);
    expect(new Set(added.map((e) => e.data.baseData.properties?.probeIndex)).size).toBe(3000);
  });
});

describe('createAppInsightsSink set-up', () => {
  it('can be created and closed again in the same process, and the new instance still delivers', async () => {
    const before = ingestion.envelopes().length;
    for (const round of [1, 2]) {
      const sink = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: `again-${round}`, pool: labPool(), apimService: 'apim-nov26', offlineStorage: false });
      for (const record of makeRun(`run-again-${round}`, 3, Date.UTC(2026, 10, 25, 2, 0, 0), round)) {
        await sink.recordProbe(record);
      }
      await sink.close();
    }
    const added = probesOf(ingestion.envelopes().slice(before));
    expect(added.map((e) => e.tags['ai.cloud.role']).sort()).toEqual(['again-1', 'again-1', 'again-1', 'again-2', 'again-2', 'again-2']);
  });

  it('starts the SDK settings poller, which the test helper can stop (so nothing leaves loopback later)', async () => {
    stopAppInsightsBackgroundWork();
    const sink = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: 'poller', pool: labPool(), apimService: 'apim-nov26', offlineStorage: false });
    expect(stopAppInsightsBackgroundWork()).toBe(true);
    expect(stopAppInsightsBackgroundWork()).toBe(false);
    await sink.close();
  });

  it('records a probe made inside an unsampled trace of the host (the root context is used, not the parent)', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const before = ingestion.envelopes().length;
      const sink = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: 'in-trace', pool: labPool(), apimService: 'apim-nov26', offlineStorage: false });
      const unsampledParent = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.NONE,
        isRemote: true,
      });
      const record = makeRun('run-in-trace', 1, Date.UTC(2026, 10, 25, 5, 0, 0), 4)[0]!;
      await context.with(unsampledParent, () => sink.recordProbe(record));
      await sink.close();
      expect(probesOf(ingestion.envelopes().slice(before))).toHaveLength(1);
    } finally {
      context.disable();
    }
  });

  it('sends health 0 when ok and no share metric for a backend without answers', async () => {
    const before = ingestion.envelopes().length;
    const sink = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: 'verdict-ok', pool: labPool(), apimService: 'apim-nov26', offlineStorage: false });
    await sink.recordVerdict({
      runId: 'run-ok',
      pool: 'openai-instance-backend-pool',
      status: 'ok',
      probesSent: 60,
      tokensUsed: 1200,
      shares: { 'openai-instance1': 1, 'openai-instance2': null },
      worstDeviationInPoints: 33.3,
      health: 'ok',
    });
    await sink.close();
    const metrics = metricsOf(ingestion.envelopes().slice(before));
    expect(metrics.filter((m) => m.name === 'PoolBackendShare').map((m) => m.properties.backend)).toEqual(['openai-instance1']);
    expect(metrics.find((m) => m.name === 'PoolHealth')).toMatchObject({ value: 0, properties: { health: 'ok' } });
    const event = eventsNamed(ingestion.envelopes().slice(before), 'PoolVerification')[0]!;
    expect(event.data.baseData.properties).toMatchObject({ 'share.openai-instance1': '1', 'share.openai-instance2': '' });
  });

  it('rejects a connection string without an instrumentation key, without echoing it', () => {
    const bad = `IngestionEndpoint=https://127.0.0.1/;Secret=${SUBSCRIPTION_KEY}`;
    let caught: unknown;
    try {
      createAppInsightsSink({ connectionString: bad, cloudRoleName: 'x', pool: labPool(), apimService: 'apim-nov26' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TelemetrySetupError);
    expect((caught as TelemetrySetupError).option).toBe('connectionString');
    expect((caught as Error).message).not.toContain(SUBSCRIPTION_KEY);
  });

  it('gives up waiting for an ingestion endpoint that hangs, tells the caller, and never throws', async () => {
    // Holds every answer until released; then rejects with 400, which the SDK does not retry (a dropped
    // connection or a 5xx would be retried for seconds in the background, outliving the test).
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hanging = await startHttpsFakeServer(async () => {
      await released;
      return { status: 400, body: { itemsReceived: 0, itemsAccepted: 0, errors: [] } };
    });
    const timeouts: number[] = [];
    const sink = createAppInsightsSink({
      connectionString: `InstrumentationKey=${ingestion.instrumentationKey};IngestionEndpoint=${hanging.origin}/`,
      cloudRoleName: 'hang',
      pool: labPool(), apimService: 'apim-nov26',
      offlineStorage: false,
      flushTimeoutInMs: 300,
      onFlushTimeout: (timeoutInMs) => timeouts.push(timeoutInMs),
    });
    for (const record of makeRun('run-hang', 3, Date.UTC(2026, 10, 25, 3, 0, 0), 9)) await sink.recordProbe(record);
    const started = Date.now();
    await sink.flush();
    await sink.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(timeouts[0]).toBe(300);
    expect(hanging.requests.length).toBeGreaterThan(0);
    release();
    await hanging.whenIdle();
    await hanging.close();
  });

  it('does not throw when ingestion rejects the items', async () => {
    // 400, not 5xx: the SDK retries a 5xx for seconds in the background, which would outlive the test.
    const failing = await startHttpsFakeServer(() => ({
      status: 400,
      body: { itemsReceived: 1, itemsAccepted: 0, errors: [{ index: 0, statusCode: 400, message: 'Invalid telemetry' }] },
    }));
    const sink = createAppInsightsSink({
      connectionString: `InstrumentationKey=${ingestion.instrumentationKey};IngestionEndpoint=${failing.origin}/`,
      cloudRoleName: 'failing',
      pool: labPool(), apimService: 'apim-nov26',
      offlineStorage: false,
      flushTimeoutInMs: 300,
    });
    await sink.recordProbe(makeRun('run-400', 1, Date.UTC(2026, 10, 25, 3, 0, 0), 3)[0]!);
    await expect(sink.close()).resolves.toBeUndefined();
    expect(failing.requests.length).toBeGreaterThan(0);
    await failing.whenIdle();
    await failing.close();
  });

  it('rejects an empty cloud role name', () => {
    expect(() => createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: '', pool: labPool(), apimService: 'apim-nov26' })).toThrow(
      /cloudRoleName/,
    );
  });

  it('refuses to record after close', async () => {
    const sink = createAppInsightsSink({ connectionString: ingestion.connectionString, cloudRoleName: 'closed', pool: labPool(), apimService: 'apim-nov26', offlineStorage: false });
    await sink.close();
    await expect(sink.recordProbe(makeRun('r', 1, 0, 1)[0]!)).rejects.toThrow(/closed/);
  });
});
