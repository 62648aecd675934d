/** Appends a member name or array index to a JSON path: `$.pool`, `$.pool.backends[1]`, `$["odd key"]`. */
export function jsonPath(parent: string, key: string | number): string {
  if (typeof key === 'number') {
    return `${parent}[${key}]`;
  }
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
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
    text = JSON.stringify(value) ?? String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
