import { CronExpressionParser } from 'cron-parser';

import { httpUrlProblem, redactUrl } from '../util/httpUrl';
import type { ConfigIssue } from './types';

/** Environment variables whose values are never echoed in messages. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'APIM_SUBSCRIPTION_KEY',
  'ALERT_WEBHOOK_URL',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'AzureWebJobsStorage',
]);

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const MAX_ECHO_LENGTH = 100;

/**
 * Reads settings from an environment map, each key at most once, and collects every problem instead of
 * throwing at the first. Values are trimmed; an empty or all-blank value counts as absent (Azure App
 * Settings are often present but empty). Secret values are never echoed.
 */
export class SettingsReader {
  readonly issues: ConfigIssue[] = [];
  private readonly values = new Map<string, string | undefined>();

  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  /** The trimmed value, or undefined when absent or blank. Reads the environment once per key. */
  raw(key: string): string | undefined {
    if (!this.values.has(key)) {
      const value = this.env[key];
      const trimmed = typeof value === 'string' ? value.trim() : undefined;
      this.values.set(key, trimmed === undefined || trimmed === '' ? undefined : trimmed);
    }
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** Records a problem; `value` is appended as `got "…"` unless the key is secret. */
  fail(key: string, message: string, value?: string): void {
    const echo = value !== undefined && !SECRET_KEYS.has(key) ? `, got ${quote(value)}` : '';
    this.issues.push({ key, message: `${message}${echo}` });
  }

  string(key: string, fallback: string, maxLength?: number): string;
  string(key: string, fallback?: undefined, maxLength?: number): string | undefined;
  string(key: string, fallback?: string, maxLength = 1024): string | undefined {
    const value = this.raw(key);
    if (value === undefined) {
      return fallback;
    }
    if (value.length > maxLength || /[\u0000-\u001f]/.test(value)) {
      this.fail(key, `must be at most ${maxLength} characters without control characters`, value);
      return fallback;
    }
    return value;
  }

  /** A string that must match `pattern`; `expected` describes it, e.g. "a GUID". */
  matching(key: string, pattern: RegExp, expected: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) {
      return undefined;
    }
    if (!pattern.test(value)) {
      this.fail(key, `must be ${expected}`, value);
      return undefined;
    }
    return value;
  }

  guid(key: string): string | undefined {
    return this.matching(key, GUID, 'a GUID like 00000000-0000-0000-0000-000000000000');
  }

  choice<T extends string>(key: string, allowed: readonly T[], fallback: T): T;
  choice<T extends string>(key: string, allowed: readonly T[], fallback?: undefined): T | undefined;
  choice<T extends string>(key: string, allowed: readonly T[], fallback?: T): T | undefined {
    const value = this.raw(key);
    if (value === undefined) {
      return fallback;
    }
    const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (match === undefined) {
      this.fail(key, `must be one of ${allowed.join(', ')}`, value);
      return fallback;
    }
    return match;
  }

  /** Decimal digits only: "60" is fine; "6e1", "-1", "1.5", "0x10" are not. */
  integer(key: string, fallback: number, min: number, max: number): number {
    const value = this.raw(key);
    if (value === undefined) {
      return fallback;
    }
    const parsed = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.fail(key, `must be an integer from ${min} to ${max}`, value);
      return fallback;
    }
    return parsed;
  }

  /** A decimal number (exponent allowed: "1e-4") strictly inside (min, max) or within [min, max]. */
  number(key: string, fallback: number, range: { min: number; max: number; exclusive: boolean }): number {
    const value = this.raw(key);
    if (value === undefined) {
      return fallback;
    }
    const parsed = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(value) ? Number(value) : Number.NaN;
    const inRange = range.exclusive
      ? parsed > range.min && parsed < range.max
      : parsed >= range.min && parsed <= range.max;
    if (!Number.isFinite(parsed) || !inRange) {
      const bounds = range.exclusive
        ? `greater than ${range.min} and less than ${range.max}`
        : `from ${range.min} to ${range.max}`;
      this.fail(key, `must be a number ${bounds}`, value);
      return fallback;
    }
    return parsed;
  }

  /** `true/false/1/0/yes/no`, any case. */
  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) {
      return fallback;
    }
    const lower = value.toLowerCase();
    if (['true', '1', 'yes'].includes(lower)) {
      return true;
    }
    if (['false', '0', 'no'].includes(lower)) {
      return false;
    }
    this.fail(key, 'must be true, false, 1, 0, yes or no', value);
    return fallback;
  }

  /**
   * An absolute http(s) URL with a host and without credentials (`httpUrlProblem`); trailing slashes are dropped
   * so callers can append paths.
   */
  url(key: string, fallback: string): string;
  url(key: string, fallback?: undefined): string | undefined;
  url(key: string, fallback?: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) {
      return fallback;
    }
    const problem = httpUrlProblem(value);
    if (problem !== undefined) {
      // A URL with user:password@ is a secret even under a non-secret key: echo it only with userinfo removed.
      this.fail(key, problem, redactUrl(value));
      return fallback;
    }
    return value.replace(/\/+$/, '');
  }

  /**
   * An Azure Functions NCRONTAB expression: six fields, seconds first, `* , - /` and month/day names only.
   * A five-field (classic cron) value gets a hint that the seconds field is missing.
   */
  schedule(key: string, fallback: string): string {
    const value = this.raw(key);
    if (value === undefined) {
      return fallback;
    }
    const fields = value.split(/\s+/);
    if (fields.length === 5 && ncrontabProblem(`0 ${value}`) === undefined) {
      this.fail(
        key,
        `has 5 fields; Azure Functions timers use NCRONTAB with seconds first (6 fields), e.g. "0 ${value}"`,
        value,
      );
      return fallback;
    }
    const problem = ncrontabProblem(value);
    if (problem !== undefined) {
      this.fail(key, problem, value);
      return fallback;
    }
    return value;
  }
}

/** Why a value is not a 6-field NCRONTAB expression, or undefined when it is one. */
function ncrontabProblem(value: string): string | undefined {
  const fields = value.split(/\s+/);
  if (fields.length !== 6) {
    return `must be an NCRONTAB expression with 6 fields (second minute hour day month day-of-week), has ${fields.length}`;
  }
  const names = /JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT/gi;
  if (fields.some((field) => !/^[0-9*,/-]+$/.test(field.replace(names, '0')))) {
    return 'may use only digits, month/day names and * , - / (NCRONTAB has no L, W, # or ?)';
  }
  try {
    // A fixed start date keeps this check free of the clock; next() proves the expression can fire.
    CronExpressionParser.parse(value, { currentDate: new Date(0), tz: 'UTC' }).next();
  } catch (error) {
    return `is not a valid NCRONTAB expression (${(error as Error).message})`;
  }
  return undefined;
}

function quote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > MAX_ECHO_LENGTH ? `${text.slice(0, MAX_ECHO_LENGTH - 4)}..."` : text;
}
