import type { AlertLogEntry, AlertState } from './types';

/**
 * Where alert state and the notification log live: SQLite locally, Azure Table Storage in Azure. Writes are
 * conditional (optimistic concurrency), so two runs of the timer at once cannot both page.
 */
export interface AlertStateStore {
  /** The pool's state and its version tag, or null when the pool has none yet. */
  read(pool: string): Promise<{ state: AlertState; etag: string } | null>;
  /**
   * Writes `state` only if the stored version still carries `etag` (`null` = only if nothing is stored yet).
   * Resolves false when someone else changed it first (the caller re-reads and re-decides); throws on other errors.
   */
  write(state: AlertState, etag: string | null): Promise<boolean>;
  appendLog(entry: AlertLogEntry): Promise<void>;
  /** Newest first, at most `limit` entries. */
  recent(pool: string, limit: number): Promise<AlertLogEntry[]>;
}
