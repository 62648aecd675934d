import { QUERY_COLUMNS, queryNameOf, TARGET_HOST_REGEX } from '../../../src/lib/telemetry/queries';
import type { TelemetryEnvelope } from '../../fakes/fakeIngestion';
import type { FakeResponse } from '../../fakes/httpsFakeServer';
import { logsTable, type ReceivedLogsQuery } from '../../fakes/fakeLogAnalytics';

/**
 * Answers the verifier's probe queries the way Kusto would, by evaluating their semantics in plain code over the
 * envelopes a fake ingestion endpoint captured (the stand-in for the App Insights tables). Written from the
 * query text's meaning, independently of the reader's mapping code. Counts are sent as strings and datetimes
 * as ISO text, as the service may send them.
 */
export function answerFromEnvelopes(envelopes: readonly TelemetryEnvelope[], query: ReceivedLogsQuery): FakeResponse {
  const name = queryNameOf(query.query);
  // Both targets hold the Log Analytics tables (workspace schema); the classic names are not relied on.
  const usesWorkspaceTables = /\bApp(Dependencies|Events)\b/.test(query.query);
  if (name === null || !usesWorkspaceTables || query.timespan === null) {
    return { status: 400, body: { error: { code: 'BadArgumentError', message: `unexpected query ${name ?? '?'}` } } };
  }
  const poolName = letString(query.query, 'poolName');
  const apimService = letString(query.query, 'apimService');
  const roleName = letString(query.query, 'roleName');
  const excludedRuns = JSON.parse(/let excludedRuns = dynamic\((\[.*\])\);/.exec(query.query)?.[1] ?? 'null') as string[] | null;
  if (excludedRuns === null) throw new Error('query has no excludedRuns');
  const binInMs = Number(/let binSize = (\d+)ms;/.exec(query.query)?.[1]);
  const windowStart = Date.parse(/let windowStart = datetime\(([^)]+)\);/.exec(query.query)?.[1] ?? '');
  const windowEnd = Date.parse(/let windowEnd = datetime\(([^)]+)\);/.exec(query.query)?.[1] ?? '');
  const { startMs, endMs } = query.timespan;
  const inTimespan = (e: TelemetryEnvelope): boolean => Date.parse(e.time) >= startMs && Date.parse(e.time) < endMs;
  const ours = (e: TelemetryEnvelope): boolean =>
    e.tags['ai.cloud.role'] === roleName &&
    e.data.baseData.properties?.pool === poolName &&
    e.data.baseData.properties?.apimService === apimService &&
    inTimespan(e);
  const isProbe = (e: TelemetryEnvelope): boolean => e.data.baseType === 'RemoteDependencyData' && e.data.baseData.name === 'PoolProbe' && ours(e);

  if (name === 'runStates') {
    const markers = envelopes.filter(
      (e) => e.data.baseType === 'RemoteDependencyData' && ['PoolRunStarted', 'PoolRunFinished'].includes(e.data.baseData.name ?? '') && ours(e),
    );
    const byRun = group(markers, (e) => [e.data.baseData.properties?.runId ?? '']);
    // Distinct probes per run that have arrived (any time in the timespan, not only in the window).
    const received = new Map<string, Set<string>>();
    for (const e of envelopes.filter(isProbe)) {
      const p = e.data.baseData.properties ?? {};
      const set = received.get(p.runId ?? '') ?? new Set<string>();
      set.add(p.probeIndex ?? '');
      received.set(p.runId ?? '', set);
    }
    const numbers = (list: TelemetryEnvelope[], field: string): number[] =>
      list
        .filter((e) => e.data.baseData.properties?.[field] !== undefined)
        .map((e) => Number(e.data.baseData.properties?.[field]))
        .filter((n) => Number.isFinite(n));
    const rows = [...byRun.values()]
      .map((list) => {
        const starts = numbers(list, 'startedAtMs');
        const sent = numbers(list, 'probesSent');
        const finishes = numbers(list, 'finishedAtMs');
        const runId = list[0]!.data.baseData.properties?.runId ?? '';
        return {
          runId,
          startedAtMs: starts.length === 0 ? null : Math.max(...starts),
          // Duplicated markers count once.
          started: list.some((e) => e.data.baseData.name === 'PoolRunStarted') ? 1 : 0,
          finished: list.some((e) => e.data.baseData.name === 'PoolRunFinished') ? 1 : 0,
          incomplete: list.some((e) => e.data.baseData.properties?.state === 'incomplete') ? 1 : 0,
          probesSent: sent.length === 0 ? null : Math.max(...sent),
          finishedAtMs: finishes.length === 0 ? null : Math.max(...finishes),
          received: received.get(runId)?.size ?? 0,
        };
      })
      .filter((r) => r.startedAtMs !== null && r.startedAtMs >= windowStart && r.startedAtMs < windowEnd)
      .map((r) => [
        r.runId,
        String(r.startedAtMs),
        String(r.started),
        String(r.finished),
        String(r.incomplete),
        r.probesSent === null ? null : String(r.probesSent),
        r.finishedAtMs === null ? null : String(r.finishedAtMs),
        String(r.received),
      ]);
    return ok(runStatesColumns(), rows);
  }

  const seen = new Set<string>();
  const probes = envelopes
    .filter(isProbe)
    .filter((e) => !excludedRuns.includes(e.data.baseData.properties?.runId ?? ''))
    // One row per (runId, probeIndex): a record ingested twice counts once.
    .filter((e) => {
      const key = `${e.data.baseData.properties?.runId ?? ''}\u0000${e.data.baseData.properties?.probeIndex ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((e) => {
      const p = e.data.baseData.properties ?? {};
      return {
        timestamp: p.startedAtMs !== undefined ? Number(p.startedAtMs) : Date.parse(e.time),
        runId: p.runId ?? '',
        backend: p.backend ?? '',
        probeKind: p.kind ?? '',
        status: p.status ?? '',
        errorCode: p.errorCode ?? '',
        identifierValue: p.identifierValue ?? '',
        latencyInMs: Number(p.latencyInMs),
        totalTokens: p.totalTokens === undefined ? null : Number(p.totalTokens),
        // App Insights stores itemCount = 100 / sampleRate.
        itemCount: Math.round(100 / (e.sampleRate ?? 100)),
      };
    })
    .filter((p) => p.timestamp >= windowStart && p.timestamp < windowEnd);

  switch (name) {
    case 'probeSummary': {
      const keyed = probes.map((p) => ({
        ...p,
        errorKey: p.probeKind !== 'http' ? '' : p.status !== '' ? p.status : p.errorCode !== '' ? p.errorCode : 'unknown',
        answerValue: p.probeKind === 'ok' ? p.identifierValue : '',
      }));
      const groups = group(keyed, (p) => [p.backend, p.probeKind, p.errorKey, p.answerValue]);
      return ok(
        [
          ['backend', 'string'],
          ['probeKind', 'string'],
          ['errorKey', 'string'],
          ['answerValue', 'string'],
          ['probes', 'long'],
          ['tokens', 'long'],
          ['represented', 'long'],
        ],
        [...groups.values()].map((list) => [
          list[0]!.backend,
          list[0]!.probeKind,
          list[0]!.errorKey,
          list[0]!.answerValue,
          String(list.length),
          String(list.reduce((sum, p) => sum + (p.totalTokens ?? 0), 0)),
          String(list.reduce((sum, p) => sum + p.itemCount, 0)),
        ]),
      );
    }
    case 'probeLatency': {
      const groups = group(
        probes.filter((p) => p.backend !== ''),
        (p) => [p.backend],
      );
      return ok(
        [
          ['backend', 'string'],
          ['p50', 'real'],
          ['p95', 'real'],
        ],
        [...groups.values()].map((list) => {
          const sorted = list.map((p) => p.latencyInMs).sort((a, b) => a - b);
          return [list[0]!.backend, nearestRank(sorted, 0.5), nearestRank(sorted, 0.95)];
        }),
      );
    }
    case 'probeBins': {
      const binned = probes.map((p) => ({ ...p, startTime: windowStart + Math.floor((p.timestamp - windowStart) / binInMs) * binInMs }));
      const groups = group(binned, (p) => [String(p.startTime), p.backend, p.probeKind]);
      return ok(
        [
          ['startTime', 'datetime'],
          ['backend', 'string'],
          ['probeKind', 'string'],
          ['probes', 'long'],
        ],
        [...groups.values()].map((list) => [new Date(list[0]!.startTime).toISOString(), list[0]!.backend, list[0]!.probeKind, String(list.length)]),
      );
    }
    case 'probeRuns': {
      const groups = group(probes, (p) => [p.runId, p.backend, p.probeKind]);
      return ok(
        [
          ['runId', 'string'],
          ['backend', 'string'],
          ['probeKind', 'string'],
          ['probes', 'long'],
          ['firstProbeAt', 'datetime'],
        ],
        [...groups.values()].map((list) => [
          list[0]!.runId,
          list[0]!.backend,
          list[0]!.probeKind,
          String(list.length),
          new Date(Math.min(...list.map((p) => p.timestamp))).toISOString(),
        ]),
      );
    }
    default:
      return { status: 400, body: { error: { code: 'BadArgumentError', message: `no evaluator for ${name}` } } };
  }
}

/** The run-states columns as the service types them: the id is text, every other column a long. */
export function runStatesColumns(): [string, 'string' | 'long'][] {
  return QUERY_COLUMNS.runStates.map((column) => [column, column === 'runId' ? 'string' : 'long']);
}

function ok(columns: Parameters<typeof logsTable>[0], rows: unknown[][]): FakeResponse {
  return { status: 200, body: { tables: [logsTable(columns, rows)] } };
}

function group<T>(items: readonly T[], key: (item: T) => string[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = JSON.stringify(key(item));
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

function nearestRank(sorted: readonly number[], quantile: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1))] ?? null;
}

/** Reads `let <name> = '<literal>';` from the prelude and decodes the KQL string escapes. */
function letString(query: string, name: string): string {
  const match = new RegExp(`let ${name} = '((?:[^'\\\\]|\\\\.)*)';`).exec(query);
  if (match === null) throw new Error(`query has no ${name}`);
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t' };
  return match[1]!.replace(/\\(.)/g, (_, c: string) => escapes[c] ?? c);
}

/** One backend call as APIM logs it to App Insights (the fields the all-traffic queries read). */
export interface ApimDependencyRow {
  readonly timestampMs: number;
  readonly target: string;
  readonly resultCode: string;
  readonly durationMs: number;
  readonly customDimensions: Readonly<Record<string, string>>;
}

/** Answers the all-traffic queries over APIM dependency rows, by the queries' meaning. */
export function answerTrafficFromRows(apimRows: readonly ApimDependencyRow[], query: ReceivedLogsQuery): FakeResponse {
  const name = queryNameOf(query.query);
  if (name === null || query.timespan === null || !name.startsWith('traffic')) {
    return { status: 400, body: { error: { code: 'BadArgumentError', message: `unexpected query ${name ?? '?'}` } } };
  }
  const hostsText = /let backendHosts = pack_array\((.*)\);/.exec(query.query)?.[1] ?? '';
  const hosts = [...hostsText.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!);
  const headerKey = letString(query.query, 'headerKey');
  const binInMs = Number(/let binSize = (\d+)ms;/.exec(query.query)?.[1]);
  const windowStart = Date.parse(/let windowStart = datetime\(([^)]+)\);/.exec(query.query)?.[1] ?? '');
  const hostPattern = new RegExp(TARGET_HOST_REGEX);
  const { startMs, endMs } = query.timespan;
  const traffic = apimRows
    .filter((r) => r.timestampMs >= startMs && r.timestampMs < endMs)
    .map((r) => ({
      timestamp: r.timestampMs,
      targetHost: (hostPattern.exec(r.target)?.[1] ?? '').toLowerCase(),
      identifierValue: r.customDimensions[headerKey] ?? '',
      resultCode: r.resultCode,
      latencyInMs: r.durationMs,
    }))
    .filter((r) => hosts.includes(r.targetHost));

  switch (name) {
    case 'trafficSummary': {
      const groups = group(traffic, (r) => [r.targetHost, r.identifierValue, r.resultCode]);
      return ok(
        [
          ['targetHost', 'string'],
          ['identifierValue', 'string'],
          ['resultCode', 'string'],
          ['requests', 'long'],
          ['rows', 'long'],
        ],
        [...groups.values()].map((list) => [list[0]!.targetHost, list[0]!.identifierValue, list[0]!.resultCode, String(list.length), String(list.length)]),
      );
    }
    case 'trafficLatency': {
      const groups = group(traffic, (r) => [r.targetHost, r.identifierValue]);
      return ok(
        [
          ['targetHost', 'string'],
          ['identifierValue', 'string'],
          ['p50', 'real'],
          ['p95', 'real'],
          ['requests', 'long'],
        ],
        [...groups.values()].map((list) => {
          const sorted = list.map((r) => r.latencyInMs).sort((a, b) => a - b);
          return [list[0]!.targetHost, list[0]!.identifierValue, nearestRank(sorted, 0.5), nearestRank(sorted, 0.95), String(list.length)];
        }),
      );
    }
    case 'trafficBins': {
      const binned = traffic.map((r) => ({
        ...r,
        startTime: windowStart + Math.floor((r.timestamp - windowStart) / binInMs) * binInMs,
        isOk: /^2\d\d$/.test(r.resultCode),
      }));
      const groups = group(binned, (r) => [String(r.startTime), r.targetHost, r.identifierValue, String(r.isOk)]);
      return ok(
        [
          ['startTime', 'datetime'],
          ['targetHost', 'string'],
          ['identifierValue', 'string'],
          ['isOk', 'bool'],
          ['requests', 'long'],
        ],
        [...groups.values()].map((list) => [
          new Date(list[0]!.startTime).toISOString(),
          list[0]!.targetHost,
          list[0]!.identifierValue,
          list[0]!.isOk,
          String(list.length),
        ]),
      );
    }
    default:
      return { status: 400, body: { error: { code: 'BadArgumentError', message: `no evaluator for ${name}` } } };
  }
}

/** One row of `ApiManagementGatewayLogs` (the columns the gateway-logs queries read). */
export interface GatewayLogRow {
  readonly timestampMs: number;
  readonly apiId: string;
  readonly backendId: string;
  readonly backendUrl: string;
  /** null when no backend answered (e.g. the pool had no available member). */
  readonly backendResponseCode: number | null;
  readonly backendTimeMs: number;
}

/**
 * Answers the all-traffic queries over gateway-log rows, by the queries' meaning: rows of the API (`ApiId`),
 * host of `BackendUrl`, `BackendId` as the identifier value, the backend's status as result code, one request
 * per row. Refuses a query that does not read `ApiManagementGatewayLogs`.
 */
export function answerGatewayLogsFromRows(gatewayRows: readonly GatewayLogRow[], query: ReceivedLogsQuery): FakeResponse {
  if (!/\bApiManagementGatewayLogs\b/.test(query.query)) {
    return { status: 400, body: { error: { code: 'BadArgumentError', message: 'expected ApiManagementGatewayLogs' } } };
  }
  const apiId = letString(query.query, 'apiId');
  const hostPattern = new RegExp(TARGET_HOST_REGEX);
  const asDependencies: ApimDependencyRow[] = gatewayRows
    .filter((r) => apiId === '' || r.apiId === apiId)
    .map((r) => ({
      timestampMs: r.timestampMs,
      target: r.backendUrl,
      resultCode: r.backendResponseCode === null || r.backendResponseCode === 0 ? '' : String(r.backendResponseCode),
      durationMs: r.backendTimeMs,
      customDimensions: { BackendId: r.backendId },
    }));
  // The same grouping as App Insights rows, with BackendId as the identifier and no host filter under an ApiId.
  const hosts = apiId === '' ? null : new Set(asDependencies.map((r) => (hostPattern.exec(r.target)?.[1] ?? '').toLowerCase()));
  const rewritten = {
    ...query,
    query: query.query
      .replace(/let headerKey = '[^']*';/, "let headerKey = 'BackendId';")
      .replace(/let backendHosts = pack_array\((.*)\);/, (whole, list: string) =>
        hosts === null ? whole : `let backendHosts = pack_array(${[...hosts].map((h) => `'${h}'`).join(', ') || list});`,
      ),
  };
  return answerTrafficFromRows(asDependencies, rewritten);
}
