import { createGatewayLogsAttemptSource } from '../../../src/lib/gatewayAttempts/createGatewayLogsAttemptSource';
import { composeGatewayAttemptsQuery } from '../../../src/lib/gatewayAttempts/gatewayAttemptsQuery';
import { createLogsQueryClient } from '../../../src/lib/telemetry/createLogsQueryClient';
import { TARGET_HOST_REGEX } from '../../../src/lib/telemetry/queries';
import { fakeCredential } from '../../fakes/fakeCredential';
import { logsTable, startFakeLogAnalytics, type ReceivedLogsQuery } from '../../fakes/fakeLogAnalytics';
import type { FakeResponse } from '../../fakes/httpsFakeServer';
import type { GatewayLogRow } from '../telemetry/appInsightsQueryEvaluator';
import { labPool } from '../telemetry/labPool';
import { seededRandom } from '../telemetry/probeRecords';

const WORKSPACE = '5e2b8a56-9f0e-4c1e-8f3a-0d2b7c6e4a11';
const T0 = Date.UTC(2026, 10, 25, 1, 0, 0);
const HOUR = 3_600_000;
const WINDOW = { fromMs: T0, toMs: T0 + HOUR };
const host1 = 'aoai-nov26-instance1.openai.azure.com';
const host2 = 'aoai-nov26-instance2.openai.azure.com';
const POOL_ID = 'openai-instance-backend-pool';

/** A `pack_array('a', 'b')` let of the query, decoded. */
function letArray(query: string, name: string): string[] {
  const match = new RegExp(`let ${name} = pack_array\\((.*)\\);`).exec(query);
  if (match === null) throw new Error(`query has no ${name}`);
  return [...match[1]!.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

/**
 * Answers the gateway-attempts query by its meaning over gateway-log rows: rows of the API (`ApiId`), a recorded
 * backend call (a URL host or a response code), grouped by URL host and BackendId, counting rows, 429s and 5xx.
 * Counts go out as strings, as the service may send them.
 */
function answerAttempts(rows: readonly GatewayLogRow[], query: ReceivedLogsQuery): FakeResponse {
  if (!/\bApiManagementGatewayLogs\b/.test(query.query) || query.timespan === null) {
    return { status: 400, body: { error: { code: 'BadArgumentError', message: 'expected ApiManagementGatewayLogs with a timespan' } } };
  }
  const apiId = /let apiId = '((?:[^'\\]|\\.)*)';/.exec(query.query)?.[1] ?? '';
  const hosts = new Set(letArray(query.query, 'backendHosts'));
  const ids = new Set(letArray(query.query, 'backendIds'));
  const hostPattern = new RegExp(TARGET_HOST_REGEX);
  const groups = new Map<string, [string, string, number, number, number]>();
  for (const row of rows) {
    if (row.timestampMs < query.timespan.startMs || row.timestampMs >= query.timespan.endMs) continue;
    if (apiId !== '' && row.apiId !== apiId) continue;
    const host = (hostPattern.exec(row.backendUrl)?.[1] ?? '').toLowerCase();
    const code = row.backendResponseCode ?? 0;
    if (host === '' && !(code > 0)) continue;
    if (apiId === '' && !hosts.has(host) && !ids.has(row.backendId)) continue;
    const key = `${host}|${row.backendId}`;
    const group = groups.get(key) ?? [host, row.backendId, 0, 0, 0];
    group[2] += 1;
    if (code === 429) group[3] += 1;
    if (code >= 500 && code <= 599) group[4] += 1;
    groups.set(key, group);
  }
  const table = logsTable(
    [['targetHost', 'string'], ['backendId', 'string'], ['attempts', 'long'], ['throttled429', 'long'], ['serverErrors', 'long']],
    [...groups.values()].map(([h, b, a, t, s]) => [h, b, String(a), String(t), String(s)]),
  );
  return { status: 200, body: { tables: [table] } };
}

describe('gateway attempts from ApiManagementGatewayLogs', () => {
  const rows: GatewayLogRow[] = [];
  const truth = { 'openai-instance1': { attempts: 0, throttled429: 0, serverErrors: 0 }, 'openai-instance2': { attempts: 0, throttled429: 0, serverErrors: 0 } };

  beforeAll(() => {
    const random = seededRandom(16);
    for (let i = 0; i < 900; i += 1) {
      const first = random() < 2 / 3;
      const member = first ? 'openai-instance1' : 'openai-instance2';
      const roll = random();
      // East US (instance2) is throttled: its recorded answers are often 429 (retries exhausted).
      const code = roll < 0.03 ? null : !first && roll < 0.4 ? 429 : roll > 0.98 ? 503 : 200;
      // BackendId names the pool on some rows (then the URL host decides) and the member on others.
      const backendId = random() < 0.5 ? POOL_ID : member;
      // No backend call recorded: no URL and no code (a pool with every breaker open).
      const backendUrl = code === null ? '' : `https://${first ? host1 : host2}/openai/deployments/gpt-4o/chat/completions`;
      rows.push({ timestampMs: T0 + Math.floor(random() * HOUR), apiId: 'azure-openai-api', backendId: code === null ? POOL_ID : backendId, backendUrl, backendResponseCode: code, backendTimeMs: 100 });
      if (code === null) continue;
      truth[member].attempts += 1;
      if (code === 429) truth[member].throttled429 += 1;
      if (code >= 500) truth[member].serverErrors += 1;
    }
    // Another API calling the same hosts, and rows outside the window: never counted.
    for (let i = 0; i < 200; i += 1) {
      rows.push({ timestampMs: T0 + i * 1000, apiId: 'other-api', backendId: 'openai-instance1', backendUrl: `https://${host1}/openai`, backendResponseCode: 429, backendTimeMs: 5 });
      rows.push({ timestampMs: T0 - 1 - i, apiId: 'azure-openai-api', backendId: 'openai-instance2', backendUrl: `https://${host2}/openai`, backendResponseCode: 429, backendTimeMs: 5 });
    }
  });

  it("maps the rows of the pool's API to its members by BackendUrl host or BackendId, one recorded call per request", async () => {
    const logs = await startFakeLogAnalytics((query) => answerAttempts(rows, query));
    try {
      const source = createGatewayLogsAttemptSource({
        client: createLogsQueryClient({ credential: fakeCredential(), endpoint: logs.endpoint }),
        workspaceId: WORKSPACE,
        apiId: 'azure-openai-api',
        timeoutInMs: 10_000,
      });
      const attempts = await source.readBackendAttempts(labPool(), WINDOW);
      expect(truth['openai-instance2'].throttled429).toBeGreaterThan(50);
      expect(attempts).toMatchObject({ source: 'gateway-logs', perAttempt: false, unattributed: 0, window: WINDOW });
      expect(attempts.byBackend).toEqual({
        'openai-instance1': { ...truth['openai-instance1'], breakerTrips: null },
        'openai-instance2': { ...truth['openai-instance2'], breakerTrips: null },
      });
      expect(attempts.note).toMatch(/lower bound/);
      expect(logs.queries).toHaveLength(1);
      expect(logs.queries[0]!.target).toEqual({ kind: 'workspace', workspaceId: WORKSPACE });
      expect(logs.queries[0]!.timespan).toEqual({ startMs: WINDOW.fromMs, endMs: WINDOW.toMs });
      expect(logs.queries[0]!.query).toContain("let apiId = 'azure-openai-api';");
    } finally {
      await logs.close();
    }
  });

  it('serves a result again within shareForMs instead of querying again', async () => {
    const logs = await startFakeLogAnalytics((query) => answerAttempts(rows, query));
    let nowMs = 1_000;
    try {
      const source = createGatewayLogsAttemptSource({
        client: createLogsQueryClient({ credential: fakeCredential(), endpoint: logs.endpoint }),
        workspaceId: WORKSPACE,
        timeoutInMs: 10_000,
        shareForMs: 60_000,
        now: () => nowMs,
      });
      await Promise.all([source.readBackendAttempts(labPool(), WINDOW), source.readBackendAttempts(labPool(), WINDOW)]);
      expect(logs.queries).toHaveLength(1);
      nowMs += 60_000;
      await source.readBackendAttempts(labPool(), WINDOW);
      expect(logs.queries).toHaveLength(2);
    } finally {
      await logs.close();
    }
  });

  it('fails with the workspace and query named, never the token, when the service refuses', async () => {
    const credential = fakeCredential();
    const logs = await startFakeLogAnalytics(() => ({ status: 403, body: { error: { code: 'InsufficientAccessError', message: 'no access' } } }));
    try {
      const source = createGatewayLogsAttemptSource({ client: createLogsQueryClient({ credential, endpoint: logs.endpoint }), workspaceId: WORKSPACE, timeoutInMs: 10_000 });
      const failure = await source.readBackendAttempts(labPool(), WINDOW).then(
        () => null,
        (error: Error) => error,
      );
      expect(failure?.message).toMatch(new RegExp(`^Log query gatewayAttempts against workspace ${WORKSPACE} failed with HTTP 403`));
      expect(JSON.stringify(failure) + String(failure?.message) + String((failure?.cause as Error | undefined)?.message)).not.toContain(credential.token);
    } finally {
      await logs.close();
    }
  });

  it('refuses a result without the expected columns instead of reading it as zeros', async () => {
    const logs = await startFakeLogAnalytics(() => ({ status: 200, body: { tables: [logsTable([['targetHost', 'string'], ['attempts', 'long']], [[host1, '3']])] } }));
    try {
      const source = createGatewayLogsAttemptSource({ client: createLogsQueryClient({ credential: fakeCredential(), endpoint: logs.endpoint }), workspaceId: WORKSPACE, timeoutInMs: 10_000 });
      await expect(source.readBackendAttempts(labPool(), WINDOW)).rejects.toThrow('a result without backendId, throttled429, serverErrors');
    } finally {
      await logs.close();
    }
  });

  it('reads AzureDiagnostics when the gateway logs go there (GATEWAY_LOGS_TABLE=azure-diagnostics)', () => {
    const query = composeGatewayAttemptsQuery('azure-diagnostics', { backendHosts: [host1], backendIds: ['openai-instance1'], apiId: '' });
    expect(query).toContain("Category == 'GatewayLogs'");
    expect(query).toContain("column_ifexists('backendResponseCode_d', real(null))");
    expect(query).not.toMatch(/\bApiManagementGatewayLogs\b/);
  });
});
