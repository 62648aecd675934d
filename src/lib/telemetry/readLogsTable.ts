import type { LogsTable } from '@azure/monitor-query-logs';

/** One result row keyed by column name. */
export type LogsRow = Readonly<Record<string, unknown>>;

/**
 * Turns a Logs table into rows keyed by column name, so readers do not depend on column order.
 * A missing table gives no rows.
 */
export function readLogsTable(table: LogsTable | undefined): LogsRow[] {
  if (table === undefined) return [];
  const names = table.columnDescriptors.map((column, index) => column.name ?? `column${index}`);
  return table.rows.map((row) => Object.fromEntries(names.map((name, index) => [name, row[index]])));
}

/** A number from a cell that may hold a number, a numeric string (the service sends some as text) or null. */
export function cellNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

/** A count: a non-negative number, 0 when absent or unreadable. */
export function cellCount(value: unknown): number {
  const parsed = cellNumber(value);
  return parsed === null || parsed < 0 ? 0 : parsed;
}

/** Text from a cell; null/undefined become `''`. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : String(value);
}

/** Epoch ms from a datetime cell (the SDK gives a Date; a string or a number is accepted too), or null. */
export function cellEpochMs(value: unknown): number | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value !== '') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

/** A boolean from `true`, `"true"`, `"True"`, `1` or `"1"`. */
export function cellBoolean(value: unknown): boolean {
  return value === true || value === 1 || (typeof value === 'string' && /^(true|1)$/i.test(value.trim()));
}
