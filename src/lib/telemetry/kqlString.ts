/**
 * The only way a value reaches KQL text. The Logs query API has no bound parameters, so the few values the
 * app itself produces (pool name, cloud role name, header name, backend hosts, bin size, bin origin) are
 * embedded as literals of a `let` prelude — always through these helpers, never by concatenation elsewhere.
 */

/** Thrown when a value cannot be embedded safely; names the parameter, echoes no value. */
export class KqlValueError extends Error {
  override readonly name = 'KqlValueError';
  constructor(
    readonly parameter: string,
    readonly reason: string,
  ) {
    super(`Cannot embed ${parameter} in a KQL query: ${reason}`);
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' };
// Other control characters (and the JavaScript line separators) have no documented KQL escape: refuse them.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u2028\u2029]/;

/**
 * Returns `value` as a single-quoted KQL string literal, escaping backslash, quote, CR, LF and tab
 * (the escapes documented for Kusto string literals).
 * @param parameter what the value is (used in the error message only).
 * @throws KqlValueError for control characters other than CR/LF/tab, or strings longer than 1,024 characters.
 */
export function kqlString(value: string, parameter = 'value'): string {
  if (typeof value !== 'string') {
    throw new KqlValueError(parameter, 'not a string');
  }
  if (value.length > 1024) {
    throw new KqlValueError(parameter, 'longer than 1024 characters');
  }
  if (FORBIDDEN.test(value)) {
    throw new KqlValueError(parameter, 'contains a control character');
  }
  return `'${value.replace(/[\\'\n\r\t]/g, (c) => ESCAPES[c] ?? c)}'`;
}

/**
 * Returns a KQL timespan literal of whole milliseconds, e.g. `300000ms`.
 * @throws KqlValueError unless `ms` is a positive safe integer.
 */
export function kqlTimespanMs(ms: number, parameter = 'timespan'): string {
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new KqlValueError(parameter, 'not a positive whole number of milliseconds');
  }
  return `${ms}ms`;
}

/**
 * Returns a KQL datetime literal (UTC, millisecond precision) for epoch milliseconds.
 * @throws KqlValueError unless `ms` is a safe integer between years 1970 and 9999.
 */
export function kqlDatetime(ms: number, parameter = 'datetime'): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 253402300799999) {
    throw new KqlValueError(parameter, 'not a whole epoch millisecond between 1970 and 9999');
  }
  return `datetime(${new Date(ms).toISOString()})`;
}
