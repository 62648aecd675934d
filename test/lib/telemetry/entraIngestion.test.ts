import { createAppInsightsSink } from '../../../src/lib/telemetry/createAppInsightsSink';
import { createTelemetryHealth } from '../../../src/lib/telemetry/createTelemetryHealth';
import { audienceCredential, fakeCredential } from '../../fakes/fakeCredential';
import { startFakeIngestion, type FakeIngestion } from '../../fakes/fakeIngestion';
import { stopAppInsightsBackgroundWork } from '../../fakes/stopAppInsightsBackgroundWork';
import { labPool } from './labPool';
import { makeRun } from './probeRecords';

// Statsbeat would probe the instance-metadata address: off for this file (jest copies process.env per file).
const savedStatsbeat = process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

const AUDIENCE = 'https://monitor.azure.com';
let lockedDown: FakeIngestion;

beforeAll(async () => {
  lockedDown = await startFakeIngestion({ requireTokenAudience: AUDIENCE });
});
afterEach(() => stopAppInsightsBackgroundWork());
afterAll(async () => {
  stopAppInsightsBackgroundWork();
  await lockedDown.close();
  if (savedStatsbeat === undefined) delete process.env.APPLICATION_INSIGHTS_NO_STATSBEAT;
  else process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = savedStatsbeat;
});

async function sendRun(options: Partial<Parameters<typeof createAppInsightsSink>[0]>, runId: string, connectionString = lockedDown.connectionString): Promise<void> {
  const sink = createAppInsightsSink({ connectionString, cloudRoleName: 'entra-test', pool: labPool(), apimService: 'apim-nov26', offlineStorage: false, flushTimeoutInMs: 5000, ...options });
  for (const record of makeRun(runId, 5, Date.UTC(2026, 10, 25, 1, 0, 0), 11)) await sink.recordProbe(record);
  await sink.flush();
  await sink.close();
}

describe('App Insights ingestion with local authentication disabled', () => {
  it('is refused with 401 without a token, and the failure is counted, logged with its status and named as the reason', async () => {
    const lines: string[] = [];
    const health = createTelemetryHealth({ log: (line) => lines.push(line) });
    const before = lockedDown.refusals().length;
    await sendRun({ health }, 'run-no-token');
    expect(lockedDown.refusals().length).toBeGreaterThan(before);
    expect(lockedDown.refusals().slice(before).every((r) => r.authorization === undefined)).toBe(true);
    expect(lockedDown.envelopes().filter((e) => e.data.baseData.properties?.runId === 'run-no-token')).toEqual([]);
    const snapshot = health.snapshot();
    expect(snapshot.status).toBe('degraded');
    expect(snapshot.batchesFailed['401']).toBeGreaterThan(0);
    expect(snapshot.batchesAccepted).toBe(0);
    expect(snapshot.reason).toMatch(/HTTP 401.*APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD/);
    expect(lines.some((line) => /Telemetry export failed: HTTP 401/.test(line))).toBe(true);
  });

  it('is accepted with an Entra token for the Azure Monitor audience, and health stays ok', async () => {
    const credential = audienceCredential();
    const health = createTelemetryHealth();
    await sendRun({ health, credential }, 'run-with-token');
    expect(credential.scopes).toContain(`${AUDIENCE}/.default`);
    const delivered = lockedDown.envelopes().filter((e) => e.data.baseData.name === 'PoolProbe' && e.data.baseData.properties?.runId === 'run-with-token');
    expect(delivered).toHaveLength(5);
    expect(health.snapshot()).toMatchObject({ status: 'ok', batchesFailed: {}, reason: undefined });
    expect(health.snapshot().batchesAccepted).toBeGreaterThan(0);
  });

  it('refuses a token issued for another audience, as Azure does', async () => {
    const health = createTelemetryHealth();
    const before = lockedDown.refusals().length;
    await sendRun({ health, credential: fakeCredential('not-a-monitor-token') }, 'run-wrong-token');
    const refusals = lockedDown.refusals().slice(before);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0]!.authorization).toBe('Bearer not-a-monitor-token');
    expect(health.snapshot().batchesFailed['401']).toBeGreaterThan(0);
  });

  it("asks for the connection string's AADAudience (sovereign clouds) instead of the public cloud's", async () => {
    const government = await startFakeIngestion({ requireTokenAudience: 'https://monitor.azure.us' });
    try {
      const credential = audienceCredential();
      const health = createTelemetryHealth();
      await sendRun({ health, credential }, 'run-gov', `${government.connectionString};AADAudience=https://monitor.azure.us/`);
      expect(credential.scopes[0]).toMatch(/^https:\/\/monitor\.azure\.us/);
      expect(government.envelopes().filter((e) => e.data.baseData.name === 'PoolProbe')).toHaveLength(5);
      expect(health.snapshot().status).toBe('ok');
    } finally {
      stopAppInsightsBackgroundWork();
      await government.close();
    }
  });
});
