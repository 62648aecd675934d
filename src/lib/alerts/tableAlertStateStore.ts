import { randomUUID } from 'node:crypto';
import { TableClient, type TableEntityResult } from '@azure/data-tables';
import { ensureError } from '../util/errors';
import { AlertStoreError } from './AlertStoreError';
import type { AlertStateStore } from './stateStore';
import type { AlertLogEntry, AlertState } from './types';

/** Default table name (3–63 alphanumeric characters, Azure Table rules). */
export const ALERT_TABLE_NAME = 'poolverifieralerts';

const STATE_PARTITION = 'state';
/** Row keys of log entries sort newest first: (MAX − time) zero-padded. */
const MAX_TIME_MS = 9_999_999_999_999;

interface StateEntity {
  partitionKey: string;
  rowKey: string;
  state: string;
}

interface LogEntity {
  partitionKey: string;
  rowKey: string;
  entry: string;
}

/**
 * Alert state in Azure Table Storage (the Functions app's own `AzureWebJobsStorage` account). One entity per pool
 * holds the state as JSON; writes are ETag-conditional (`createEntity` when absent, `updateEntity(…, 'Replace',
 * { etag })` otherwise), so a 409/412 means another run won the race and the write resolves false. The log lives in
 * partition `log-<pool>`, row keys sorting newest first.
 */
export class TableAlertStateStore implements AlertStateStore {
  private tableReady: Promise<void> | undefined;
  private readonly client: TableClient;

  /**
   * From a storage connection string (`AzureWebJobsStorage`) and a table name, or from a ready `TableClient`.
   * With a connection string, `allowInsecureConnection` (plain http) is enabled only for the storage emulator:
   * `UseDevelopmentStorage=true`, account `devstoreaccount1`, or a loopback table endpoint. The connection string is
   * a secret: it never appears in an error message.
   * @throws AlertStoreError when the connection string cannot be parsed.
   */
  constructor(connection: string | TableClient, tableName: string = ALERT_TABLE_NAME) {
    if (typeof connection !== 'string') {
      this.client = connection;
      return;
    }
    try {
      this.client = TableClient.fromConnectionString(connection, tableName, { allowInsecureConnection: isEmulatorConnectionString(connection) });
    } catch (cause) {
      // The SDK's message may quote the string; keep only its class.
      throw new AlertStoreError('AzureWebJobsStorage is not a valid storage connection string', 'table', 'createTable', undefined, {
        cause: new Error(ensureError(cause).name),
      });
    }
  }

  /** Same as `new TableAlertStateStore(connectionString, tableName)`. */
  static fromConnectionString(connectionString: string, tableName: string = ALERT_TABLE_NAME): TableAlertStateStore {
    return new TableAlertStateStore(connectionString, tableName);
  }

  async read(pool: string): Promise<{ state: AlertState; etag: string } | null> {
    await this.ensureTable();
    let entity: TableEntityResult<StateEntity>;
    try {
      entity = await this.client.getEntity<StateEntity>(STATE_PARTITION, toKey(pool));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storeError('read', pool, error);
    }
    return { state: parseJson<AlertState>(entity.state, 'read', pool), etag: entity.etag };
  }

  async write(state: AlertState, etag: string | null): Promise<boolean> {
    await this.ensureTable();
    const entity: StateEntity = { partitionKey: STATE_PARTITION, rowKey: toKey(state.pool), state: JSON.stringify(state) };
    try {
      if (etag === null) {
        await this.client.createEntity(entity);
      } else {
        await this.client.updateEntity(entity, 'Replace', { etag });
      }
      return true;
    } catch (error) {
      const status = statusOf(error);
      // 409: created concurrently; 412: changed since read; 404: deleted since read.
      if (status === 409 || status === 412 || status === 404) return false;
      throw storeError('write', state.pool, error);
    }
  }

  async appendLog(entry: AlertLogEntry): Promise<void> {
    await this.ensureTable();
    const atMs = Date.parse(entry.at);
    const inverted = String(MAX_TIME_MS - (Number.isFinite(atMs) ? atMs : 0)).padStart(13, '0');
    const entity: LogEntity = { partitionKey: `log-${toKey(entry.pool)}`, rowKey: `${inverted}-${randomUUID()}`, entry: JSON.stringify(entry) };
    try {
      await this.client.createEntity(entity);
    } catch (error) {
      throw storeError('appendLog', entry.pool, error);
    }
  }

  async recent(pool: string, limit: number): Promise<AlertLogEntry[]> {
    const wanted = Math.max(0, Math.floor(limit));
    if (wanted === 0) return [];
    await this.ensureTable();
    const partition = `log-${toKey(pool)}`.replace(/'/g, "''");
    const entries: AlertLogEntry[] = [];
    try {
      const pages = this.client.listEntities<LogEntity>({ queryOptions: { filter: `PartitionKey eq '${partition}'`, select: ['entry'] } }).byPage({ maxPageSize: Math.min(wanted, 1000) });
      for await (const page of pages) {
        for (const e of page) {
          entries.push(parseJson<AlertLogEntry>(e.entry, 'recent', pool));
          if (entries.length >= wanted) return entries;
        }
      }
    } catch (error) {
      if (error instanceof AlertStoreError) throw error;
      throw storeError('recent', pool, error);
    }
    return entries;
  }

  private ensureTable(): Promise<void> {
    // createTable ignores "TableAlreadyExists"; a failure is retried by the next call rather than cached.
    this.tableReady ??= this.client.createTable().catch((error: unknown) => {
      this.tableReady = undefined;
      throw storeError('createTable', undefined, error);
    });
    return this.tableReady;
  }
}

/** True for the storage emulator (Azurite): the only case where plain http is allowed. */
export function isEmulatorConnectionString(connectionString: string): boolean {
  const parts = new Map(
    connectionString
      .split(';')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const i = p.indexOf('=');
        return [p.slice(0, i).toLowerCase(), p.slice(i + 1)] as const;
      }),
  );
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return true;
  if (parts.get('accountname') === 'devstoreaccount1') return true;
  const endpoint = parts.get('tableendpoint');
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return false;
  }
}

/** Pool names become row keys; `/ \ # ?` and control characters are not allowed there, so they are escaped. */
function toKey(pool: string): string {
  return encodeURIComponent(pool).replace(/%/g, '!');
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function storeError(operation: AlertStoreError['operation'], pool: string | undefined, cause: unknown): AlertStoreError {
  const status = statusOf(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  return new AlertStoreError(
    `Table storage ${operation}${pool !== undefined ? ` for pool "${pool}"` : ''} failed` +
      (status !== undefined ? ` with status ${status}` : '') +
      (typeof code === 'string' ? ` (${code})` : ''),
    'table',
    operation,
    status,
    { cause },
  );
}

function parseJson<T>(text: unknown, operation: 'read' | 'recent', pool: string): T {
  try {
    if (typeof text !== 'string') throw new TypeError('property is not a string');
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new AlertStoreError(`alert ${operation === 'read' ? 'state' : 'log'} of pool "${pool}" in Table storage is not valid JSON`, 'table', operation, undefined, { cause });
  }
}
