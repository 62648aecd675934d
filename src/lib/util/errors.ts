/**
 * Normalises anything thrown into an Error (as azure-functions-nodejs-library `src/errors.ts` does), so
 * callers can rely on `.message` and `.name`.
 */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) {
    return value;
  }
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return new Error(text === undefined ? String(value) : text);
}
