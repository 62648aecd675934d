import fs from 'node:fs';
import path from 'node:path';
import { parseJsonText } from '../pool/parseJsonText';
import type { QueueHostOptions } from './types';

/** The queue extension's defaults (QueuesOptions, Microsoft.Azure.WebJobs.Extensions.Storage.Queues 5.x). */
export const DEFAULT_QUEUE_HOST_OPTIONS: QueueHostOptions = Object.freeze({
  batchSize: 16,
  newBatchThreshold: 8,
  maxDequeueCount: 5,
  visibilityTimeoutInMs: 0,
  maxPollingIntervalInMs: 60_000,
  messageEncoding: 'base64',
});

/** QueuePollingIntervals.Minimum: the host never polls an empty queue more often than this. */
export const MIN_POLLING_INTERVAL_IN_MS = 100;

/** A bad `extensions.queues` value in host.json; `path` is its JSON path. */
export class QueueHostOptionsError extends Error {
  override readonly name = 'QueueHostOptionsError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`host.json ${path} ${message}`);
  }
}

/**
 * The queue trigger's options from a parsed host.json (`extensions.queues`), defaulted as the host defaults them:
 * `batchSize` 1–32, `newBatchThreshold` ≥ 0 (default `batchSize / 2`), `maxDequeueCount` ≥ 1,
 * `visibilityTimeout` and `maxPollingInterval` as `hh:mm:ss[.fff]` (or, for `maxPollingInterval`, milliseconds as
 * the 2.x schema allows; at least 100 ms), `messageEncoding` `base64` | `none`.
 * @throws QueueHostOptionsError naming the JSON path of the first bad value.
 */
export function queueHostOptionsFrom(hostJson: unknown): QueueHostOptions {
  const extensions = objectAt(hostJson, '$')?.['extensions'];
  const queues = objectAt(extensions, '$.extensions')?.['queues'];
  const raw = objectAt(queues, '$.extensions.queues');
  if (raw === undefined) return DEFAULT_QUEUE_HOST_OPTIONS;
  const at = (key: string): string => `$.extensions.queues.${key}`;
  const batchSize = integer(raw['batchSize'], at('batchSize'), 1, 32) ?? DEFAULT_QUEUE_HOST_OPTIONS.batchSize;
  const newBatchThreshold = integer(raw['newBatchThreshold'], at('newBatchThreshold'), 0, 10_000) ?? Math.floor(batchSize / 2);
  const maxDequeueCount = integer(raw['maxDequeueCount'], at('maxDequeueCount'), 1, 10_000) ?? DEFAULT_QUEUE_HOST_OPTIONS.maxDequeueCount;
  const visibilityTimeoutInMs = timeSpan(raw['visibilityTimeout'], at('visibilityTimeout'), false) ?? DEFAULT_QUEUE_HOST_OPTIONS.visibilityTimeoutInMs;
  const maxPollingIntervalInMs = timeSpan(raw['maxPollingInterval'], at('maxPollingInterval'), true) ?? DEFAULT_QUEUE_HOST_OPTIONS.maxPollingIntervalInMs;
  if (maxPollingIntervalInMs < MIN_POLLING_INTERVAL_IN_MS) throw new QueueHostOptionsError(at('maxPollingInterval'), `must be at least ${MIN_POLLING_INTERVAL_IN_MS} ms`);
  const encoding = raw['messageEncoding'];
  if (encoding !== undefined && (typeof encoding !== 'string' || !['base64', 'none'].includes(encoding.toLowerCase()))) {
    throw new QueueHostOptionsError(at('messageEncoding'), 'must be "base64" or "none"');
  }
  const messageEncoding = typeof encoding === 'string' && encoding.toLowerCase() === 'none' ? 'none' : 'base64';
  return Object.freeze({ batchSize, newBatchThreshold, maxDequeueCount, visibilityTimeoutInMs, maxPollingIntervalInMs, messageEncoding });
}

function objectAt(value: unknown, path: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new QueueHostOptionsError(path, 'must be an object');
  return value as Record<string, unknown>;
}

function integer(value: unknown, path: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new QueueHostOptionsError(path, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** `[d.]hh:mm:ss[.fffffff]` (a .NET TimeSpan), at most 7 days; a number counts milliseconds when allowed. */
function timeSpan(value: unknown, path: string, millisecondsAllowed: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && millisecondsAllowed && Number.isInteger(value) && value >= 0 && value <= 604_800_000) return value;
  const match = typeof value === 'string' ? /^(?:(\d{1,2})\.)?(\d{1,2}):([0-5]\d):([0-5]\d)(?:\.(\d{1,7}))?$/.exec(value) : null;
  if (!match) throw new QueueHostOptionsError(path, 'must be a time span "hh:mm:ss"');
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = ''] = match;
  if (Number(hours) > 23) throw new QueueHostOptionsError(path, 'has hours above 23');
  const ms = (((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000 + Math.floor(Number(`0.${fraction || '0'}`) * 1000);
  if (ms > 604_800_000) throw new QueueHostOptionsError(path, 'must be at most 7 days');
  return ms;
}

/**
 * host.json's `extensions.queues` of the app at `appRoot` (defaults when absent).
 * @throws Error naming the file and the JSON path of a bad value.
 */
export function readQueueHostOptions(appRoot: string): QueueHostOptions {
  const file = path.join(appRoot, 'host.json');
  const text = fs.readFileSync(file, 'utf8');
  const parsed = parseJsonText(text.startsWith('\uFEFF') ? text.slice(1) : text);
  if (!parsed.ok) throw new Error(`${file} is not valid JSON (line ${parsed.line}, column ${parsed.column})`);
  return queueHostOptionsFrom(parsed.value);
}
