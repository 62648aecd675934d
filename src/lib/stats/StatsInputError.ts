/**
 * Thrown when a statistics function is given an input it cannot work with (a share outside [0, 1], an alpha
 * outside (0, 1), a negative count …). Names the field and the value so the caller can fix the setting.
 */
export class StatsInputError extends Error {
  override readonly name = 'StatsInputError';
  /** The input at fault, e.g. `options.alpha` or `backends[2].expectedShare`. */
  readonly field: string;
  /** The rejected value (numbers and short strings only; never a secret). */
  readonly value: unknown;

  constructor(field: string, value: unknown, message: string) {
    super(`${field} = ${String(value)}: ${message}`);
    this.field = field;
    this.value = value;
  }
}

/** Throws a StatsInputError unless `value` is a finite number in the given range. */
export function requireNumberInRange(
  field: string,
  value: unknown,
  range: { readonly min: number; readonly max: number; readonly minExclusive?: boolean; readonly maxExclusive?: boolean },
): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new StatsInputError(field, value, 'must be a finite number');
  }
  const belowMin = range.minExclusive ? value <= range.min : value < range.min;
  const aboveMax = range.maxExclusive ? value >= range.max : value > range.max;
  if (belowMin || aboveMax) {
    const low = range.minExclusive ? '(' : '[';
    const high = range.maxExclusive ? ')' : ']';
    throw new StatsInputError(field, value, `must be in ${low}${range.min}, ${range.max}${high}`);
  }
  return value;
}

/** Throws a StatsInputError unless `value` is a non-negative integer (a count). */
export function requireCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new StatsInputError(field, value, 'must be a non-negative integer');
  }
  return value;
}
