import { inspect } from 'node:util';
import { LogsQueryClient } from '@azure/monitor-query-logs';
import { createLogsEvidenceSource, createLogsQueryClient } from '../../../src/lib/telemetry/createLogsEvidenceSource';
import { KqlValueError } from '../../../src/lib/telemetry/kqlString';
import { LogsQueryError } from '../../../src/lib/telemetry/LogsQueryError';
import { QUERY_COLUMNS, queryNameOf, type QueryName } from '../../../src/lib/telemetry/queries';
import { audienceCredential, audienceOf, fakeCredential } from '../../fakes/fakeCredential';
import { logsScopeOf } from '../../../src/lib/telemetry/createLogsQueryClient';
import type { FakeResponse } from '../../fakes/httpsFakeServer';
import { logsTable, startFakeLogAnalytics, type FakeLogAnalytics, type ReceivedLogsQuery } from '../../fakes/fakeLogAnalytics';
import { runStatesColumns } from './appInsightsQueryEvaluator';
import { labPool } from './labPool';

const WORKSPACE_ID = '5e2b8a56-9f0e-4c1e-8f3a-0d2b7c6e4a11';
const RESOURCE_ID = '/subscriptions/0000/resourceGroups/rg-lab/providers/microsoft.insights/components/appi-lab';
const FROM = Date.UTC(2026, 10, 25, 1, 0, 0);
const TO = Date.UTC(2026, 10, 25, 2, 0, 0);
const BIN = 300_000;
const pool = labPool();
const credential = fakeCredential();

let logs: FakeLogAnalytics;

beforeAll(async () => {
  logs = await startFakeLogAnalytics(() => ({ status: 500, body: {} }));
});
afterAll(async () => {
  await logs.close();
});
beforeEach(() => {
  logs.queries.length = 0;
});

const iso = (ms: number): string => new Date(ms).toISOString();

/** Probe-mode answers for the lab pool. Counts arrive as strings, as the service may send them. */
function probeTables(name: QueryName | null): object {
  switch (name) {
    case 'probeSummary':
      return {
        tables: [
          logsTable(
            [['backend', 'string'], ['probeKind', 'string'], ['errorKey', 'string'], ['answerValue', 'string'], ['probes', 'long'], ['tokens', 'long'], ['represented', 'long']],
            [
              ['openai-instance1', 'ok', '', 'West US', '40', '800', '40'],
              ['openai-instance2', 'ok', '', 'East US', 18, 378, 18],
              ['openai-instance2', 'http', '429', '', '3', null, '3'],
              ['', 'http', '503', '', '1', null, '1'],
              ['', 'timeout', '', '', '2', null, '2'],
              ['', 'network', '', '', '1', null, '1'],
              ['', 'ok', '', 'North Europe', '2', '38', '2'],
              ['', 'ok', '', '', '1', '20', '1'],
              ['retired-backend', 'ok', '', 'Central US', '1', '20', '1'],
            ],
          ),
        ],
      };
    case 'probeLatency':
      return {
        tables: [
          logsTable(
            [['backend', 'string'], ['p50', 'real'], ['p95', 'real']],
            [
              ['openai-instance1', '420.5', '910'],
              ['openai-instance2', 380, 870.25],
              ['retired-backend', 1, 2],
            ],
          ),
        ],
      };
    case 'probeBins':
      return {
        tables: [
          logsTable(
            [['startTime', 'datetime'], ['backend', 'string'], ['probeKind', 'string'], ['probes', 'long']],
            [
              [iso(FROM + BIN), 'openai-instance2', 'ok', '8'],
              [iso(FROM), 'openai-instance1', 'ok', '20'],
              [iso(FROM), '', 'ok', '3'],
              [iso(FROM), 'openai-instance2', 'http', '3'],
              [iso(FROM + BIN), 'openai-instance1', 'ok', '20'],
              [iso(FROM + BIN), 'openai-instance2', 'ok', 10],
              [iso(FROM + BIN), '', 'timeout', '2'],
            ],
          ),
        ],
      };
    case 'probeRuns':
      return {
        tables: [
          logsTable(
            [['runId', 'string'], ['backend', 'string'], ['probeKind', 'string'], ['probes', 'long'], ['firstProbeAt', 'datetime']],
            [
              ['run-b', 'openai-instance1', 'ok', '20', iso(FROM + BIN + 1000)],
              ['run-a', 'openai-instance1', 'ok', '20', iso(FROM + 1000)],
              ['run-a', 'openai-instance2', 'ok', '8', iso(FROM + 2000)],
              ['run-a', 'openai-instance2', 'http', '3', iso(FROM + 1500)],
              ['run-b', 'openai-instance2', 'ok', '10', iso(FROM + BIN + 1200)],
            ],
          ),
        ],
      };
    case 'runStates':
      return {
        tables: [
          logsTable(
            runStatesColumns(),
            [
              ['run-a', String(FROM + 500), '1', '1', '0', '31', String(FROM + 40_000), '31'],
              ['run-b', FROM + BIN + 500, 1, 1, 0, 30, FROM + BIN + 40_000, 30],
              // Started early in the window, never finished: incomplete.
              ['run-killed', String(FROM + 600), '1', '0', '0', null, null, '4'],
              // Reported incomplete by its own finish marker.
              ['run-cut', String(FROM + 700), '1', '1', '1', '5', String(FROM + 9_000), '5'],
              // Started 2 minutes before the window end without a finish marker yet: still arriving, left out.
              ['run-live', String(TO - 120_000), '1', '0', '0', null, null, '12'],
            ],
          ),
        ],
      };
    default:
      return { tables: [] };
  }
}

const answer =
  (override: Partial<Record<QueryName, FakeResponse>> = {}) =>
  (query: ReceivedLogsQuery): FakeResponse => {
    const name = queryNameOf(query.query);
    return (name !== null ? override[name] : undefined) ?? { status: 200, body: probeTables(name) };
  };

function workspaceSource(extra: Partial<Parameters<typeof createLogsEvidenceSource>[0]> = {}) {
  return createLogsEvidenceSource({
    client: createLogsQueryClient({ credential, endpoint: logs.endpoint }),
    target: { kind: 'workspace', workspaceId: WORKSPACE_ID },
    pool,
    cloudRoleName: 'apim-pool-verifier',
    apimService: 'apim-nov26',
    timeoutInMs: 5000,
    ...extra,
  });
}

describe('createLogsEvidenceSource in probes mode', () => {
  it('fills every field of the window evidence from the aggregated tables, coercing numbers sent as strings', async () => {
    logs.setHandler(answer());
    const evidence = await workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence).toEqual({
      window: { fromMs: FROM, toMs: TO },
      source: 'probes',
      total: 69,
      answered: 62,
      unidentified: { count: 4, values: { 'North Europe': 2, '': 1, 'Central US': 1 } },
      backends: [
        { backend: 'openai-instance1', answered: 40, errorsByStatus: {}, latencyP50InMs: 420.5, latencyP95InMs: 910 },
        { backend: 'openai-instance2', answered: 18, errorsByStatus: { '429': 3 }, latencyP50InMs: 380, latencyP95InMs: 870.25 },
      ],
      errors: { byStatus: { '429': 3, '503': 1 }, timeout: 2, network: 1 },
      bins: [
        { startMs: FROM, answered: { 'openai-instance1': 20 }, unidentified: 3, failed: 3 },
        { startMs: FROM + BIN, answered: { 'openai-instance1': 20, 'openai-instance2': 18 }, unidentified: 0, failed: 2 },
      ],
      binInMs: BIN,
      runs: [
        { runId: 'run-a', startedAtMs: FROM + 500, answered: { 'openai-instance1': 20, 'openai-instance2': 8 } },
        { runId: 'run-b', startedAtMs: FROM + BIN + 500, answered: { 'openai-instance1': 20, 'openai-instance2': 10 } },
      ],
      incompleteRuns: 2,
      tokensUsed: 1256,
      degraded: undefined,
      completeness: { completeUpToMs: TO - 120_000, arriving: [{ runId: 'run-live', received: 12, probesSent: null }] },
    });
    // The four count queries leave the arriving run out.
    for (const query of logs.queries.filter((q) => queryNameOf(q.query) !== 'runStates')) {
      expect(query.query).toContain('let excludedRuns = dynamic(["run-live"]);');
      expect(query.query).toContain("let apimService = 'apim-nov26';");
    }
  });

  it('keeps at most 5 queries in flight per client, even for two windows read at once (the service allows ~5)', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const normal = answer();
    logs.setHandler(async (query) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Hold each answer until the next macrotask turns, so concurrent queries overlap on the server.
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight -= 1;
      return normal(query);
    });
    const client = createLogsQueryClient({ credential, endpoint: logs.endpoint });
    const hour = workspaceSource({ client });
    const day = workspaceSource({ client });
    await Promise.all([hour.readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN), day.readWindow(pool.name, { fromMs: FROM - 23 * 3_600_000, toMs: TO }, BIN)]);
    expect(logs.queries).toHaveLength(10);
    expect(maxInFlight).toBeLessThanOrEqual(5);
    expect(maxInFlight).toBeGreaterThan(1);
  });

  it('reads the run states first, then the counts', async () => {
    logs.setHandler(answer());
    await workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(queryNameOf(logs.queries[0]!.query)).toBe('runStates');
  });

  it('counts a finished run only once all the probes its finish marker announced have arrived', async () => {
    logs.setHandler(
      answer({
        runStates: {
          status: 200,
          body: {
            tables: [
              logsTable(
                runStatesColumns(),
                [
                  // Finished 3 minutes ago, 50 of 60 probes in: still arriving.
                  ['run-recent', String(TO - 300_000), '1', '1', '0', '60', String(TO - 180_000), '50'],
                  // Finished long ago with 2 probes that never arrived: counted, and the loss is named.
                  ['run-old', String(FROM + 1000), '1', '1', '0', '40', String(FROM + 60_000), '38'],
                ],
              ),
            ],
          },
        },
      }),
    );
    const evidence = await workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.completeness).toEqual({ completeUpToMs: TO - 300_000, arriving: [{ runId: 'run-recent', received: 50, probesSent: 60 }] });
    expect(evidence.degraded).toMatch(/run run-old: 2 probe record\(s\) never arrived within 15 min/);
    expect(logs.queries.find((q) => queryNameOf(q.query) === 'probeSummary')!.query).toContain('dynamic(["run-recent"])');
  });

  it('sends five workspace queries with a bearer token, the window as timespan and a server timeout', async () => {
    logs.setHandler(answer());
    await workspaceSource({ timeoutInMs: 12_500 }).readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(logs.queries.map((q) => queryNameOf(q.query)).sort()).toEqual(['probeBins', 'probeLatency', 'probeRuns', 'probeSummary', 'runStates']);
    for (const query of logs.queries) {
      expect(query.target).toEqual({ kind: 'workspace', workspaceId: WORKSPACE_ID });
      expect(query.authorization).toBe(`Bearer ${credential.token}`);
      expect(query.prefer).toContain('wait=13');
      expect(query.query).toMatch(/\bAppDependencies\b/);
      // Probe queries scan a minute either side (timestamps may be 1 ms early) and filter on the exact start;
      // the run markers also reach the grace period (15 min) past the end, where late finish markers lie.
      const extraEnd = queryNameOf(query.query) === 'runStates' ? 15 * 60_000 : 0;
      expect(query.timespan).toEqual({ startMs: FROM - 60_000, endMs: TO + 60_000 + extraEnd });
    }
    // The per-call marker that carries the abort signal into the pipeline never leaves the process.
    expect(logs.server.requests.filter((r) => 'x-apim-pool-verifier-call' in r.headers)).toEqual([]);
  });

  it('gives zero counts, all backends and no degradation for empty tables', async () => {
    logs.setHandler((query) => {
      const name = queryNameOf(query.query)!;
      return { status: 200, body: { tables: [logsTable(QUERY_COLUMNS[name].map((column) => [column, 'string'] as const), [])] } };
    });
    const evidence = await workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.total).toBe(0);
    expect(evidence.backends.map((b) => [b.backend, b.answered, b.latencyP50InMs])).toEqual([
      ['openai-instance1', 0, null],
      ['openai-instance2', 0, null],
    ]);
    expect(evidence.bins).toEqual([]);
    expect(evidence.runs).toEqual([]);
    expect(evidence.degraded).toBeUndefined();
  });

  it("counts the gateway's token-limit answers apart: in total, never in errors or failed bins", async () => {
    const summaryColumns = [['backend', 'string'], ['probeKind', 'string'], ['errorKey', 'string'], ['answerValue', 'string'], ['probes', 'long'], ['tokens', 'long'], ['represented', 'long']] as const;
    logs.setHandler(
      answer({
        probeSummary: {
          status: 200,
          body: { tables: [logsTable(summaryColumns, [['openai-instance1', 'ok', '', 'West US', '20', '400', '20'], ['', 'gateway-throttled', '', '', '7', null, '7'], ['openai-instance2', 'http', '429', '', '2', null, '2']])] },
        },
        probeBins: {
          status: 200,
          body: {
            tables: [
              logsTable(
                [['startTime', 'datetime'], ['backend', 'string'], ['probeKind', 'string'], ['probes', 'long']],
                [[iso(FROM), 'openai-instance1', 'ok', '20'], [iso(FROM), '', 'gateway-throttled', '7'], [iso(FROM), 'openai-instance2', 'http', '2']],
              ),
            ],
          },
        },
      }),
    );
    const evidence = await workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.total).toBe(29);
    expect(evidence.gatewayThrottled).toEqual({ count: 7, lastRetryAfterSeconds: null, remainingTokens: null });
    expect(evidence.errors).toEqual({ byStatus: { '429': 2 }, timeout: 0, network: 0 });
    expect(evidence.bins).toEqual([{ startMs: FROM, answered: { 'openai-instance1': 20 }, unidentified: 0, failed: 2 }]);
  });

  it('says so when App Insights ingestion sampling thinned out the probe records', async () => {
    logs.setHandler(
      answer({
        probeSummary: {
          status: 200,
          body: {
            tables: [
              logsTable(
                [['backend', 'string'], ['probeKind', 'string'], ['errorKey', 'string'], ['answerValue', 'string'], ['probes', 'long'], ['tokens', 'long'], ['represented', 'long']],
                [
                  ['openai-instance1', 'ok', '', 'West US', '20', '400', '40'],
                  ['openai-instance2', 'ok', '', 'East US', '10', '200', '10'],
                ],
              ),
            ],
          },
        },
      }),
    );
    const evidence = await workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.total).toBe(30);
    expect(evidence.degraded).toMatch(/ingestion sampling kept 30 of 50 probe records/);
  });

  it('never reads a result of unexpected shape as zeros', async () => {
    logs.setHandler(
      answer({
        probeSummary: { status: 200, body: { tables: [logsTable([['backend', 'string'], ['count_', 'long']], [['openai-instance1', '40']])] } },
        probeLatency: { status: 200, body: { tables: [] } },
      }),
    );
    const evidence = await workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.degraded).toMatch(/probeSummary returned a result without probeKind, errorKey, answerValue, probes, tokens, represented/);
    expect(evidence.degraded).toMatch(/probeLatency returned no result table/);
  });

  it('marks a partial failure as degraded and still uses the partial tables', async () => {
    logs.setHandler(
      answer({
        probeBins: {
          status: 200,
          body: {
            ...probeTables('probeBins'),
            error: { code: 'PartialError', message: 'Query result set has exceeded the internal data size limit' },
          },
        },
      }),
    );
    const evidence = await workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.degraded).toMatch(/probeBins/);
    expect(evidence.degraded).toMatch(/PartialError/);
    expect(evidence.bins).toHaveLength(2);
    expect(evidence.total).toBe(69);
  });

  it('marks a query that outlives its timeout as degraded instead of returning a silent zero', async () => {
    logs.setHandler(answer({ probeSummary: { status: 200, hang: true } }));
    const started = Date.now();
    const evidence = await workspaceSource({ timeoutInMs: 300 }).readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(evidence.degraded).toMatch(/probeSummary timed out after 300 ms/);
    expect(evidence.total).toBe(0);
    expect(evidence.bins).toHaveLength(2);
  });

  it('treats a gateway timeout from the service as degraded too', async () => {
    logs.setHandler(answer({ probeLatency: { status: 504, body: { error: { code: 'GatewayTimeout', message: 'timed out' } } } }));
    const client = new LogsQueryClient(credential, { endpoint: logs.endpoint, retryOptions: { maxRetries: 0 } });
    const evidence = await workspaceSource({ client }).readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.degraded).toMatch(/probeLatency/);
    expect(evidence.backends[0]!.latencyP50InMs).toBeNull();
    expect(evidence.backends[0]!.answered).toBe(40);
  });

  it('throws a LogsQueryError naming the workspace on 403, with no token anywhere in the error', async () => {
    logs.setHandler(() => ({
      status: 403,
      body: { error: { code: 'InsufficientAccessError', message: 'The provided credentials have insufficient access to perform the requested operation' } },
    }));
    const error = await workspaceSource()
      .readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogsQueryError);
    const queryError = error as LogsQueryError;
    expect(queryError.statusCode).toBe(403);
    expect(queryError.code).toBe('InsufficientAccessError');
    expect(queryError.target).toBe(`workspace ${WORKSPACE_ID}`);
    expect(queryError.message).toContain(WORKSPACE_ID);
    expect(queryError.message).toContain('insufficient access');
    for (const text of [queryError.message, inspect(queryError, { depth: 10 }), JSON.stringify(queryError), String(queryError.stack)]) {
      expect(text).not.toContain(credential.token);
    }
  });

  it('throws a LogsQueryError on a network failure', async () => {
    const dead = await startFakeLogAnalytics(() => ({ status: 200, body: {} }));
    const endpoint = dead.endpoint;
    await dead.close();
    const client = new LogsQueryClient(credential, { endpoint, retryOptions: { maxRetries: 0 } });
    const error = await workspaceSource({ client })
      .readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogsQueryError);
    expect((error as LogsQueryError).statusCode).toBeUndefined();
    expect((error as LogsQueryError).message).toContain(WORKSPACE_ID);
  });

  it('rethrows when the caller aborts', async () => {
    const controller = new AbortController();
    const normal = answer({ probeSummary: { status: 200, hang: true } });
    logs.setHandler((query) => {
      // Abort once every query has reached the server and one of them hangs.
      if (logs.queries.length === 5) setImmediate(() => controller.abort(new Error('cycle cancelled')));
      return normal(query);
    });
    const pending = workspaceSource().readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN, controller.signal);
    await expect(pending).rejects.toThrow('cycle cancelled');
  });

  it('queries an App Insights resource with the workspace schema at /v1/subscriptions/… (one slash, as the service requires)', async () => {
    logs.setHandler(answer());
    const source = workspaceSource({ target: { kind: 'appinsights', resourceId: RESOURCE_ID } });
    const evidence = await source.readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.total).toBe(69);
    expect(logs.queries).toHaveLength(5);
    for (const query of logs.queries) {
      expect(query.path).toBe(`/v1${RESOURCE_ID}/query`);
      expect(query.target).toEqual({ kind: 'resource', resourceId: RESOURCE_ID });
      expect(query.query).toMatch(/\bAppDependencies\b/);
    }
  });

  it('is refused by the fake like the service when the SDK sends its double slash (/v1//subscriptions/…)', async () => {
    logs.setHandler(answer());
    const client = new LogsQueryClient(credential, { endpoint: logs.endpoint, retryOptions: { maxRetries: 0 } });
    const error = await client.queryResource(RESOURCE_ID, 'AppDependencies | take 1', { duration: 'PT1H' }).catch((e: unknown) => e);
    expect(logs.server.requests.at(-1)!.url).toMatch(/^\/v1\/\/subscriptions\//);
    expect((error as { statusCode?: number }).statusCode).toBe(403);
    expect(String((error as Error).message)).toMatch(/insufficient access/i);
    expect(logs.queries).toHaveLength(0);
  });

  it('refuses bad options at creation, naming the option', () => {
    expect(() => workspaceSource({ timeoutInMs: 0 })).toThrow(/timeoutInMs/);
    expect(() => workspaceSource({ cloudRoleName: ' ' })).toThrow(/cloudRoleName/);
    expect(() => workspaceSource({ runGraceInMs: -1 })).toThrow(/runGraceInMs/);
    expect(() => workspaceSource({ target: { kind: 'workspace', workspaceId: '' } })).toThrow(/target.workspaceId/);
    expect(() => workspaceSource({ target: { kind: 'appinsights', resourceId: '' } })).toThrow(/target.resourceId/);
  });

  it('refuses a pool name or window it cannot query, before sending anything', async () => {
    const source = workspaceSource();
    await expect(source.readWindow('bad/name', { fromMs: FROM, toMs: TO }, BIN)).rejects.toThrow(KqlValueError);
    await expect(source.readWindow(pool.name, { fromMs: TO, toMs: FROM }, BIN)).rejects.toThrow(/window/);
    await expect(source.readWindow(pool.name, { fromMs: FROM, toMs: TO }, 0)).rejects.toThrow(/bin size/);
    expect(logs.queries).toHaveLength(0);
  });

  it('embeds a quote in the pool name safely', async () => {
    logs.setHandler(answer());
    await workspaceSource().readWindow("o'brien-pool", { fromMs: FROM, toMs: TO }, BIN);
    expect(logs.queries[0]!.query).toContain("let poolName = 'o\\'brien-pool';");
  });
});

describe('createLogsEvidenceSource in all-traffic mode', () => {
  const host1 = 'aoai-nov26-instance1.openai.azure.com';
  const host2 = 'aoai-nov26-instance2.openai.azure.com';

  function trafficTables(name: QueryName | null): object {
    switch (name) {
      case 'trafficSummary':
        return {
          tables: [
            logsTable(
              [['targetHost', 'string'], ['identifierValue', 'string'], ['resultCode', 'string'], ['requests', 'long'], ['rows', 'long']],
              [
                [host1, 'West US', '200', '1400', '1400'],
                [host2, 'East US', '200', '650', '650'],
                [host2, 'East US', '429', '30', '30'],
                [host1, '', '200', '10', '10'],
                [host2, '', '0', '5', '5'],
              ],
            ),
          ],
        };
      case 'trafficLatency':
        return {
          tables: [
            logsTable(
              [['targetHost', 'string'], ['identifierValue', 'string'], ['p50', 'real'], ['p95', 'real'], ['requests', 'long']],
              [
                [host1, 'West US', '500', '1500', '1400'],
                [host1, '', '9', '9', '10'],
                [host2, 'East US', '450', '1200', '680'],
              ],
            ),
          ],
        };
      case 'trafficBins':
        return {
          tables: [
            logsTable(
              [['startTime', 'datetime'], ['targetHost', 'string'], ['identifierValue', 'string'], ['isOk', 'bool'], ['requests', 'long']],
              [
                [iso(FROM), host1, 'West US', true, '1410'],
                [iso(FROM), host2, 'East US', 'True', '650'],
                [iso(FROM), host2, 'East US', false, '35'],
              ],
            ),
          ],
        };
      default:
        return { tables: [] };
    }
  }

  it("attributes APIM's backend calls by target host and labels the evidence all-traffic", async () => {
    logs.setHandler((query) => ({ status: 200, body: trafficTables(queryNameOf(query.query)) }));
    const evidence = await workspaceSource({ mode: 'all-traffic' }).readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence).toEqual({
      window: { fromMs: FROM, toMs: TO },
      source: 'all-traffic',
      total: 2095,
      answered: 2060,
      unidentified: { count: 0, values: {} },
      backends: [
        { backend: 'openai-instance1', answered: 1410, errorsByStatus: {}, latencyP50InMs: 500, latencyP95InMs: 1500 },
        { backend: 'openai-instance2', answered: 650, errorsByStatus: { '429': 30 }, latencyP50InMs: 450, latencyP95InMs: 1200 },
      ],
      errors: { byStatus: { '429': 30 }, timeout: 0, network: 5 },
      bins: [{ startMs: FROM, answered: { 'openai-instance1': 1410, 'openai-instance2': 650 }, unidentified: 0, failed: 35 }],
      binInMs: BIN,
      runs: [],
      incompleteRuns: 0,
      tokensUsed: 0,
      degraded: undefined,
    });
    expect(logs.queries.map((q) => queryNameOf(q.query)).sort()).toEqual(['trafficBins', 'trafficLatency', 'trafficSummary']);
    expect(logs.queries[0]!.query).toContain(`pack_array('${host1}', '${host2}')`);
    expect(logs.queries[0]!.query).toContain("let headerKey = 'Response-x-ms-region';");
    expect(logs.queries[0]!.timespan).toEqual({ startMs: FROM, endMs: TO });
  });

  it('weights sampled App Insights rows by itemCount and says the counts are estimates', async () => {
    logs.setHandler((query) => {
      const name = queryNameOf(query.query);
      if (name !== 'trafficSummary') return { status: 200, body: { tables: [logsTable(QUERY_COLUMNS[name!].map((c) => [c, 'string'] as const), [])] } };
      return {
        status: 200,
        body: {
          tables: [
            logsTable(
              [['targetHost', 'string'], ['identifierValue', 'string'], ['resultCode', 'string'], ['requests', 'long'], ['rows', 'long']],
              [
                // 10 rows at itemCount 4 and 5 rows at itemCount 4: 2:1 by requests.
                [host1, 'West US', '200', '40', '10'],
                [host2, 'East US', '200', '20', '5'],
              ],
            ),
          ],
        },
      };
    });
    const evidence = await workspaceSource({ mode: 'all-traffic' }).readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.backends.map((b) => [b.backend, b.answered])).toEqual([
      ['openai-instance1', 40],
      ['openai-instance2', 20],
    ]);
    expect(evidence.degraded).toMatch(/15 logged rows stand for 60 requests \(weighted by itemCount\)/);
    const summary = logs.queries.find((q) => queryNameOf(q.query) === 'trafficSummary')!.query;
    expect(summary).toContain('requests = sum(itemCount)');
    // This verifier's own probe dependencies are not APIM's traffic.
    expect(summary).toContain("let excludedRole = 'apim-pool-verifier';");
  });

  it('falls back to the logged region header when two members share a host', async () => {
    const shared = labPool();
    const sameHost = {
      ...shared,
      backends: shared.backends.map((b) => ({ ...b, url: 'https://shared-gateway.example.com/openai' })),
    };
    logs.setHandler((query) => {
      const name = queryNameOf(query.query);
      if (name !== 'trafficSummary') return { status: 200, body: { tables: [] } };
      return {
        status: 200,
        body: {
          tables: [
            logsTable(
              [['targetHost', 'string'], ['identifierValue', 'string'], ['resultCode', 'string'], ['requests', 'long'], ['rows', 'long']],
              [
                ['shared-gateway.example.com', 'westus', '200', '7', '7'],
                ['shared-gateway.example.com', 'East US', '200', '3', '3'],
                ['shared-gateway.example.com', 'Mars', '200', '1', '1'],
              ],
            ),
          ],
        },
      };
    });
    const evidence = await workspaceSource({ mode: 'all-traffic', pool: sameHost }).readWindow(sameHost.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(evidence.backends.map((b) => [b.backend, b.answered])).toEqual([
      ['openai-instance1', 7],
      ['openai-instance2', 3],
    ]);
    expect(evidence.unidentified).toEqual({ count: 1, values: { Mars: 1 } });
  });
});

describe('createLogsQueryClient', () => {
  it('asks for a token of the configured Logs endpoint (sovereign clouds), the SDK default for the public cloud', async () => {
    expect(logsScopeOf('https://api.loganalytics.azure.com/v1')).toBe('https://api.loganalytics.io/.default');
    expect(logsScopeOf('https://api.loganalytics.us/v1')).toBe('https://api.loganalytics.us/.default');
    expect(logsScopeOf('https://api.loganalytics.azure.cn/v1')).toBe('https://api.loganalytics.azure.cn/.default');
    const scoped = audienceCredential();
    logs.setHandler(answer());
    await workspaceSource({ client: createLogsQueryClient({ credential: scoped, endpoint: logs.endpoint }) }).readWindow(pool.name, { fromMs: FROM, toMs: TO }, BIN);
    expect(new Set(scoped.scopes)).toEqual(new Set([`${logs.server.origin}/.default`]));
    expect(logs.queries.every((q) => audienceOf(q.authorization) === logs.server.origin)).toBe(true);
  });

  it('refuses a non-https endpoint (the SDK would not send a token over it)', () => {
    expect(() => createLogsQueryClient({ credential, endpoint: 'http://127.0.0.1:1/v1' })).toThrow(/https/);
    expect(() => createLogsQueryClient({ credential, endpoint: 'not a url' })).toThrow(/not a URL/);
  });
});
