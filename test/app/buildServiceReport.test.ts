import path from 'node:path';
import { buildServiceReport } from '../../src/app/buildServiceReport';
import { createServices, type Services } from '../../src/app/createServices';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import type { EvidenceSource, WindowEvidence } from '../../src/lib/store/types';

const appRoot = path.resolve(__dirname, '..', '..');
let env: EmbeddedEnvironment;
let services: Services;

/** APIM's own sampled telemetry of real traffic, as the Logs source would return it: 1:1 instead of 2:1. */
function trafficEvidence(window: { fromMs: number; toMs: number }): WindowEvidence {
  const backend = (name: string, answered: number) => ({ backend: name, answered, errorsByStatus: {}, latencyP50InMs: 300, latencyP95InMs: 900 });
  return {
    window,
    source: 'all-traffic',
    total: 2000,
    answered: 2000,
    unidentified: { count: 0, values: {} },
    backends: [backend('openai-instance1', 1000), backend('openai-instance2', 1000)],
    errors: { byStatus: {}, timeout: 0, network: 0 },
    bins: [],
    binInMs: 300_000,
    runs: [],
    incompleteRuns: 0,
    tokensUsed: 0,
    degraded: undefined,
  };
}

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 3 });
  services = await createServices({ STORE_PATH: ':memory:' }, { appRoot, embedded: env });
});

afterAll(async () => {
  await services?.close();
  await env?.close();
});

describe('the service report with all-traffic telemetry', () => {
  it('judges APIM\'s own traffic as its own window beside the probes\' windows', async () => {
    const source: EvidenceSource = { readWindow: async (_pool, window) => trafficEvidence(window) };
    const report = await buildServiceReport({ ...services, allTrafficEvidence: source }, 'hour', () => undefined);
    const traffic = report.windows.find((w) => w.name === 'all-traffic');
    expect(traffic).toMatchObject({ status: 'drift', total: 2000, sampleSize: 2000 });
    expect(traffic?.explanations.join(' ')).toMatch(/sampled server-side data/);
    expect(report.windows.map((w) => w.name)).toEqual(expect.arrayContaining(['hour', 'day', 'all-traffic']));
  });

  it('degrades only that window when the Logs query fails, naming the failure', async () => {
    const failing: EvidenceSource = { readWindow: async () => Promise.reject(new Error('Logs query failed: 403 on workspace w-1')) };
    const lines: string[] = [];
    const report = await buildServiceReport({ ...services, allTrafficEvidence: failing }, 'hour', (line) => lines.push(line));
    expect(report.windows.find((w) => w.name === 'all-traffic')?.status).toBe('no-data');
    expect(report.windows.find((w) => w.name === 'hour')).toBeDefined();
    expect(lines.join('\n')).toMatch(/403 on workspace w-1/);
  });

  it('has no all-traffic window when the mode is off', async () => {
    const report = await buildServiceReport(services, 'hour', () => undefined);
    expect(report.windows.some((w) => w.name === 'all-traffic')).toBe(false);
  });
});
