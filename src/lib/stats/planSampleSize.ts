import { binomialAcceptanceRegion, logBinomialCdf, logBinomialSurvival } from './binomial';
import { sequentialLogBayesFactor } from './sequentialTest';
import { requireNumberInRange, StatsInputError } from './StatsInputError';
import { weightedBackendTestCount } from './testCount';

// Module-local aliases of globals used in hot loops: under jest's vm sandbox every global lookup goes through
// an interceptor (measured 25× slower here); a module constant avoids that and changes nothing in production.
const math = Math;
const INFINITY = 1 / 0;
const number = Number;

/** Options of {@link planSampleSize}. Shares are fractions in [0, 1]; drift and tolerance are percentage points. */
export interface PlanSampleSizeOptions {
  /** Expected share per backend (as computed from the pool definition; 0 = failover backend). */
  readonly expectedShares: readonly number[];
  /** Size of the drift to detect, in percentage points (ignored when `trueShares` is given). */
  readonly driftInPoints: number;
  /** Family-wise false-alarm probability of the window (split over K weighted backends for the fixed-N test). */
  readonly alpha: number;
  /** Required probability of flagging the drift, e.g. 0.95. */
  readonly power: number;
  /** Tolerance of the window's drift test (a backend is flagged only when shown off by more than this). */
  readonly toleranceInPoints?: number;
  /**
   * A specific alternative to plan for instead of "any backend off by driftInPoints", e.g. `[1, 0]` for a dead
   * backend in a 2:1 pool or `[0.6, 0.3, 0.1]` for a backup taking 10%. Same order as `expectedShares`.
   */
  readonly trueShares?: readonly number[];
}

/** Result of {@link planSampleSize}. Counts are identified answers (probes that returned 2xx and were attributed). */
export interface SampleSizePlan {
  /**
   * Smallest N at which the window's exact test (exact two-sided binomial per backend at alpha/K, plus the
   * tolerance gate, plus the failover rule) flags the planned drift with at least `power`.
   * `Infinity` when no N reaches it (a drift not larger than the tolerance gate can never reach power > ~0.5).
   */
  readonly fixedN: number;
  /**
   * Approximate mean N of the sequential mixture test (createSequentialTest) under the planned drift: the
   * sample size at which the Bayes factor of the *typical* path (counts = N · trueShares) reaches 1/alpha;
   * the bench compares it with simulation. Null when the alternative has a failover share only.
   */
  readonly sequentialMeanN: number | null;
  /** ln(1/alpha) / KL(true ‖ expected): no test with error rates ≤ alpha can need fewer probes on average (Wald). */
  readonly lowerBound: number;
}

/** Largest N searched; beyond it a plan is reported as `Infinity`. */
const MAX_PLANNED_N = 1 << 24;

/**
 * Exact power of the window test of one backend: P(flag) when its true share is `trueShare`, with n answers,
 * expected share `expectedShare` and per-test level `alphaPerTest`. With `toleranceInPoints` > 0 the test is the
 * window's drift test (assessWindow): the share is shown off by MORE than the tolerance, i.e. twice the exact tail
 * at the nearer edge of expected ± tolerance is below alphaPerTest (docs/statistics.md, "Drift"). With 0 it is the
 * exact two-sided test against the expected share itself.
 */
export function exactTestPower(
  n: number,
  expectedShare: number,
  trueShare: number,
  alphaPerTest: number,
  toleranceInPoints = 0,
): number {
  let rejectAtOrBelow: number;
  let rejectAtOrAbove: number;
  if (toleranceInPoints > 0) {
    const tolerance = toleranceInPoints / 100;
    const high = expectedShare + tolerance;
    const low = expectedShare - tolerance;
    // Smallest k flagged above: 2·P(X ≥ k; high) < alphaPerTest (monotone in k).
    let a = 0;
    let b = n + 1;
    while (a < b) {
      const mid = math.floor((a + b) / 2);
      if (high < 1 && 2 * math.exp(logBinomialSurvival(mid, n, high)) < alphaPerTest) b = mid;
      else a = mid + 1;
    }
    rejectAtOrAbove = a;
    // Largest k flagged below: 2·P(X ≤ k; low) < alphaPerTest.
    let c = -1;
    let d = n;
    while (c < d) {
      const mid = math.ceil((c + d) / 2);
      if (low > 0 && 2 * math.exp(logBinomialCdf(mid, n, low)) < alphaPerTest) c = mid;
      else d = mid - 1;
    }
    rejectAtOrBelow = c;
  } else {
    const region = binomialAcceptanceRegion(n, expectedShare, alphaPerTest);
    rejectAtOrBelow = region.lowestAccepted - 1;
    rejectAtOrAbove = region.highestAccepted + 1;
  }
  const logLow = rejectAtOrBelow >= 0 ? logBinomialCdf(rejectAtOrBelow, n, trueShare) : -INFINITY;
  const logHigh = rejectAtOrAbove <= n ? logBinomialSurvival(rejectAtOrAbove, n, trueShare) : -INFINITY;
  return math.min(1, math.exp(logLow) + math.exp(logHigh));
}

/**
 * Smallest n with `powerAt(n) ≥ power`, found by doubling then bisection. Exact-test power is a sawtooth in n
 * (discreteness), so this is the first n of the bisection's crossing — at most a few percent above the very
 * first n that happens to reach the power, and a size at which the power is reached.
 */
export function smallestSampleSize(powerAt: (n: number) => number, power: number): number {
  let high = 1;
  while (powerAt(high) < power) {
    if (high >= MAX_PLANNED_N) return INFINITY;
    high *= 2;
  }
  let low = math.floor(high / 2);
  while (high - low > 1) {
    const mid = math.floor((low + high) / 2);
    if (powerAt(mid) >= power) high = mid;
    else low = mid;
  }
  return high;
}

/** KL(p1 ‖ p0) in nats over the multinomial of backends; ∞ when p1 puts mass where p0 has none. */
export function multinomialKl(trueShares: readonly number[], expectedShares: readonly number[]): number {
  let kl = 0;
  trueShares.forEach((p1, i) => {
    const p0 = expectedShares[i] ?? 0;
    if (p1 > 0) kl += p0 > 0 ? p1 * math.log(p1 / p0) : INFINITY;
  });
  return kl;
}

function alternativesFor(expected: readonly number[], drift: number): number[][] {
  const alternatives: number[][] = [];
  expected.forEach((share, i) => {
    if (!(share > 0 && share < 1)) return;
    for (const sign of [-1, 1]) {
      const moved = share + sign * drift;
      if (moved < -1e-12 || moved > 1 + 1e-12) continue;
      const clamped = math.min(1, math.max(0, moved));
      // The other backends absorb the change in proportion to their own expected shares.
      const scale = (1 - clamped) / (1 - share);
      alternatives.push(expected.map((other, j) => (j === i ? clamped : other * scale)));
    }
  });
  return alternatives;
}

/** Fixed N for one specific alternative: the easiest route to a flag (any backend's test, or the failover rule). */
function fixedSampleSizeFor(
  expected: readonly number[],
  alternative: readonly number[],
  alphaPerTest: number,
  power: number,
  toleranceInPoints: number,
): number {
  let best = INFINITY;
  const failoverShare = alternative.reduce((sum, p1, i) => ((expected[i] ?? 0) === 0 ? sum + p1 : sum), 0);
  if (failoverShare > 0) {
    // Any answer from a backend expected at 0 is flagged: P(at least one in n) = 1 − (1 − f)^n.
    best = failoverShare >= 1 ? 1 : math.ceil(math.log1p(-power) / math.log1p(-failoverShare) - 1e-12);
  }
  expected.forEach((share, i) => {
    if (!(share > 0 && share < 1)) return;
    const p1 = alternative[i] ?? 0;
    if (math.abs(p1 - share) < 1e-12) return;
    const n = smallestSampleSize((m) => exactTestPower(m, share, p1, alphaPerTest, toleranceInPoints), power);
    best = math.min(best, n);
  });
  return best;
}

function sequentialMeanFor(expected: readonly number[], alternative: readonly number[], alpha: number): number | null {
  const threshold = math.log(1 / alpha);
  const primary = expected.map((share, i) => ({ share, p1: alternative[i] ?? 0 })).filter((x) => x.share > 0);
  const failoverShare = 1 - primary.reduce((sum, x) => sum + x.p1, 0);
  const logBfAt = (n: number): number =>
    sequentialLogBayesFactor(
      primary.map((x) => x.p1 * n),
      primary.map((x) => x.share),
    );
  if (!number.isFinite(multinomialKl(primary.map((x) => x.p1), primary.map((x) => x.share)))) return null;
  let high = 1;
  while (logBfAt(high) < threshold) {
    if (high >= MAX_PLANNED_N) return failoverShare > 1e-12 ? math.ceil(1 / failoverShare - 1e-9) : null;
    high *= 2;
  }
  let low = high / 2;
  while (high - low > 0.5) {
    const mid = (low + high) / 2;
    if (logBfAt(mid) >= threshold) high = mid;
    else low = mid;
  }
  const pathN = math.ceil(high);
  // An answer from a failover backend stops the sequential test at once: a geometric wait of mean 1/f.
  return failoverShare > 1e-12 ? math.min(pathN, math.ceil(1 / failoverShare - 1e-9)) : pathN;
}

/**
 * How many identified answers a window needs to detect a drift, for the fixed-N exact test the window verdict
 * uses (see assessWindow) and for the sequential test (see createSequentialTest), with Wald's lower bound.
 *
 * Without `trueShares`, the planned drift is "one weighted backend off by `driftInPoints`, up or down, the
 * others absorbing it in proportion": every such alternative is evaluated and the one needing the most
 * probes is reported (fixedN, and sequentialMeanN/lowerBound for that same alternative) — a budget that
 * detects any single-backend drift of that size. The fixed-N test of a backend is the exact two-sided
 * binomial test at alpha/K (K from weightedBackendTestCount) with the tolerance gate; N is the smallest size
 * found by bisection with power ≥ `power` (exact power, not a normal approximation).
 *
 * Reference values (docs/statistics.md; tests hold them to ±5%): 2:1 pool, true 1:1, alpha 0.01, power 0.95 →
 * 152; one-off check at alpha 1e-4, power 0.95 → 1:1 260, dead backend 24, 10% backup 29.
 *
 * @throws StatsInputError naming the field for shares outside [0, 1], alpha or power outside (0, 1), or a
 *   drift that moves no weighted backend inside [0, 1].
 */
export function planSampleSize(options: PlanSampleSizeOptions): SampleSizePlan {
  // Pure and costly (exact power by bisection), and every report asks the same few questions: remember answers.
  const key = JSON.stringify([options.expectedShares, options.driftInPoints, options.alpha, options.power, options.toleranceInPoints ?? null, options.trueShares ?? null]);
  const cached = planCache.get(key);
  if (cached) return cached;
  const plan = Object.freeze(computePlan(options));
  if (planCache.size >= PLAN_CACHE_LIMIT) planCache.clear();
  planCache.set(key, plan);
  return plan;
}

/** Distinct plans remembered (a report asks about 9; the cache is cleared when full). */
const PLAN_CACHE_LIMIT = 256;
const planCache = new Map<string, SampleSizePlan>();

function computePlan(options: PlanSampleSizeOptions): SampleSizePlan {
  const expected = options.expectedShares;
  if (!Array.isArray(expected) || expected.length === 0) {
    throw new StatsInputError('expectedShares', expected, 'must be a non-empty array of shares');
  }
  expected.forEach((share, i) => requireNumberInRange(`expectedShares[${i}]`, share, { min: 0, max: 1 }));
  const alpha = requireNumberInRange('alpha', options.alpha, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  const power = requireNumberInRange('power', options.power, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  const toleranceInPoints = requireNumberInRange('toleranceInPoints', options.toleranceInPoints ?? 0, { min: 0, max: 100 });
  const alphaPerTest = alpha / weightedBackendTestCount(expected);

  let alternatives: number[][];
  if (options.trueShares !== undefined) {
    const trueShares = options.trueShares;
    if (trueShares.length !== expected.length) {
      throw new StatsInputError('trueShares', trueShares.length, `must have ${expected.length} entries like expectedShares`);
    }
    trueShares.forEach((share, i) => requireNumberInRange(`trueShares[${i}]`, share, { min: 0, max: 1 }));
    alternatives = [[...trueShares]];
  } else {
    const drift = requireNumberInRange('driftInPoints', options.driftInPoints, { min: 0, max: 100, minExclusive: true }) / 100;
    alternatives = alternativesFor(expected, drift);
    if (alternatives.length === 0) {
      throw new StatsInputError('driftInPoints', options.driftInPoints, 'moves no weighted backend to a share inside [0, 1]');
    }
  }

  let worst: { n: number; alternative: number[] } | null = null;
  // Backends with equal expected shares moved the same way need the same N (large equal-weight pools).
  const sizeByMove = new Map<string, number>();
  for (const alternative of alternatives) {
    const moved = alternative.findIndex((p1, i) => p1 !== expected[i]);
    const key = options.trueShares === undefined && moved >= 0 ? `${expected[moved]}→${alternative[moved]}` : null;
    const known = key === null ? undefined : sizeByMove.get(key);
    const n = known ?? fixedSampleSizeFor(expected, alternative, alphaPerTest, power, toleranceInPoints);
    if (key !== null) sizeByMove.set(key, n);
    if (worst === null || n > worst.n) worst = { n, alternative };
  }
  const chosen = worst as { n: number; alternative: number[] };
  const kl = multinomialKl(chosen.alternative, expected);
  return {
    fixedN: chosen.n,
    sequentialMeanN: sequentialMeanFor(expected, chosen.alternative, alpha),
    lowerBound: kl > 0 ? math.log(1 / alpha) / kl : INFINITY,
  };
}
