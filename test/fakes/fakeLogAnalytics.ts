import { startHttpsFakeServer, type FakeResponse, type HttpsFakeServer } from './httpsFakeServer';

/** One query the fake received, decoded. */
export interface ReceivedLogsQuery {
  /** `workspace` for `/v1/workspaces/{id}/query`, `resource` for `/v1{resourceId}/query` (a double slash is refused with 403). */
  readonly target: { readonly kind: 'workspace'; readonly workspaceId: string } | { readonly kind: 'resource'; readonly resourceId: string };
  readonly path: string;
  readonly query: string;
  /** The ISO 8601 interval sent as `timespan`, split; null when absent. */
  readonly timespan: { readonly startMs: number; readonly endMs: number } | null;
  readonly prefer: string | undefined;
  readonly authorization: string | undefined;
}

export type LogsHandler = (query: ReceivedLogsQuery) => FakeResponse | Promise<FakeResponse>;

export interface FakeLogAnalytics {
  readonly server: HttpsFakeServer;
  /** Endpoint to give `LogsQueryClient` (`https://127.0.0.1:PORT/v1`). */
  readonly endpoint: string;
  readonly queries: ReceivedLogsQuery[];
  setHandler(handler: LogsHandler): void;
  close(): Promise<void>;
}

/** Column type names of the Log Analytics API. */
export type LogsColumnType = 'bool' | 'datetime' | 'dynamic' | 'int' | 'long' | 'real' | 'string' | 'timespan' | 'guid' | 'decimal';

/** Builds a result table as the service sends it. */
export function logsTable(
  columns: readonly (readonly [string, LogsColumnType])[],
  rows: readonly (readonly unknown[])[],
  name = 'PrimaryResult',
): { name: string; columns: { name: string; type: LogsColumnType }[]; rows: unknown[][] } {
  return { name, columns: columns.map(([columnName, type]) => ({ name: columnName, type })), rows: rows.map((row) => [...row]) };
}

/**
 * A fake Log Analytics query API on loopback https (`POST /v1/workspaces/{id}/query`, `POST /v1/{resourceId}/query`).
 * The handler answers each decoded query; a request it cannot decode gets 400 with the documented error shape.
 */
export async function startFakeLogAnalytics(handler: LogsHandler): Promise<FakeLogAnalytics> {
  let current = handler;
  const queries: ReceivedLogsQuery[] = [];
  const server = await startHttpsFakeServer(async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (request.method !== 'POST' || !path.startsWith('/v1/') || !path.endsWith('/query')) {
      return { status: 404, body: { error: { code: 'PathNotFound', message: `no route for ${request.method} ${path}` } } };
    }
    if (path.includes('//')) {
      // The service answers `/v1//subscriptions/…` (what LogsQueryClient.queryResource sends for an id with a
      // leading slash) with this misleading 403, not a 404: the fake does the same, so the bug cannot hide.
      return {
        status: 403,
        body: { error: { code: 'InsufficientAccessError', message: 'The provided credentials have insufficient access to perform the requested operation' } },
      };
    }
    const inner = path.slice('/v1'.length, -'/query'.length);
    const workspace = /^\/workspaces\/([^/]+)$/.exec(inner);
    const target: ReceivedLogsQuery['target'] =
      workspace !== null
        ? { kind: 'workspace', workspaceId: decodeURIComponent(workspace[1]!) }
        : { kind: 'resource', resourceId: inner };
    let body: { query?: unknown; timespan?: unknown };
    try {
      body = JSON.parse(request.text) as { query?: unknown; timespan?: unknown };
    } catch {
      return { status: 400, body: { error: { code: 'BadArgumentError', message: 'body is not JSON' } } };
    }
    if (typeof body.query !== 'string') {
      return { status: 400, body: { error: { code: 'BadArgumentError', message: 'query is required' } } };
    }
    let timespan: ReceivedLogsQuery['timespan'] = null;
    if (typeof body.timespan === 'string') {
      const [start, end] = body.timespan.split('/');
      timespan = { startMs: Date.parse(start ?? ''), endMs: Date.parse(end ?? '') };
    }
    const received: ReceivedLogsQuery = {
      target,
      path,
      query: body.query,
      timespan,
      prefer: typeof request.headers.prefer === 'string' ? request.headers.prefer : undefined,
      authorization: typeof request.headers.authorization === 'string' ? request.headers.authorization : undefined,
    };
    queries.push(received);
    return current(received);
  });
  return {
    server,
    endpoint: `${server.origin}/v1`,
    queries,
    setHandler(next: LogsHandler): void {
      current = next;
    },
    close: () => server.close(),
  };
}
