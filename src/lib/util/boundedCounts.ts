/**
 * Bounds for anything keyed by what a gateway or a telemetry table sent us (issue 15, "Unbounded growth"): an
 * identifying header that carries a per-response id (8 KB, unique per answer) once made `verify --json` print 80 MB
 * and the report 119 MB. Every such map keeps at most {@link MAX_DISTINCT_VALUES} keys of at most
 * {@link MAX_VALUE_LENGTH} characters; the answers behind the keys left out are still counted (as "other").
 */

/** Distinct values kept per map (the most frequent ones). */
export const MAX_DISTINCT_VALUES = 20;
/** Characters kept of one value; longer values are cut and end with `…`. */
export const MAX_VALUE_LENGTH = 200;

/**
 * Cuts `value` to at most `maxLength` characters (UTF-16 code units), ending with `…` when cut. Never splits a
 * surrogate pair. Values that are already short come back unchanged.
 */
export function truncateValue(value: string, maxLength: number = MAX_VALUE_LENGTH): string {
  if (value.length <= maxLength) return value;
  let end = Math.max(0, maxLength - 1);
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}…`;
}

/** A bounded tally: the most frequent values and how many answers the values left out account for. */
export interface BoundedCounts {
  /** At most `limit` values (truncated), most frequent first. */
  readonly values: Record<string, number>;
  /** Answers counted under values that were not kept (0 when every value fitted). */
  readonly otherAnswers: number;
}

/**
 * Keeps the `limit` most frequent values of `counts` (ties: the smaller value first, so the result is
 * deterministic), each truncated with {@link truncateValue}; values that truncate to the same text are merged.
 * The sum of `values` plus `otherAnswers` equals the sum of `counts`.
 */
export function boundCounts(counts: Iterable<readonly [string, number]>, limit: number = MAX_DISTINCT_VALUES): BoundedCounts {
  const merged = new Map<string, number>();
  let total = 0;
  for (const [value, n] of counts) {
    if (!(n > 0)) continue;
    total += n;
    const key = truncateValue(value);
    merged.set(key, (merged.get(key) ?? 0) + n);
  }
  const kept = [...merged.entries()].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)).slice(0, Math.max(0, limit));
  const values: Record<string, number> = {};
  let keptTotal = 0;
  for (const [value, n] of kept) {
    values[value] = n;
    keptTotal += n;
  }
  return { values, otherAnswers: total - keptTotal };
}

/**
 * A running tally that never holds more than `maxKeys` distinct keys: once full, new keys are counted in
 * `otherAnswers` only. Use where values arrive one by one (probe records); the first values seen win a slot.
 */
export class BoundedTally {
  private readonly counts = new Map<string, number>();
  private other = 0;

  constructor(private readonly maxKeys: number = MAX_DISTINCT_VALUES * 5) {}

  add(value: string, n = 1): void {
    const key = truncateValue(value);
    const current = this.counts.get(key);
    if (current !== undefined) this.counts.set(key, current + n);
    else if (this.counts.size < this.maxKeys) this.counts.set(key, n);
    else this.other += n;
  }

  /** The top `limit` values; answers of every other value (kept or not) are in `otherAnswers`. */
  result(limit: number = MAX_DISTINCT_VALUES): BoundedCounts {
    const bounded = boundCounts(this.counts, limit);
    return { values: bounded.values, otherAnswers: bounded.otherAnswers + this.other };
  }
}

/**
 * The `unidentified` part of window evidence from an exact `count` and a bounded tally: `otherAnswers` is what the
 * kept values do not account for, and is omitted when 0 (so evidence without overflow looks as it always did).
 */
export function toUnidentifiedEvidence(
  count: number,
  bounded: BoundedCounts,
): { readonly count: number; readonly values: Record<string, number>; readonly otherAnswers?: number } {
  const kept = Object.values(bounded.values).reduce((sum, n) => sum + n, 0);
  const otherAnswers = Math.max(0, count - kept);
  return otherAnswers > 0 ? { count, values: bounded.values, otherAnswers } : { count, values: bounded.values };
}
