import Ajv, { type ValidateFunction } from 'ajv';
import type { PoolRunMessage, RunFailure } from './types';

/**
 * The wire form of {@link PoolRunMessage}: JSON, Base64-encoded (the queue trigger's default `messageEncoding`,
 * host.json `extensions.queues`; a body that is not Base64 is moved to the poison queue by the host without a
 * retry, Azure/azure-sdk-for-net#18326).
 */

/** The Storage queue service refuses a message larger than 64 KiB (the encoded text counts). */
export const MAX_QUEUE_MESSAGE_BYTES = 64 * 1024;

/** A message text longer than this is refused before decoding (bounded work on any input). */
const MAX_TEXT_CHARS = MAX_QUEUE_MESSAGE_BYTES;

const MESSAGE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['pool', 'service', 'tick'],
  properties: {
    // The pool definition schema's backendName.
    pool: { type: 'string', minLength: 1, maxLength: 80, pattern: '^[^<>*%&:\\\\?/+#\\s]+$' },
    // An APIM service name, a gateway host name or 'default' (serviceOf); no control characters.
    service: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[^\\u0000-\\u001f\\u007f]+$' },
    tick: { type: 'string', minLength: 20, maxLength: 30, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$' },
  },
} as const;

let validator: ValidateFunction | undefined;

function validate(value: unknown): ValidateFunction['errors'] {
  validator ??= new Ajv({ allErrors: true, strict: true, unicodeRegExp: true }).compile(MESSAGE_SCHEMA);
  return validator(value) ? null : (validator.errors ?? []);
}

/** Either the message or why the value is not one (names the JSON path; never echoes the value). */
export type ParsedPoolRunMessage = { readonly ok: true; readonly message: PoolRunMessage } | { readonly ok: false; readonly reason: string };

/**
 * Checks a decoded queue message: what the Node.js worker passes a queue-triggered handler (an object when the
 * body is JSON, else the string) or a JSON text. Strict: exactly `pool`, `service`, `tick` (an ISO UTC instant that
 * exists). Never throws.
 */
export function parsePoolRunMessage(value: unknown): ParsedPoolRunMessage {
  let candidate = value;
  if (typeof value === 'string') {
    if (value.length > MAX_TEXT_CHARS) return { ok: false, reason: `the message is longer than ${MAX_TEXT_CHARS} characters` };
    try {
      candidate = JSON.parse(value) as unknown;
    } catch {
      return { ok: false, reason: 'the message is not JSON' };
    }
  }
  const errors = validate(candidate);
  if (errors) {
    const first = errors[0];
    const path = first ? `$${first.instancePath.replace(/\//g, '.')}` : '$';
    const extra = first?.keyword === 'additionalProperties' ? ` (${String((first.params as { additionalProperty?: unknown }).additionalProperty).slice(0, 40)})` : '';
    return { ok: false, reason: `${path} ${first?.message ?? 'is invalid'}${extra}` };
  }
  const message = candidate as PoolRunMessage;
  const tickMs = Date.parse(message.tick);
  // Date.parse accepts 2026-02-30 as 2 March; the round trip rejects dates that do not exist.
  if (!Number.isFinite(tickMs) || new Date(tickMs).toISOString().slice(0, 19) !== message.tick.slice(0, 19)) {
    return { ok: false, reason: '$.tick is not an existing instant' };
  }
  return { ok: true, message: { pool: message.pool, service: message.service, tick: message.tick } };
}

/**
 * The queue text of a message: its JSON, Base64-encoded (UTF-8).
 * @throws Error when the message is invalid (naming the field) or the text exceeds 64 KiB.
 */
export function encodePoolRunMessage(message: PoolRunMessage): string {
  const checked = parsePoolRunMessage({ pool: message.pool, service: message.service, tick: message.tick });
  if (!checked.ok) throw new Error(`Cannot enqueue the pool run: ${checked.reason}`);
  const text = Buffer.from(JSON.stringify(checked.message), 'utf8').toString('base64');
  if (text.length > MAX_QUEUE_MESSAGE_BYTES) throw new Error(`Cannot enqueue the pool run: the message is ${text.length} bytes, over the 64 KiB queue limit`);
  return text;
}

/** Canonical Base64 (RFC 4648 §4, padded), the form .NET's Convert.FromBase64String and the host accept. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes a queue body as the queue trigger does for `messageEncoding`: Base64 → UTF-8 text (`none`: as is).
 * Undefined when the text is not Base64 or not UTF-8 (then the host poisons the message at once). Never throws.
 */
export function tryDecodeQueueText(text: string, encoding: 'base64' | 'none'): string | undefined {
  if (text.length > MAX_TEXT_CHARS) return undefined;
  if (encoding === 'none') return text;
  if (!BASE64.test(text)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'base64'));
  } catch {
    return undefined;
  }
}

/** The value the Node.js worker hands a queue-triggered handler: the JSON value when the text parses, else the text. */
export function toTriggerValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A stored (encoded) body back to a message, or undefined when it is not one. */
export function tryDecodePoolRunMessage(text: string, encoding: 'base64' | 'none' = 'base64'): PoolRunMessage | undefined {
  const decoded = tryDecodeQueueText(text, encoding);
  if (decoded === undefined) return undefined;
  const parsed = parsePoolRunMessage(decoded);
  return parsed.ok ? parsed.message : undefined;
}

/** The longest failure reason kept with a poisoned run. */
export const MAX_FAILURE_REASON_CHARS = 500;

/**
 * The body of a poisoned run written by the queue trigger: the message's fields plus `failure` (reason cut to
 * {@link MAX_FAILURE_REASON_CHARS}), Base64 JSON like every message of the queue.
 * @throws Error when the message is invalid.
 */
export function encodePoisonedRun(message: PoolRunMessage, failure: RunFailure): string {
  const checked = parsePoolRunMessage({ pool: message.pool, service: message.service, tick: message.tick });
  if (!checked.ok) throw new Error(`Cannot poison the pool run: ${checked.reason}`);
  const reason = failure.reason.length > MAX_FAILURE_REASON_CHARS ? `${failure.reason.slice(0, MAX_FAILURE_REASON_CHARS - 1)}…` : failure.reason;
  const body = { ...checked.message, failure: { reason, attempts: Math.max(0, Math.floor(failure.attempts)), at: failure.at } };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64');
}

/**
 * A poison-queue body back to the run and its failure: a bare message (moved by the host) or one written by
 * {@link encodePoisonedRun}. Undefined when it is neither. Never throws.
 */
export function tryDecodePoisonedRun(text: string): { readonly message: PoolRunMessage; readonly failure: RunFailure | null } | undefined {
  const decoded = tryDecodeQueueText(text, 'base64');
  if (decoded === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(decoded) as unknown;
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { failure, ...fields } = value as Record<string, unknown>;
  const parsed = parsePoolRunMessage(fields);
  if (!parsed.ok) return undefined;
  return { message: parsed.message, failure: runFailureOf(failure) };
}

function runFailureOf(value: unknown): RunFailure | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const { reason, attempts, at } = value as Record<string, unknown>;
  if (typeof reason !== 'string' || typeof attempts !== 'number' || !Number.isInteger(attempts) || typeof at !== 'string' || !Number.isFinite(Date.parse(at))) return null;
  return { reason: reason.slice(0, MAX_FAILURE_REASON_CHARS), attempts, at: at.slice(0, 40) };
}
