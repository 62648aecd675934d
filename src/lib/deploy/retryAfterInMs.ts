/**
 * Delay asked for by the server, in ms: `retry-after-ms` / `x-ms-retry-after-ms` (ms), else `Retry-After`
 * as seconds or an HTTP-date (RFC 9110 §10.2.3). Undefined when absent or unreadable.
 */
export function retryAfterInMs(headers: Record<string, unknown>, nowInMs: number): number | undefined {
  const lower: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value === 'string') {
      lower[key.toLowerCase()] = value.trim();
    }
  }
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = lower[name];
    if (value !== undefined && /^\d+(\.\d+)?$/.test(value)) {
      return Number(value);
    }
  }
  const retryAfter = lower['retry-after'];
  if (retryAfter === undefined || retryAfter === '') {
    return undefined;
  }
  if (/^\d+(\.\d+)?$/.test(retryAfter)) {
    return Number(retryAfter) * 1_000;
  }
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}
