/**
 * Normalises anything thrown into an Error (as azure-functions-nodejs-library `src/errors.ts` does), so
 * callers can rely on `.message` and `.name`. Errors from another realm (a `vm` context, a test runner's
 * sandbox) fail `instanceof Error` yet are errors: they are recognised by shape and returned as they are.
 */
export function ensureError(value: unknown): Error {
  if (value instanceof Error || isErrorLike(value)) {
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

function isErrorLike(value: unknown): value is Error {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string' &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}
