import type { TokenCredential } from '@azure/core-auth';
import { TableClient, type TableEntityResult } from '@azure/data-tables';
import { isEmulatorConnectionString } from '../alerts/tableAlertStateStore';
import type { ConfigDriftReport, DeployOutcome } from '../deploy/types';
import type { ProbeRunInfo, ProbeRunSummary, RunState } from '../probe/types';
import { ensureError } from '../util/errors';
import type { SharedState, StartupRecord, StoredRunRecord } from './types';

/** The table holding all shared state (3–63 alphanumeric characters, Azure Table rules). */
export const STATE_TABLE_NAME = 'poolverifierstate';

/** A Storage Tables operation failed. Names the operation and status, never the account key or connection string. */
export class StateStoreError extends Error {
  override readonly name = 'StateStoreError';
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How to reach the storage account: a connection string, or a table endpoint and a credential (managed identity). */
export type TableStorage =
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  | { readonly kind: 'identity'; readonly tableServiceUri: string; readonly credential: TokenCredential };

/**
 * A `TableClient` for `tableName`. Plain http is allowed only towards the storage emulator (loopback or the
 * documented development account), as the SDK refuses it otherwise.
 * @throws StateStoreError when the connection string cannot be parsed (without quoting it).
 */
export function createTableClient(storage: TableStorage, tableName: string = STATE_TABLE_NAME): TableClient {
  if (storage.kind === 'identity') {
    return new TableClient(storage.tableServiceUri, tableName, storage.credential, { allowInsecureConnection: isLoopbackUrl(storage.tableServiceUri) });
  }
  try {
    return TableClient.fromConnectionString(storage.connectionString, tableName, { allowInsecureConnection: isEmulatorConnectionString(storage.connectionString) });
  } catch (cause) {
    throw new StateStoreError('connect', undefined, 'AzureWebJobsStorage is not a valid storage connection string', { cause: new Error(ensureError(cause).name) });
  }
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return false;
  }
}

/** Row keys of runs sort newest first: (MAX − startedAtMs) zero-padded. */
const MAX_TIME_MS = 9_999_999_999_999;
/** A string property holds at most 64 KiB (32K UTF-16 characters); JSON longer than this is split. */
const CHUNK_CHARS = 30_000;
/** An entity holds at most 1 MiB: documents above this many chunks are refused rather than half-written. */
const MAX_CHUNKS = 30;
/** Runs whose row key this process remembers (it finishes only its own runs). */
const MAX_REMEMBERED_RUNS = 100;
/** Runs marked abandoned per call at most (bounds the work after a long outage). */
const MAX_ABANDONED_PER_CALL = 100;

interface LeaseEntity {
  partitionKey: string;
  rowKey: string;
  owner: string;
  expiresAtMs: number;
}

interface RunEntity {
  partitionKey: string;
  rowKey: string;
  runId: string;
  pool: string;
  startedAtMs: number;
  trigger: string;
  state: RunState;
  lastActivityMs: number;
  probeCount: number;
  finishedAtMs?: number;
  probesSent?: number;
  tokensUsed?: number;
  verdict?: string;
  stoppedEarly?: boolean;
}

/**
 * Shared state in Azure Storage Tables, one table ({@link STATE_TABLE_NAME}):
 * - partition `lease`, one row per lease: `owner` and `expiresAtMs`; every change is ETag-conditional
 *   (`createEntity` when absent, `updateEntity(…, { etag })` otherwise), so of two instances racing for an
 *   expired lease exactly one wins (the other gets 409/412);
 * - partition `runs-<pool key>`: one row per run, row keys sorting newest first; the heartbeat updates
 *   `lastActivityMs` and `probeCount`;
 * - partition `pool-<pool key>`: rows `deploy`, `drift`, `startup` holding JSON (split into chunks when long).
 *
 * The probes themselves are not here: they go to Application Insights and are read back from Azure Monitor Logs.
 */
export function createTableSharedState(client: TableClient): SharedState & {
  /** Counts a probe of a run begun by this process (written with the next heartbeat, so a dead run's count is kept). */
  recordProbeCount(runId: string): void;
  touchRun(runId: string, nowMs: number): Promise<void>;
} {
  let tableReady: Promise<void> | undefined;
  const ensureTable = (): Promise<void> => {
    // createTable ignores "TableAlreadyExists"; a failure is retried by the next call rather than cached.
    tableReady ??= client.createTable().catch((error: unknown) => {
      tableReady = undefined;
      throw tableError('createTable', error);
    });
    return tableReady;
  };
  const runKeys = new Map<string, { partitionKey: string; rowKey: string; probes: number }>();

  const getLease = async (name: string): Promise<TableEntityResult<LeaseEntity> | null> => {
    try {
      return await client.getEntity<LeaseEntity>('lease', toKey(name));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw tableError('readLease', error);
    }
  };
  /** Runs a conditional write; false when another instance changed the row first (409/412/404). */
  const conditional = async (operation: string, write: () => Promise<unknown>): Promise<boolean> => {
    try {
      await write();
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412 || status === 404) return false;
      throw tableError(operation, error);
    }
  };

  const writeDocument = async (pool: string, row: string, value: unknown): Promise<void> => {
    await ensureTable();
    const json = JSON.stringify(value);
    const chunks = Math.ceil(json.length / CHUNK_CHARS);
    if (chunks > MAX_CHUNKS) throw new StateStoreError('write', undefined, `the ${row} record of pool "${pool}" is too large for Table storage (${json.length} characters)`);
    const entity: Record<string, unknown> = { partitionKey: `pool-${toKey(pool)}`, rowKey: row, chunks };
    for (let i = 0; i < chunks; i++) entity[`json${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
    try {
      await client.upsertEntity(entity as { partitionKey: string; rowKey: string }, 'Replace');
    } catch (error) {
      throw tableError(`write ${row}`, error);
    }
  };
  const readDocument = async <T>(pool: string, row: string): Promise<T | null> => {
    await ensureTable();
    let entity: Record<string, unknown>;
    try {
      entity = await client.getEntity<Record<string, unknown>>(`pool-${toKey(pool)}`, row);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw tableError(`read ${row}`, error);
    }
    const chunks = typeof entity.chunks === 'number' ? Math.min(entity.chunks, MAX_CHUNKS) : 0;
    let json = '';
    for (let i = 0; i < chunks; i++) json += String(entity[`json${i}`] ?? '');
    try {
      return JSON.parse(json) as T;
    } catch (cause) {
      throw new StateStoreError(`read ${row}`, undefined, `the ${row} record of pool "${pool}" in Table storage is not valid JSON`, { cause });
    }
  };

  return {
    async tryAcquireLock(name, owner, ttlInMs, nowMs) {
      await ensureTable();
      const current = await getLease(name);
      const entity: LeaseEntity = { partitionKey: 'lease', rowKey: toKey(name), owner, expiresAtMs: nowMs + ttlInMs };
      if (current === null) return conditional('acquireLease', () => client.createEntity(entity));
      if (current.expiresAtMs > nowMs) return false;
      return conditional('acquireLease', () => client.updateEntity(entity, 'Replace', { etag: current.etag }));
    },

    async renewLock(name, owner, ttlInMs, nowMs) {
      await ensureTable();
      const current = await getLease(name);
      if (current === null || current.owner !== owner) return false;
      const entity: LeaseEntity = { partitionKey: 'lease', rowKey: toKey(name), owner, expiresAtMs: nowMs + ttlInMs };
      return conditional('renewLease', () => client.updateEntity(entity, 'Replace', { etag: current.etag }));
    },

    async releaseLock(name, owner) {
      await ensureTable();
      const current = await getLease(name);
      if (current === null || current.owner !== owner) return;
      await conditional('releaseLease', () => client.deleteEntity('lease', toKey(name), { etag: current.etag }));
    },

    async markAbandonedRuns(nowMs, olderThanMs, pool) {
      await ensureTable();
      const cutoff = nowMs - olderThanMs;
      const partition = pool === undefined ? undefined : `runs-${toKey(pool)}`;
      const filter = `${partition === undefined ? "PartitionKey ge 'runs-' and PartitionKey lt 'runs.'" : `PartitionKey eq '${escape(partition)}'`} and state eq 'running'`;
      let marked = 0;
      try {
        for await (const run of client.listEntities<RunEntity>({ queryOptions: { filter } })) {
          if (marked >= MAX_ABANDONED_PER_CALL) break;
          // Compared here, not in the filter: numbers above 2^31 are stored as Edm.Double, which an Int64 filter misses.
          if (Number(run.lastActivityMs) > cutoff) continue;
          const update = {
            partitionKey: run.partitionKey,
            rowKey: run.rowKey,
            state: 'incomplete' as const,
            finishedAtMs: run.lastActivityMs,
            probesSent: run.probeCount,
            tokensUsed: 0,
          };
          if (await conditional('markAbandoned', () => client.updateEntity(update, 'Merge', { etag: run.etag }))) marked += 1;
        }
      } catch (error) {
        if (error instanceof StateStoreError) throw error;
        throw tableError('markAbandoned', error);
      }
      return marked;
    },

    recordProbeCount(runId) {
      const key = runKeys.get(runId);
      if (key) key.probes += 1;
    },

    async touchRun(runId, nowMs) {
      const key = runKeys.get(runId);
      if (!key) return;
      await ensureTable();
      try {
        await client.updateEntity({ partitionKey: key.partitionKey, rowKey: key.rowKey, lastActivityMs: nowMs, probeCount: key.probes }, 'Merge');
      } catch (error) {
        throw tableError('touchRun', error);
      }
    },

    async beginRun(run: ProbeRunInfo) {
      await ensureTable();
      const entity: RunEntity = {
        partitionKey: `runs-${toKey(run.pool)}`,
        rowKey: `${String(MAX_TIME_MS - run.startedAtMs).padStart(13, '0')}-${toKey(run.runId)}`,
        runId: run.runId,
        pool: run.pool,
        startedAtMs: run.startedAtMs,
        trigger: run.trigger,
        state: 'running',
        lastActivityMs: run.startedAtMs,
        probeCount: 0,
      };
      try {
        await client.createEntity(entity);
      } catch (error) {
        throw tableError('beginRun', error);
      }
      if (runKeys.size >= MAX_REMEMBERED_RUNS) runKeys.clear();
      runKeys.set(run.runId, { partitionKey: entity.partitionKey, rowKey: entity.rowKey, probes: 0 });
    },

    async finishRun(summary: ProbeRunSummary) {
      const key = runKeys.get(summary.runId);
      if (!key) throw new StateStoreError('finishRun', undefined, `run ${JSON.stringify(summary.runId)} was not begun by this process`);
      await ensureTable();
      const update = {
        partitionKey: key.partitionKey,
        rowKey: key.rowKey,
        state: summary.state,
        finishedAtMs: summary.finishedAtMs,
        lastActivityMs: summary.finishedAtMs,
        probeCount: summary.probesSent,
        probesSent: summary.probesSent,
        tokensUsed: summary.tokensUsed,
        verdict: summary.verdict,
        stoppedEarly: summary.stoppedEarly,
      };
      try {
        await client.updateEntity(update, 'Merge');
      } catch (error) {
        throw tableError('finishRun', error);
      }
      runKeys.delete(summary.runId);
    },

    async recentRuns(pool, limit) {
      const wanted = Math.max(0, Math.min(Math.floor(limit), 5_000));
      if (wanted === 0) return [];
      await ensureTable();
      const runs: StoredRunRecord[] = [];
      try {
        const pages = client.listEntities<RunEntity>({ queryOptions: { filter: `PartitionKey eq '${escape(`runs-${toKey(pool)}`)}'` } }).byPage({ maxPageSize: Math.min(wanted, 1000) });
        for await (const page of pages) {
          for (const run of page) {
            runs.push(toStoredRun(run));
            if (runs.length >= wanted) return runs;
          }
        }
      } catch (error) {
        throw tableError('recentRuns', error);
      }
      return runs;
    },

    saveDeployOutcome: (pool: string, outcome: DeployOutcome) => writeDocument(pool, 'deploy', outcome),
    lastDeployOutcome: (pool: string) => readDocument<DeployOutcome>(pool, 'deploy'),
    saveConfigDrift: (pool: string, report: ConfigDriftReport) => writeDocument(pool, 'drift', report),
    lastConfigDrift: (pool: string) => readDocument<ConfigDriftReport>(pool, 'drift'),
    saveStartupRecord: (pool: string, record: StartupRecord) => writeDocument(pool, 'startup', record),
    lastStartupRecord: (pool: string) => readDocument<StartupRecord>(pool, 'startup'),
  };
}

function toStoredRun(run: RunEntity): StoredRunRecord {
  return {
    runId: run.runId,
    pool: run.pool,
    startedAtMs: Number(run.startedAtMs),
    trigger: run.trigger,
    state: run.state,
    ...(run.finishedAtMs === undefined ? {} : { finishedAtMs: Number(run.finishedAtMs) }),
    ...(run.probesSent === undefined ? {} : { probesSent: Number(run.probesSent) }),
    ...(run.tokensUsed === undefined ? {} : { tokensUsed: Number(run.tokensUsed) }),
    ...(run.verdict === undefined ? {} : { verdict: run.verdict }),
    ...(run.stoppedEarly === undefined ? {} : { stoppedEarly: run.stoppedEarly }),
    ...(run.lastActivityMs === undefined ? {} : { lastActivityMs: Number(run.lastActivityMs) }),
  };
}

/** Keys become partition/row keys; `/ \ # ?` and control characters are not allowed there, so they are escaped. */
function toKey(value: string): string {
  return encodeURIComponent(value).replace(/%/g, '!');
}

/** OData string literal escaping. */
function escape(value: string): string {
  return value.replace(/'/g, "''");
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function tableError(operation: string, cause: unknown): StateStoreError {
  const status = statusOf(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  return new StateStoreError(
    operation,
    status,
    `Table storage ${operation} failed${status !== undefined ? ` with status ${status}` : ''}${typeof code === 'string' ? ` (${code})` : ''}`,
    { cause },
  );
}
