import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the emulator buffers (APIM buffers bodies for retries too). */
export const MAX_BODY_IN_BYTES = 1024 * 1024;

/** Thrown when a request body exceeds {@link MAX_BODY_IN_BYTES}. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limitInBytes: number) {
    super(`Request body larger than ${limitInBytes} bytes`);
  }
}

/** Reads a whole request body into a buffer. */
export function readBody(request: IncomingMessage, limitInBytes = MAX_BODY_IN_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      if (tooLarge) {
        return;
      }
      size += chunk.length;
      if (size > limitInBytes) {
        // Stop buffering but keep draining, so that the 413 can still be written.
        tooLarge = true;
        chunks.length = 0;
        reject(new BodyTooLargeError(limitInBytes));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Writes a JSON answer (unless the client is already gone). */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  if (response.writableEnded || response.destroyed) {
    return;
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** First value of a header, whatever Node made of it. */
export function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Parses JSON, returning `undefined` for anything unparsable (callers answer 400). */
export function tryParseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
