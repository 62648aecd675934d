import type { Database } from 'better-sqlite3';
import { AlertStoreError } from './AlertStoreError';
import type { AlertStateStore } from './stateStore';
import type { AlertLogEntry, AlertState } from './types';

/**
 * Alert state in the local SQLite store. Creates its own tables (`alert_state`, `alert_log`) if missing; the etag
 * is a version counter bumped by every write, and a write succeeds only when the version still matches.
 */
export class SqliteAlertStateStore implements AlertStateStore {
  constructor(private readonly db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS alert_state (pool TEXT PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_log (id INTEGER PRIMARY KEY AUTOINCREMENT, pool TEXT NOT NULL, at TEXT NOT NULL, entry TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS alert_log_pool_id ON alert_log (pool, id);
    `);
  }

  async read(pool: string): Promise<{ state: AlertState; etag: string } | null> {
    const row = this.db.prepare('SELECT state, version FROM alert_state WHERE pool = ?').get(pool) as { state: string; version: number } | undefined;
    if (!row) return null;
    return { state: parseJson<AlertState>(row.state, 'read', pool), etag: String(row.version) };
  }

  async write(state: AlertState, etag: string | null): Promise<boolean> {
    const json = JSON.stringify(state);
    if (etag === null) {
      const result = this.db.prepare('INSERT INTO alert_state (pool, state, version) VALUES (?, ?, 1) ON CONFLICT (pool) DO NOTHING').run(state.pool, json);
      return result.changes === 1;
    }
    const version = Number(etag);
    if (!Number.isInteger(version)) return false;
    const result = this.db.prepare('UPDATE alert_state SET state = ?, version = version + 1 WHERE pool = ? AND version = ?').run(json, state.pool, version);
    return result.changes === 1;
  }

  async appendLog(entry: AlertLogEntry): Promise<void> {
    this.db.prepare('INSERT INTO alert_log (pool, at, entry) VALUES (?, ?, ?)').run(entry.pool, entry.at, JSON.stringify(entry));
  }

  async recent(pool: string, limit: number): Promise<AlertLogEntry[]> {
    const rows = this.db.prepare('SELECT entry FROM alert_log WHERE pool = ? ORDER BY id DESC LIMIT ?').all(pool, Math.max(0, Math.floor(limit))) as { entry: string }[];
    return rows.map((r) => parseJson<AlertLogEntry>(r.entry, 'recent', pool));
  }
}

function parseJson<T>(text: string, operation: 'read' | 'recent', pool: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new AlertStoreError(`alert ${operation === 'read' ? 'state' : 'log'} of pool "${pool}" in SQLite is not valid JSON`, 'sqlite', operation, undefined, { cause });
  }
}
