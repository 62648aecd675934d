import type { IncomingHttpHeaders } from 'node:http';

/**
 * APIM's token-limit policies (`azure-openai-token-limit`, `llm-token-limit`) answer a caller over its
 * tokens-per-minute themselves, before any backend is chosen:
 * - status 429 (a quota over a longer period answers 403 instead, which this module leaves alone), learn.microsoft.com
 *   /azure/api-management/azure-openai-token-limit-policy ("When a specified token rate limit is exceeded, the caller
 *   receives a 429 Too Many Requests response status code");
 * - APIM's own error body `{"statusCode": 429, "message": "Token limit is exceeded. Try again in 5 seconds."}`;
 * - `Retry-After` in seconds (the policy's `retry-after-header-name` can rename it; the default is read here);
 * - the counters named by the policy's `remaining-tokens-header-name` / `tokens-consumed-header-name` attributes
 *   (no default names; the lab and the embedded emulator use `remaining-tokens` and `consumed-tokens`, read here);
 * - no `x-ms-region`: no Azure OpenAI backend answered.
 *
 * A backend's own 429 (Azure OpenAI over its deployment's quota) differs on every point that matters: it carries
 * `x-ms-region` (Azure OpenAI sets it on every answer), its body is `{"error":{"code":"429","message":"Requests to
 * the ... have exceeded ..."}}`, and it reaches the probe only after the API policy's retries. So a 429 is the
 * gateway's token limit only when it has APIM's error shape with the token-limit message AND carries neither
 * `x-ms-region` nor the pool's identifying header; anything else stays what it was (an HTTP 429 failure).
 */
export const TOKEN_LIMIT_MESSAGE = /^token limit is exceeded\b/i;

/** Header the token-limit policy's `remaining-tokens-header-name` is set to in the lab and the emulator. */
export const REMAINING_TOKENS_HEADER = 'remaining-tokens';
/** Header the token-limit policy's `tokens-consumed-header-name` is set to in the lab and the emulator. */
export const CONSUMED_TOKENS_HEADER = 'consumed-tokens';

/** Largest Retry-After believed (a day); anything longer or malformed is unknown (null). */
const MAX_RETRY_AFTER_IN_SECONDS = 86_400;
/** Largest token counter believed from a header (a context window is around a million tokens). */
const MAX_TOKEN_COUNTER = 1_000_000_000;

/** True when a non-2xx answer is the gateway's token limit refusing the probe (see the module comment). */
export function isGatewayTokenLimit(status: number, headers: IncomingHttpHeaders, identifyHeader: string, body: string): boolean {
  if (status !== 429 || headers['x-ms-region'] !== undefined || headers[identifyHeader] !== undefined) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null) return false;
  const { statusCode, message } = parsed as { statusCode?: unknown; message?: unknown };
  return statusCode === 429 && typeof message === 'string' && TOKEN_LIMIT_MESSAGE.test(message.trim());
}

/** `Retry-After` as whole seconds (delta-seconds form only, as APIM sends it); null when absent or not believable. */
export function retryAfterSecondsOf(headers: IncomingHttpHeaders): number | null {
  return counterOf(headers['retry-after'], MAX_RETRY_AFTER_IN_SECONDS);
}

/** A token counter header (`remaining-tokens`, `consumed-tokens`) as a whole number; null when absent or malformed. */
export function tokenHeaderOf(headers: IncomingHttpHeaders, name: string): number | null {
  return counterOf(headers[name], MAX_TOKEN_COUNTER);
}

function counterOf(value: string | string[] | undefined, max: number): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d{1,10}\s*$/.test(text)) return null;
  const number = Number(text);
  return number <= max ? number : null;
}
