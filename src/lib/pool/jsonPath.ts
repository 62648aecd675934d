/** Appends a member name or array index to a JSON path: `$.pool`, `$.pool.backends[1]`, `$["odd key"]`. */
export function jsonPath(parent: string, key: string | number): string {
  if (typeof key === 'number') {
    return `${parent}[${key}]`;
  }
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${quoteSafely(key)}]`;
}

/**
 * `JSON.stringify` that also escapes what it leaves raw but a terminal would act on or hide: C1 controls, DEL,
 * format characters (zero-width, bidi overrides) and line separators. Lone surrogates and C0 controls are
 * already escaped by `JSON.stringify`.
 */
export function quoteSafely(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/** A short, safe rendering of a JSON value for an error message (at most ~60 characters). */
export function describeValue(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  let text: string;
  if (Array.isArray(value)) {
    text = `an array of ${value.length}`;
  } else if (value !== null && typeof value === 'object') {
    text = 'an object';
  } else {
    text = typeof value === 'string' ? quoteSafely(value) : (JSON.stringify(value) ?? String(value));
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
