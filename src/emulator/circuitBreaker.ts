import type { ArmCircuitBreakerRule } from './armBackendStore';
import { tryParseIsoDurationInMs } from './parseIsoDuration';

/** A circuit-breaker rule with durations parsed, as the gateway applies it. */
export interface BreakerRule {
  readonly count: number | undefined;
  readonly percentage: number | undefined;
  readonly intervalInMs: number;
  readonly statusCodeRanges: readonly { readonly min: number; readonly max: number }[];
  readonly errorReasons: readonly string[];
  readonly tripDurationInMs: number;
  readonly acceptRetryAfter: boolean;
}

/** What one backend call produced, as far as the breaker cares. */
export interface BackendOutcome {
  /** HTTP status, or undefined when no answer came (connection failure or timeout). */
  readonly status: number | undefined;
  /** From `retry-after-ms`, `x-ms-retry-after-ms` or `retry-after` of the answer. */
  readonly retryAfterInMs: number | undefined;
}

/** Converts the deployed ARM rule; undefined when it is absent or unusable (no breaker then). */
export function toBreakerRule(rule: ArmCircuitBreakerRule | undefined): BreakerRule | undefined {
  const condition = rule?.failureCondition;
  const intervalInMs = tryParseIsoDurationInMs(condition?.interval);
  const tripDurationInMs = tryParseIsoDurationInMs(rule?.tripDuration);
  if (!rule || !condition || intervalInMs === undefined || tripDurationInMs === undefined) {
    return undefined;
  }
  if (condition.count === undefined && condition.percentage === undefined) {
    return undefined;
  }
  return {
    count: condition.count,
    percentage: condition.percentage,
    intervalInMs,
    statusCodeRanges: condition.statusCodeRanges ?? [],
    errorReasons: condition.errorReasons ?? [],
    tripDurationInMs,
    acceptRetryAfter: rule.acceptRetryAfter === true,
  };
}

/**
 * Whether an outcome counts as a failure under a rule. A status counts when it falls in a range. A call
 * that got no answer (connection failure, timeout) counts when the rule lists any `errorReasons`, or when
 * it lists no status ranges at all — APIM documents neither case precisely (*unconfirmed*), this is the
 * emulator's choice.
 */
export function isFailure(rule: BreakerRule, outcome: BackendOutcome): boolean {
  if (outcome.status === undefined) {
    return rule.errorReasons.length > 0 || rule.statusCodeRanges.length === 0;
  }
  const status = outcome.status;
  return rule.statusCodeRanges.some((range) => status >= range.min && status <= range.max);
}

/** A read-only view of one breaker, for the control API. */
export interface BreakerSnapshot {
  readonly tripped: boolean;
  /** Epoch ms when the breaker closes again; null while closed. */
  readonly trippedUntil: number | null;
  readonly failuresInWindow: number;
  readonly callsInWindow: number;
  readonly timesTripped: number;
}

/**
 * One backend's circuit breaker on one gateway instance: a sliding window of calls over the rule's
 * interval; trips when `count` failures (or `percentage` of calls) fall in the window; stays open for
 * `tripDuration`, or for the backend's Retry-After when `acceptRetryAfter` is set and one was sent.
 */
export class CircuitBreaker {
  private calls: { at: number; failed: boolean }[] = [];
  private trippedUntil: number | null = null;
  private timesTripped = 0;

  /** @param onChange told when the breaker opens or closes (APIM publishes these as Event Grid events). */
  constructor(
    private readonly now: () => number,
    private readonly onChange: (change: 'opened' | 'closed', at: number) => void = () => undefined,
  ) {}

  /** True while the breaker is open; closes itself (and forgets the window) once the trip is over. */
  isTripped(): boolean {
    if (this.trippedUntil === null) {
      return false;
    }
    if (this.now() >= this.trippedUntil) {
      const closedAt = this.trippedUntil;
      this.trippedUntil = null;
      this.calls = [];
      this.onChange('closed', closedAt);
      return false;
    }
    return true;
  }

  /** Records a call; returns true when this call tripped the breaker. */
  record(rule: BreakerRule | undefined, outcome: BackendOutcome): boolean {
    if (!rule || this.isTripped()) {
      return false;
    }
    const at = this.now();
    this.calls.push({ at, failed: isFailure(rule, outcome) });
    this.calls = this.calls.filter((call) => call.at > at - rule.intervalInMs);
    const failures = this.calls.filter((call) => call.failed).length;
    const tripsByCount = rule.count !== undefined && failures >= rule.count;
    const tripsByPercentage =
      rule.percentage !== undefined && failures > 0 && (failures * 100) / this.calls.length >= rule.percentage;
    if (!tripsByCount && !tripsByPercentage) {
      return false;
    }
    const durationInMs =
      rule.acceptRetryAfter && outcome.retryAfterInMs !== undefined ? outcome.retryAfterInMs : rule.tripDurationInMs;
    this.trippedUntil = at + durationInMs;
    this.timesTripped += 1;
    this.onChange('opened', at);
    return true;
  }

  snapshot(): BreakerSnapshot {
    const tripped = this.isTripped();
    return {
      tripped,
      trippedUntil: tripped ? this.trippedUntil : null,
      failuresInWindow: this.calls.filter((call) => call.failed).length,
      callsInWindow: this.calls.length,
      timesTripped: this.timesTripped,
    };
  }
}

/**
 * Reads how long a backend asked to be left alone: `retry-after-ms`, `x-ms-retry-after-ms` (milliseconds),
 * else `retry-after` as seconds or an HTTP date. Undefined when absent or unparsable.
 */
export function parseRetryAfterInMs(
  headers: Record<string, string | string[] | undefined>,
  nowInMs: number,
): number | undefined {
  const first = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = first(name);
    if (value !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(value)) {
      return Math.round(Number(value));
    }
  }
  const retryAfter = first('retry-after');
  if (retryAfter === undefined) {
    return undefined;
  }
  if (/^\s*\d+\s*$/.test(retryAfter)) {
    return Number(retryAfter) * 1000;
  }
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}
