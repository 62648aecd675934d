import * as http from 'node:http';
import * as https from 'node:https';
import { CONSUMED_TOKENS_HEADER, isGatewayTokenLimit, REMAINING_TOKENS_HEADER, retryAfterSecondsOf, tokenHeaderOf } from './gatewayThrottle';
import type { ProbeKind } from './types';

/** What one HTTP exchange produced, before the backend is identified and timing is attached. */
export interface ProbeOutcome {
  readonly kind: ProbeKind;
  /** HTTP status, or null for timeout/network. */
  readonly status: number | null;
  /** Raw identifying header value; null when absent or when no response head arrived. */
  readonly headerValue: string | null;
  readonly totalTokens: number | null;
  readonly errorCode: string | null;
  /** True when the caller's signal aborted the exchange: not a measurement. */
  readonly aborted: boolean;
  /**
   * The first bytes (at most {@link ERROR_BODY_KEPT_IN_BYTES}) of a non-2xx answer's body, e.g. APIM's
   * `{"statusCode":500,"message":"…"}`: what the gateway said. Raw and untrusted: sanitise before showing.
   */
  readonly errorBody?: string;
  /** `gateway-throttled` only: the gateway's `Retry-After` in seconds, null when absent. */
  readonly retryAfterSeconds?: number | null;
  /** The token-limit policy's `remaining-tokens` header on any answer, null when absent. */
  readonly remainingTokens?: number | null;
}

/** How much of a non-2xx body is kept for {@link ProbeOutcome.errorBody}. */
export const ERROR_BODY_KEPT_IN_BYTES = 2048;

/** Inputs of one probe. Built once per run by `runProbes` and shared by every probe. */
export interface SendProbeOptions {
  readonly url: URL;
  readonly agent: http.Agent;
  /** Request headers including the key; never logged or copied into the outcome. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly timeoutInMs: number;
  readonly maxBodyInBytes: number;
  /** Lower-case name of the identifying response header, e.g. `x-ms-region`. */
  readonly identifyHeader: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Sends one chat-completion probe and classifies the answer. Never throws and never retries: every way an
 * exchange can go wrong is an outcome (`timeout` — errorCode `connect-timeout` when no connection was ever
 * established, else `timeout` —, `network` with the socket error code, `http` with the status,
 * `gateway-throttled` for APIM's own token-limit 429 (see gatewayThrottle.ts), or `http` with `body-too-large` / `empty-body` / `invalid-json` / `invalid-body` for a 2xx that is not a chat
 * completion). Redirects are not followed; cookies are neither stored nor sent.
 */
export function sendProbe(options: SendProbeOptions): Promise<ProbeOutcome> {
  const { url, agent, headers, body, timeoutInMs, maxBodyInBytes, identifyHeader, signal } = options;
  return new Promise<ProbeOutcome>((resolve) => {
    if (signal?.aborted === true) {
      resolve({ kind: 'network', status: null, headerValue: null, totalTokens: null, errorCode: 'aborted', aborted: true });
      return;
    }
    let settled = false;
    let timedOut = false;
    // False until the socket is connected: a timeout before that means the gateway never accepted the connection.
    let connected = false;
    let aborted = false;
    let status: number | null = null;
    let headerValue: string | null = null;
    let remainingTokens: number | null = null;

    const finish = (outcome: Omit<ProbeOutcome, 'aborted' | 'headerValue'>): void => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ ...outcome, headerValue, aborted, ...(remainingTokens === null ? {} : { remainingTokens }) });
    };
    const finishFailure = (error: NodeJS.ErrnoException | undefined): void => {
      if (aborted) {
        finish({ kind: 'network', status: null, totalTokens: null, errorCode: 'aborted' });
      } else if (timedOut) {
        finish({ kind: 'timeout', status: null, totalTokens: null, errorCode: connected ? 'timeout' : 'connect-timeout' });
      } else {
        finish({ kind: 'network', status: null, totalTokens: null, errorCode: errorCodeOf(error) });
      }
    };

    const transport = url.protocol === 'https:' ? https : http;
    let request: http.ClientRequest;
    try {
      request = transport.request(url, { method: 'POST', agent, headers });
    } catch (error) {
      // Invalid header values and the like throw synchronously; they are still an outcome, not a crash.
      resolve({ kind: 'network', status: null, totalTokens: null, errorCode: errorCodeOf(error as NodeJS.ErrnoException), headerValue: null, aborted: false });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy();
    }, timeoutInMs);
    const onAbort = (): void => {
      aborted = true;
      request.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    request.on('socket', (socket) => {
      if (socket.connecting) {
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
          connected = true;
        });
      } else {
        connected = true;
      }
    });
    request.on('error', (error: NodeJS.ErrnoException) => finishFailure(error));
    // Safety net: whatever ends the request without an outcome (destroy without an error) still settles it.
    request.on('close', () => {
      if (status === null) {
        finishFailure(undefined);
      }
    });
    request.on('response', (response) => {
      status = response.statusCode ?? 0;
      headerValue = headerValueOf(response.headers[identifyHeader]);
      remainingTokens = tokenHeaderOf(response.headers, REMAINING_TOKENS_HEADER);
      const isSuccess = status >= 200 && status < 300;
      const httpStatus = status;
      const tooLarge = (): void => {
        response.destroy();
        finish({ kind: 'http', status: httpStatus, totalTokens: null, errorCode: isSuccess ? 'body-too-large' : String(httpStatus) });
      };
      const declaredLength = Number(response.headers['content-length']);
      if (Number.isFinite(declaredLength) && declaredLength > maxBodyInBytes) {
        tooLarge();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBodyInBytes) {
          tooLarge();
        } else if (isSuccess || size - chunk.length < ERROR_BODY_KEPT_IN_BYTES) {
          chunks.push(chunk);
        }
      });
      response.on('end', () => {
        if (!isSuccess) {
          const errorBody = Buffer.concat(chunks).subarray(0, ERROR_BODY_KEPT_IN_BYTES).toString('utf8');
          if (isGatewayTokenLimit(httpStatus, response.headers, identifyHeader, errorBody)) {
            const retryAfterSeconds = retryAfterSecondsOf(response.headers);
            finish({ kind: 'gateway-throttled', status: httpStatus, totalTokens: null, errorCode: 'gateway-token-limit', errorBody, retryAfterSeconds });
            return;
          }
          finish({ kind: 'http', status: httpStatus, totalTokens: null, errorCode: String(httpStatus), ...(errorBody ? { errorBody } : {}) });
          return;
        }
        const classified = classifySuccessBody(Buffer.concat(chunks, size));
        // No usage in the body: the token-limit policy's consumed-tokens header, when the API sets one, says the same.
        const totalTokens = classified.kind === 'ok' && classified.totalTokens === null ? tokenHeaderOf(response.headers, CONSUMED_TOKENS_HEADER) : classified.totalTokens;
        finish({ ...classified, totalTokens, status: httpStatus });
      });
      response.on('error', (error: NodeJS.ErrnoException) => finishFailure(error));
      response.on('close', () => {
        if (!response.complete) {
          finishFailure(undefined);
        }
      });
    });
    request.end(body);
  });
}

function headerValueOf(value: string | string[] | undefined): string | null {
  if (value === undefined) {
    return null;
  }
  return Array.isArray(value) ? value.join(', ') : value;
}

function errorCodeOf(error: NodeJS.ErrnoException | undefined): string {
  if (error === undefined) {
    return 'ECONNRESET';
  }
  if (typeof error.code === 'string' && error.code !== '') {
    return error.code;
  }
  // "socket hang up" and similar carry ECONNRESET in code; anything else is named by its class.
  return error.name === 'Error' ? 'network-error' : error.name;
}

/**
 * A 2xx counts as an answer only when its body is a chat completion (an object with a `choices` array, as the
 * Azure OpenAI 2024-02-01 spec requires); anything else is a failure of kind `http`, because a gateway or proxy
 * that answers 200 with an HTML page did not reach a backend.
 */
/** Largest `usage.total_tokens` believed from one answer (context windows are around a million tokens). */
export const MAX_TOKENS_PER_ANSWER = 10_000_000;

function classifySuccessBody(body: Buffer): Pick<ProbeOutcome, 'kind' | 'totalTokens' | 'errorCode'> {
  if (body.length === 0) {
    return { kind: 'http', totalTokens: null, errorCode: 'empty-body' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { kind: 'http', totalTokens: null, errorCode: 'invalid-json' };
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { choices?: unknown }).choices)) {
    return { kind: 'http', totalTokens: null, errorCode: 'invalid-body' };
  }
  const usage = (parsed as { usage?: unknown }).usage;
  const total = typeof usage === 'object' && usage !== null ? (usage as { total_tokens?: unknown }).total_tokens : undefined;
  // Out-of-range usage is unknown, not a number: 1e308 tokens from a broken gateway summed to "Infinity tokens
  // used" (issue 15). No single completion comes near MAX_TOKENS_PER_ANSWER, and sums stay exact integers.
  const totalTokens = typeof total === 'number' && Number.isSafeInteger(total) && total >= 0 && total <= MAX_TOKENS_PER_ANSWER ? total : null;
  return { kind: 'ok', totalTokens, errorCode: null };
}
