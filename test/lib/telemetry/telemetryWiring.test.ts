import path from 'node:path';
import { createServices, type Services } from '../../../src/app/createServices';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../../src/emulator/startEmbeddedEnvironment';
import { audienceCredential } from '../../fakes/fakeCredential';
import { startFakeIngestion, type FakeIngestion } from '../../fakes/fakeIngestion';
import { stopAppInsightsBackgroundWork } from '../../fakes/stopAppInsightsBackgroundWork';
import { makeRun } from './probeRecords';

// Statsbeat would probe the instance-metadata address: off for this file (jest copies process.env per file).
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

const appRoot = path.resolve(__dirname, '..', '..', '..');
let env: EmbeddedEnvironment;
let ingestion: FakeIngestion;

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 5 });
  ingestion = await startFakeIngestion({ requireTokenAudience: 'https://monitor.azure.com' });
});
afterAll(async () => {
  stopAppInsightsBackgroundWork();
  await ingestion?.close();
  await env?.close();
});

async function sendOneRun(services: Services, runId: string): Promise<void> {
  const records = makeRun(runId, 3, Date.now(), 3);
  await services.sink.beginRun({ runId, pool: services.declaredPool.name, startedAtMs: records[0]!.startedAtMs, trigger: 'timer' });
  for (const record of records) await services.sink.recordProbe(record);
  await services.sink.flush();
}

describe('the app wiring of Entra-only App Insights ingestion', () => {
  it('sends with a token when APPLICATIONINSIGHTS_AUTHENTICATION_STRING says AAD, and stamps the APIM service', async () => {
    const credential = audienceCredential();
    const services = await createServices(
      { STORE_PATH: ':memory:', APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' },
      { appRoot, embedded: env, credential, log: () => undefined, telemetryOfflineStorage: false },
    );
    try {
      stopAppInsightsBackgroundWork();
      await sendOneRun(services, 'run-wired-aad');
      const probes = ingestion.envelopes().filter((e) => e.data.baseData.properties?.runId === 'run-wired-aad' && e.data.baseData.name === 'PoolProbe');
      expect(probes).toHaveLength(3);
      expect(probes[0]!.data.baseData.properties?.apimService).toBe(env.apim.serviceName);
      expect(services.telemetryHealth?.snapshot().status).toBe('ok');
    } finally {
      await services.close();
    }
  });

  it('without it, counts the 401s, logs the status and exposes the reason for /api/health', async () => {
    const lines: string[] = [];
    const services = await createServices(
      { STORE_PATH: ':memory:', APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString },
      // No offline storage: refused batches would be written to disk and resent later from this worker process.
      { appRoot, embedded: env, credential: audienceCredential(), log: (line) => lines.push(line), telemetryOfflineStorage: false },
    );
    try {
      stopAppInsightsBackgroundWork();
      await sendOneRun(services, 'run-wired-key-only');
      const snapshot = services.telemetryHealth!.snapshot();
      expect(snapshot.status).toBe('degraded');
      expect(snapshot.batchesFailed['401']).toBeGreaterThan(0);
      expect(snapshot.reason).toMatch(/HTTP 401/);
      expect(lines.some((line) => line.includes('HTTP 401'))).toBe(true);
      // The local store still has every probe: a refused secondary sink never loses the record.
      expect((await services.state.recentRuns(services.declaredPool.name, 5)).some((run) => run.runId === 'run-wired-key-only')).toBe(true);
    } finally {
      await services.close();
    }
  });
});
