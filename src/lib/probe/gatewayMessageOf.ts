/** Longest gateway message shown: one sentence, never a page. */
export const MAX_GATEWAY_MESSAGE_LENGTH = 240;

/**
 * What an error answer said, as one printable line: APIM's own errors are `{"statusCode":…,"message":"…"}`, Azure
 * OpenAI's `{"error":{"code":"…","message":"…"}}`; anything else is taken as text. Control characters and line
 * breaks become spaces, `secret` (the subscription key) is cut out wherever it appears, and the result is at most
 * {@link MAX_GATEWAY_MESSAGE_LENGTH} characters. Null when the body says nothing. Pure.
 */
export function gatewayMessageOf(body: string | undefined, secret: string): string | null {
  if (body === undefined || body.trim() === '') return null;
  let text = body;
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: { message?: unknown; code?: unknown } | unknown };
    const error = typeof parsed.error === 'object' && parsed.error !== null ? (parsed.error as { message?: unknown; code?: unknown }) : undefined;
    const found = [parsed.message, error?.message, error?.code, parsed.error].find((v): v is string => typeof v === 'string' && v.trim() !== '');
    if (found !== undefined) text = found;
  } catch {
    // Not JSON: the text itself (an HTML error page is cut short below).
  }
  if (secret !== '') text = text.split(secret).join('[redacted]');
  text = text.replace(/<[^>]{0,200}>/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (text === '') return null;
  return text.length > MAX_GATEWAY_MESSAGE_LENGTH ? `${text.slice(0, MAX_GATEWAY_MESSAGE_LENGTH - 1)}…` : text;
}
