import { clopperPearsonInterval, logBinomialCdf, logBinomialSurvival } from './binomial';
import { smallestSampleSize } from './planSampleSize';
import { requireNumberInRange, StatsInputError } from './StatsInputError';
import { weightedBackendTestCount } from './testCount';

// Module-local aliases of globals used in hot loops (see binomial.ts).
const math = Math;

/**
 * β, the error rate of the `ok` claim: the probability of saying "every share is within ± tolerance of its weight"
 * although some share is off by the tolerance or more. 5%, i.e. the power side (95%) of docs/statistics.md, not the
 * window's false-alarm α: intervals at 1 − 1e-4 would need well over 2,000 answers before a healthy pool could ever
 * be shown.
 */
export const OK_MISS_RATE = 0.05;

/**
 * p-value of "the share is within ± tolerance of `expectedShare`" (H0: |p − p0| ≤ tol) after k of n answers: twice
 * the exact binomial tail at the nearer edge of the band, p0 + tol or p0 − tol (1 when the edge is outside [0, 1]).
 * It is < a exactly when the Clopper–Pearson interval at confidence 1 − a lies entirely outside the band, and for
 * every true share inside the band P(p-value < a) ≤ a. This is the drift test of a window (docs/statistics.md,
 * "Drift"): small drifts inside the tolerance are not false alarms.
 */
export function bandTestPValue(k: number, n: number, expectedShare: number, toleranceInPoints: number): number {
  if (n === 0) return 1;
  const tolerance = toleranceInPoints / 100;
  const high = expectedShare + tolerance;
  const low = expectedShare - tolerance;
  const upper = high < 1 ? math.exp(logBinomialSurvival(k, n, math.max(0, high))) : 1;
  const lower = low > 0 ? math.exp(logBinomialCdf(k, n, math.min(1, low))) : 1;
  return math.min(1, 2 * math.min(upper, lower));
}

/**
 * Whether k of n answers show the share inside the open band (p0 − tol, p0 + tol) with both one-sided exact tests at
 * `levelPerSide` (two one-sided tests, TOST): the Clopper–Pearson interval at confidence 1 − 2·levelPerSide lies
 * inside the band. For any true share at or beyond an edge, P(true) ≤ levelPerSide.
 */
export function isWithinBand(k: number, n: number, expectedShare: number, toleranceInPoints: number, levelPerSide: number): boolean {
  if (n === 0) return false;
  const tolerance = toleranceInPoints / 100;
  const low = expectedShare - tolerance;
  const high = expectedShare + tolerance;
  const aboveLow = low < 0 ? true : math.exp(logBinomialSurvival(k, n, low)) < levelPerSide;
  const belowHigh = high > 1 ? true : math.exp(logBinomialCdf(k, n, high)) < levelPerSide;
  return aboveLow && belowHigh;
}

/**
 * The resolution a share's evidence reached, in points: the smallest tolerance t for which the Clopper–Pearson
 * interval at confidence 1 − 2·levelPerSide lies within expected ± t (max of expected − low and high − expected).
 * "No drift larger than this many points" holds with confidence 1 − levelPerSide for this share.
 */
export function shareResolutionInPoints(k: number, n: number, expectedShare: number, levelPerSide: number): number {
  if (n === 0) return 100 * math.max(expectedShare, 1 - expectedShare);
  const ci = clopperPearsonInterval(k, n, 1 - 2 * levelPerSide);
  return 100 * math.max(expectedShare - ci.low, ci.high - expectedShare);
}

/** Exact probability that the TOST of one share passes at n answers when the true share is `trueShare`. */
export function equivalencePower(n: number, expectedShare: number, trueShare: number, toleranceInPoints: number, levelPerSide: number): number {
  // The passing counts form one interval [kMin, kMax]: both tail conditions are monotone in k.
  let a = 0;
  let b = n + 1;
  while (a < b) {
    const mid = math.floor((a + b) / 2);
    const tolerance = toleranceInPoints / 100;
    const low = expectedShare - tolerance;
    const passesLow = low < 0 ? true : math.exp(logBinomialSurvival(mid, n, low)) < levelPerSide;
    if (passesLow) b = mid;
    else a = mid + 1;
  }
  const kMin = a;
  let c = -1;
  let d = n;
  while (c < d) {
    const mid = math.ceil((c + d) / 2);
    const high = expectedShare + toleranceInPoints / 100;
    const passesHigh = high > 1 ? true : math.exp(logBinomialCdf(mid, n, high)) < levelPerSide;
    if (passesHigh) c = mid;
    else d = mid - 1;
  }
  const kMax = c;
  if (kMin > kMax) return 0;
  const belowMax = math.exp(logBinomialCdf(kMax, n, trueShare));
  const belowMin = kMin > 0 ? math.exp(logBinomialCdf(kMin - 1, n, trueShare)) : 0;
  return math.max(0, belowMax - belowMin);
}

/** Options of {@link planEquivalenceSize}. */
export interface PlanEquivalenceOptions {
  readonly expectedShares: readonly number[];
  readonly toleranceInPoints: number;
  /** Probability that a window of this size, on a pool that follows its weights exactly, says `ok` (e.g. 0.95). */
  readonly power: number;
  /** Error rate of the `ok` claim; default {@link OK_MISS_RATE}. */
  readonly missRate?: number;
}

const equivalenceCache = new Map<string, number>();
const EQUIVALENCE_CACHE_LIMIT = 256;

/**
 * Identified answers a window needs so that a pool that follows its weights exactly is shown `ok` (every weighted
 * share's interval inside expected ± tolerance) with probability ≥ `power`. Exact binomial power per share; with K
 * weighted shares each must pass with probability ≥ 1 − (1 − power)/K (a union bound, conservative). Example: the
 * 2:1 lab pool at ±5 points, β = 0.05, power 0.95 → about 1,150 answers. `Infinity` when unreachable.
 * @throws StatsInputError for shares outside [0, 1], power or missRate outside (0, 1), a tolerance outside (0, 100].
 */
export function planEquivalenceSize(options: PlanEquivalenceOptions): number {
  const shares = options.expectedShares;
  shares.forEach((s, i) => requireNumberInRange(`expectedShares[${i}]`, s, { min: 0, max: 1 }));
  const tolerance = requireNumberInRange('toleranceInPoints', options.toleranceInPoints, { min: 0, max: 100, minExclusive: true });
  const power = requireNumberInRange('power', options.power, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  const beta = requireNumberInRange('missRate', options.missRate ?? OK_MISS_RATE, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  if (!Array.isArray(shares) || shares.length === 0) throw new StatsInputError('expectedShares', shares, 'must be a non-empty array of shares');
  const key = `${shares.join(',')}|${tolerance}|${power}|${beta}`;
  const known = equivalenceCache.get(key);
  if (known !== undefined) return known;
  const weighted = [...new Set(shares.filter((s) => s > 0 && s < 1))];
  const testCount = weightedBackendTestCount(shares);
  const levelPerSide = beta / testCount;
  const perShare = 1 - (1 - power) / testCount;
  const n = weighted.length === 0
    ? 1
    : math.max(...weighted.map((p0) => smallestSampleSize((m) => equivalencePower(m, p0, p0, tolerance, levelPerSide), perShare)));
  if (equivalenceCache.size >= EQUIVALENCE_CACHE_LIMIT) equivalenceCache.clear();
  equivalenceCache.set(key, n);
  return n;
}
