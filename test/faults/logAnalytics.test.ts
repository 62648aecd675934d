import path from 'node:path';
import { buildServiceReport } from '../../src/app/buildServiceReport';
import { createServices, type Services } from '../../src/app/createServices';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { QUERY_COLUMNS, queryNameOf } from '../../src/lib/telemetry/queries';
import { fakeCredential } from '../fakes/fakeCredential';
import { startFakeLogAnalytics, type FakeLogAnalytics, type LogsColumnType } from '../fakes/fakeLogAnalytics';

/**
 * Issue 8: Log Analytics unavailable or partial. The windows read from Azure Monitor Logs are marked degraded and
 * the report says so; nothing crashes, no window reads as a silent zero, and the token never leaks.
 */
const appRoot = path.resolve(__dirname, '..', '..');
const TOKEN = 'SECRET-LOGS-TOKEN-5150';
let env: EmbeddedEnvironment;
let logs: FakeLogAnalytics;
let services: Services;

/** An empty table with the columns the named query returns, as the service sends it. */
function emptyTableFor(query: string) {
  const name = queryNameOf(query);
  const columns = name ? QUERY_COLUMNS[name] : [];
  return { name: 'PrimaryResult', columns: columns.map((c) => ({ name: c, type: 'string' as LogsColumnType })), rows: [] };
}

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 4 });
  logs = await startFakeLogAnalytics(() => ({ status: 200, body: { tables: [] } }));
  services = await createServices(
    // No interval cache: every report here must reach the (changing) fake service.
    { STORE_PATH: ':memory:', LOGS_SOURCE: 'workspace', LOGS_WORKSPACE_ID: '11111111-2222-3333-4444-555555555555', LOGS_ENDPOINT: logs.endpoint, LOGS_QUERY_TIMEOUT_MS: '3000', REPORT_CACHE_SECONDS: '0' },
    { appRoot, embedded: env, credential: fakeCredential(TOKEN) },
  );
});

afterAll(async () => {
  await services?.close();
  await logs?.close();
  await env?.close();
});

describe('Azure Monitor Logs as the evidence source', () => {
  it('marks the windows degraded, with the reason, when the Logs API is forbidden', async () => {
    logs.setHandler(() => ({ status: 403, body: { error: { code: 'InsufficientAccessError', message: 'The provided credentials have insufficient access.' } } }));
    const lines: string[] = [];
    const report = await buildServiceReport(services, 'hour', (line) => lines.push(line));
    const hour = report.windows.find((w) => w.name === 'hour');
    expect(hour?.status).toBe('no-data');
    expect(report.dataSource.degraded).toMatch(/403|insufficient/i);
    expect(report.findings.some((f) => f.kind === 'degraded-data')).toBe(true);
    expect(JSON.stringify(report) + lines.join('\n')).not.toContain(TOKEN);
    expect(logs.queries.length).toBeGreaterThan(0);
    expect(logs.queries[0]?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('marks the windows degraded when the answer is partial, and still uses the tables that came back', async () => {
    logs.setHandler((q) => ({
      status: 200,
      body: { tables: [emptyTableFor(q.query)], error: { code: 'PartialError', message: 'Query result may be incomplete: a workspace was unreachable.' } },
    }));
    const report = await buildServiceReport(services, 'hour', () => undefined);
    expect(report.dataSource.degraded).toMatch(/incomplete|partial/i);
    expect(report.findings.some((f) => f.kind === 'degraded-data')).toBe(true);
  });

  it('times out a query that never answers and degrades instead of hanging', async () => {
    logs.setHandler(() => ({ status: 200, hang: true }));
    const started = Date.now();
    const report = await buildServiceReport(services, 'hour', () => undefined);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(report.dataSource.degraded).not.toBeNull();
  });
});
