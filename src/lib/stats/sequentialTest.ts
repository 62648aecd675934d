import { logGamma } from './binomial';
import { requireNumberInRange, StatsInputError } from './StatsInputError';
import { weightedBackendTestCount } from './testCount';

// Module-local aliases of globals used in hot loops: under jest's vm sandbox every global lookup goes through
// an interceptor (measured 25× slower here); a module constant avoids that and changes nothing in production.
const math = Math;
const INFINITY = 1 / 0;
const number = Number;

/** Where a sequential run stands after the latest probe. */
export type SequentialDecision =
  | { readonly state: 'continue' }
  | { readonly state: 'drift'; readonly reason: string; readonly logBayesFactor: number; readonly identified: number; readonly observed: number }
  | { readonly state: 'ok'; readonly reason: string; readonly identified: number; readonly observed: number }
  /** `maxProbes` reached without a decision: nothing is decided; the window's fixed-N test judges the run. */
  | { readonly state: 'cap'; readonly reason: string };

/** A running always-valid test of "answers split as expected"; feed it every probe as it completes. */
export interface SequentialTest {
  /**
   * Records one probe: `backendIndex` indexes `expectedShares` (an entry with share 0 is a failover backend),
   * `null` is an unidentified answer or a failed probe (counted, not tested). Once the decision is final
   * (drift, ok or cap) further probes are ignored and the final decision is returned.
   * @throws StatsInputError for an index that is not an integer inside `expectedShares`.
   */
  observe(backendIndex: number | null): SequentialDecision;
  readonly decision: SequentialDecision;
  /** Probes observed so far (identified or not) until the decision became final. */
  readonly observed: number;
  /**
   * How close the drift decision is, in [0, 1] (1 = decided): the smaller of the two drift conditions' progress,
   * log Bayes factor ÷ ln(1/alpha) and the best share's band log Bayes factor ÷ ln(K/alpha) (0 while no share is
   * outside its band). Lets the prober stop widening near the boundary, so few probes are in flight at the stop.
   */
  readonly driftProgress: number;
}

/** Options of {@link createSequentialTest}. */
export interface SequentialTestOptions {
  /** Expected share per backend, summing to 1; 0 marks a failover backend (any answer from it is drift). */
  readonly expectedShares: readonly number[];
  /** Probability of ever declaring drift on a pool that follows its weights, however often it is checked. */
  readonly alpha: number;
  /** The early `ok` stop needs every share pinned to within this many percentage points of its expectation. */
  readonly toleranceInPoints: number;
  /** Hard cap on probes; reaching it without a decision gives `cap` (nothing decided). */
  readonly maxProbes: number;
  /**
   * Probability that an early `ok` is declared although some share is off by ≥ toleranceInPoints.
   * Default: `alpha` (symmetric). A larger value (e.g. 0.05) lets healthy runs stop sooner.
   */
  readonly missedDriftRate?: number;
}

/**
 * The mixture behind the drift decision, as weights of three kinds of alternative (the Bayes factor of a
 * mixture of priors is the weighted mean of the components' Bayes factors, still a test martingale under p0):
 * - `dead`: for each primary backend i, the point alternative "i is dead, the others share its traffic in
 *   proportion" (weight split equally over the backends) — the most common failure, whose likelihood ratio
 *   (1 − p0ᵢ)⁻ⁿ grows as fast as an SPRT built for it;
 * - Dirichlet(c · p0) priors over the whole simplex: c = 0.5 bets on gross drifts (a backend almost dead),
 *   c = 20 on 5–15-point drifts.
 *
 * Tuned by simulation (bench/stats.ts) on 2:1 and 3:2:1 pools at alpha 0.01 and 1e-4: mean probes to drift
 * are 1.35–1.51× Wald's bound ln(1/alpha)/KL at alpha 0.01 and 1.21–1.33× at 1e-4 for 1:1, 3:1, 0.6/0.4, a
 * dead backend and a 90/10 split. A single Dirichlet cannot cover both ends (c = 4: dead backend 1.6×;
 * c = 16: dead backend 2.4×), and Dirichlet priors alone put little mass on a simplex edge (3:2:1 with the
 * weight-1 backend dead: 1.87× without the point alternatives, 1.5× with).
 */
const MIXTURE = {
  deadBackendWeight: 0.25,
  dirichlet: [
    { concentration: 0.5, weight: 0.1 },
    { concentration: 20, weight: 0.65 },
  ],
} as const;

/**
 * Concentration of the Beta(c · p0, c · (1 − p0)) prior of each share's confidence sequence (ok stop). About
 * p0(1 − p0)/tolerance² for a 2:1 pool at 5 points; the width at the sizes that matter is insensitive to it.
 */
const CONFIDENCE_SEQUENCE_CONCENTRATION = 50;

/**
 * Concentration of the second Beta prior of the drift side's confidence sequence (mixed 50/50 with the one above):
 * a diffuse prior puts mass near 0 and 1, so a dead backend leaves the tolerance band within a few probes of the
 * mixture Bayes factor's own stop; the concentrated one keeps 5–15-point drifts fast.
 */
const DRIFT_SEQUENCE_DIFFUSE_CONCENTRATION = 2;

/**
 * Creates an always-valid sequential test of "the identified answers split as `expectedShares` says".
 *
 * **Drift.** Over the primary backends (expected share > 0) the test keeps the mixture likelihood ratio
 *   BF_n = Σⱼ wⱼ · [Dirichlet-multinomial likelihood with prior Dir(cⱼ·p0)] / [multinomial likelihood at p0],
 * updated per answer from backend i with the Pólya-urn predictive: BFⱼ ← BFⱼ · (cⱼ·p0ᵢ + kᵢ) / ((cⱼ + n) · p0ᵢ).
 * Under p0 each BFⱼ is a non-negative martingale with mean 1, so by Ville's inequality
 * P(sup_n BF_n ≥ 1/alpha) ≤ alpha: the false-alarm rate holds even when the decision is checked after every
 * probe and the run stops at any time. No alternative is assumed; the prior spreads the bet over all splits.
 * Drift is declared when BF_n ≥ 1/alpha AND some weighted share's drift confidence sequence at level alpha/K lies
 * entirely outside expected ± tolerance (a mixture of Beta(2·p0, 2·(1 − p0)) and Beta(50·p0, 50·(1 − p0)) priors,
 * the same construction as the ok side below). The second condition makes the false-alarm guarantee hold for every
 * split within the tolerance, not only the exact weights: if each true share is inside its band, a sequence that
 * excludes the band excludes the truth, which happens with probability ≤ alpha/K per share, ≤ alpha in all
 * (docs/statistics.md, "Drift"). An answer from a backend expected at 0 (failover) is drift at once
 * (`logBayesFactor` = Infinity: such an answer is impossible under the definition).
 *
 * **Early ok.** Each weighted share (0 < p0 < 1) has a confidence sequence: the set of p whose beta-binomial
 * mixture Bayes factor B(a + k, b + n − k)/B(a, b) / (pᵏ(1 − p)ⁿ⁻ᵏ) stays below K/β (K = weighted tests, β =
 * `missedDriftRate`, default alpha). The set is an interval (the log Bayes factor is convex in p) containing
 * the true share at all times with probability ≥ 1 − β/K. `ok` is declared when every interval lies strictly
 * inside p0 ± tolerance and enough answers came in that a failover share ≥ tolerance would have shown up with
 * probability ≥ 1 − β (n ≥ ln β / ln(1 − tolerance)). So an early `ok` is wrong (a share really off by ≥
 * tolerance) with probability ≤ β, again however often it is checked. A confidence sequence rather than a
 * second mixture test was chosen because "drift ≥ tolerance" is a composite hypothesis with two sides per
 * backend, and the interval also says how tight the run pinned each share.
 *
 * Unidentified answers and failed probes (`null`) count towards `observed` and `maxProbes` but not the test.
 *
 * @throws StatsInputError naming the field for shares outside [0, 1] or not summing to 1, no positive share,
 *   alpha or missedDriftRate outside (0, 1), a tolerance outside (0, 100], or maxProbes not a positive integer.
 */
export function createSequentialTest(options: SequentialTestOptions): SequentialTest {
  const shares = options.expectedShares;
  if (!Array.isArray(shares) || shares.length === 0) {
    throw new StatsInputError('expectedShares', shares, 'must be a non-empty array of shares');
  }
  shares.forEach((s, i) => requireNumberInRange(`expectedShares[${i}]`, s, { min: 0, max: 1 }));
  const total = shares.reduce((sum, s) => sum + s, 0);
  if (math.abs(total - 1) > 1e-6) {
    throw new StatsInputError('expectedShares', total, 'must sum to 1');
  }
  const alpha = requireNumberInRange('alpha', options.alpha, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  const tolerance = requireNumberInRange('toleranceInPoints', options.toleranceInPoints, { min: 0, max: 100, minExclusive: true }) / 100;
  const maxProbes = options.maxProbes;
  if (!number.isInteger(maxProbes) || maxProbes < 1) {
    throw new StatsInputError('maxProbes', maxProbes, 'must be a positive integer');
  }
  const beta = options.missedDriftRate === undefined
    ? alpha
    : requireNumberInRange('missedDriftRate', options.missedDriftRate, { min: 0, max: 1, minExclusive: true, maxExclusive: true });

  const threshold = math.log(1 / alpha);
  const counts = shares.map(() => 0);
  const primaryIndexes = shares.map((p0, i) => (p0 > 0 ? i : -1)).filter((i) => i >= 0);
  // "Dead" alternatives need at least two primaries (someone must take over the dead backend's traffic).
  const deadIndexes = primaryIndexes.length >= 2 ? primaryIndexes : [];
  const dirichletWeight = deadIndexes.length > 0 ? 1 : 1 / (1 - MIXTURE.deadBackendWeight);
  const logDirichlet = MIXTURE.dirichlet.map((m) => math.log(m.weight * dirichletWeight));
  const logDead = deadIndexes.map(() => math.log(MIXTURE.deadBackendWeight / deadIndexes.length));
  let identified = 0;
  let observed = 0;
  let decision: SequentialDecision = { state: 'continue' };

  const weighted = shares.map((s, i) => ({ i, p0: s })).filter((x) => x.p0 > 0 && x.p0 < 1);
  const okThreshold = math.log(weightedBackendTestCount(shares) / beta);
  const driftBandThreshold = math.log(weightedBackendTestCount(shares) / alpha);
  const minimumForFailover = math.ceil(math.log(beta) / math.log1p(-math.min(tolerance, 1 - 1e-12)));
  // Beta prior parameters and the running log marginal likelihood of each weighted share's sequence; `diffuse*`
  // is the second prior of the drift side's mixture.
  const sequences = weighted.map((w) => ({
    ...w,
    a: CONFIDENCE_SEQUENCE_CONCENTRATION * w.p0,
    b: CONFIDENCE_SEQUENCE_CONCENTRATION * (1 - w.p0),
    logMarginal: 0,
    diffuseA: DRIFT_SEQUENCE_DIFFUSE_CONCENTRATION * w.p0,
    diffuseB: DRIFT_SEQUENCE_DIFFUSE_CONCENTRATION * (1 - w.p0),
    diffuseLogMarginal: 0,
  }));

  const logBayesFactor = (): number => {
    // Log-sum-exp over both kinds of component without allocating (this runs after every probe).
    let high = -INFINITY;
    for (const l of logDirichlet) high = math.max(high, l);
    for (const l of logDead) high = math.max(high, l);
    let sum = 0;
    for (const l of logDirichlet) sum += math.exp(l - high);
    for (const l of logDead) sum += math.exp(l - high);
    return high + math.log(sum);
  };
  const describeShares = (): string =>
    shares
      .map((p0, i) => `${(((counts[i] ?? 0) / Math.max(1, identified)) * 100).toFixed(1)}% (expected ${(p0 * 100).toFixed(1)}%)`)
      .join(', ');

  const sharePinned = (s: (typeof sequences)[number]): boolean => {
    const k = counts[s.i] ?? 0;
    const observedShare = k / identified;
    const low = s.p0 - tolerance;
    const high = s.p0 + tolerance;
    if (!(observedShare > low && observedShare < high)) return false;
    // The interval excludes a boundary p when its Bayes factor is ≥ K/β there (boundaries outside (0, 1) are
    // excluded anyway); with the observed share between them, convexity puts the whole interval inside.
    const excluded = (p: number): boolean =>
      p <= 0 || p >= 1 || s.logMarginal - k * math.log(p) - (identified - k) * math.log1p(-p) >= okThreshold;
    return excluded(low) && excluded(high);
  };

  /** Log Bayes factor of the share's drift confidence sequence at the nearer band edge (−∞ while inside the band). */
  const bandLogBayesFactor = (s: (typeof sequences)[number]): number => {
    if (identified === 0) return -INFINITY;
    const k = counts[s.i] ?? 0;
    const observedShare = k / identified;
    const edge = observedShare > s.p0 + tolerance ? s.p0 + tolerance : observedShare < s.p0 - tolerance ? s.p0 - tolerance : null;
    if (edge === null || edge <= 0 || edge >= 1) return -INFINITY;
    const high = math.max(s.logMarginal, s.diffuseLogMarginal);
    const logMixture = high + math.log(0.5 * math.exp(s.logMarginal - high) + 0.5 * math.exp(s.diffuseLogMarginal - high));
    // The log Bayes factor is convex in p with its minimum at the observed share: beyond the edge it only grows.
    return logMixture - k * math.log(edge) - (identified - k) * math.log1p(-edge);
  };
  /** The share's drift confidence sequence (level alpha/K) lies entirely outside expected ± tolerance. */
  const shareOutsideBand = (s: (typeof sequences)[number]): boolean => bandLogBayesFactor(s) >= driftBandThreshold;

  const observe = (backendIndex: number | null): SequentialDecision => {
    if (decision.state !== 'continue') return decision;
    if (backendIndex !== null && (!number.isInteger(backendIndex) || backendIndex < 0 || backendIndex >= shares.length)) {
      throw new StatsInputError('backendIndex', backendIndex, `must be null or an integer in [0, ${shares.length - 1}]`);
    }
    observed++;
    if (backendIndex !== null) {
      const p0 = shares[backendIndex] as number;
      const k = counts[backendIndex] as number;
      if (p0 === 0) {
        counts[backendIndex] = k + 1;
        identified++;
        decision = {
          state: 'drift',
          reason: `failover: backend #${backendIndex} answered although its expected share is 0 (probe ${observed})`,
          logBayesFactor: INFINITY,
          identified,
          observed,
        };
        return decision;
      }
      MIXTURE.dirichlet.forEach((m, j) => {
        logDirichlet[j] = (logDirichlet[j] as number) + math.log((m.concentration * p0 + k) / ((m.concentration + identified) * p0));
      });
      deadIndexes.forEach((dead, j) => {
        logDead[j] = dead === backendIndex ? -INFINITY : (logDead[j] as number) - math.log1p(-(shares[dead] as number));
      });
      for (const s of sequences) {
        const ks = counts[s.i] as number;
        s.logMarginal += math.log((s.i === backendIndex ? s.a + ks : s.b + identified - ks) / (s.a + s.b + identified));
        s.diffuseLogMarginal += math.log(
          (s.i === backendIndex ? s.diffuseA + ks : s.diffuseB + identified - ks) / (s.diffuseA + s.diffuseB + identified),
        );
      }
      counts[backendIndex] = k + 1;
      identified++;
      const logBf = logBayesFactor();
      if (logBf >= threshold && sequences.some(shareOutsideBand)) {
        decision = {
          state: 'drift',
          reason: `the split differs from the weights by more than ${(tolerance * 100).toFixed(1)} points: Bayes factor ${Math.exp(logBf).toPrecision(3)} ≥ 1/alpha = ${(1 / alpha).toPrecision(3)} after ${identified} identified answers; shares ${describeShares()}`,
          logBayesFactor: logBf,
          identified,
          observed,
        };
        return decision;
      }
      if (identified >= minimumForFailover && sequences.every(sharePinned)) {
        decision = {
          state: 'ok',
          reason: `every share is within ±${(tolerance * 100).toFixed(1)} points of its weight with confidence ${(1 - beta).toPrecision(4)} after ${identified} identified answers; shares ${describeShares()}`,
          identified,
          observed,
        };
        return decision;
      }
    }
    if (observed >= maxProbes) {
      decision = {
        state: 'cap',
        reason: `no sequential decision in ${observed} probes (${identified} identified answers; maxProbes reached); shares ${describeShares()}`,
      };
    }
    return decision;
  };

  return {
    observe,
    get decision() {
      return decision;
    },
    get observed() {
      return observed;
    },
    get driftProgress() {
      if (decision.state === 'drift') return 1;
      if (decision.state !== 'continue' || identified === 0) return 0;
      const bf = logBayesFactor() / threshold;
      let band = -INFINITY;
      for (const s of sequences) band = math.max(band, bandLogBayesFactor(s));
      return math.max(0, math.min(1, bf, band / driftBandThreshold));
    },
  };
}

/**
 * log of the drift Bayes factor the sequential test would hold after `counts` answers from the backends with
 * expected share > 0 (fractional counts allowed, for planning). Used by planSampleSize's sequentialMeanN.
 */
export function sequentialLogBayesFactor(counts: readonly number[], expectedShares: readonly number[]): number {
  const n = counts.reduce((sum, k) => sum + k, 0);
  // Same weights as createSequentialTest: without a second primary there is no "dead" alternative.
  const deadWeight = expectedShares.length >= 2 ? MIXTURE.deadBackendWeight : 0;
  const components = MIXTURE.dirichlet.map(
    (m) => math.log(m.weight / (1 - MIXTURE.deadBackendWeight + deadWeight)) + dirichletLogBayesFactor(counts, expectedShares, m.concentration),
  );
  if (deadWeight > 0) {
    expectedShares.forEach((p0, i) => {
      if ((counts[i] ?? 0) === 0) components.push(math.log(deadWeight / expectedShares.length) - n * math.log1p(-p0));
    });
  }
  return logSumExp(components);
}

function logSumExp(values: readonly number[]): number {
  const high = math.max(...values);
  if (high === -INFINITY) return -INFINITY;
  return high + math.log(values.reduce((sum, l) => sum + math.exp(l - high), 0));
}

/** log Dirichlet-multinomial Bayes factor with prior Dir(c · p0) against p0, for counts over shares p0 > 0. */
function dirichletLogBayesFactor(counts: readonly number[], expectedShares: readonly number[], concentration: number): number {
  let n = 0;
  let sum = 0;
  counts.forEach((k, i) => {
    const p0 = expectedShares[i] as number;
    n += k;
    if (k > 0) sum += logGamma(concentration * p0 + k) - logGamma(concentration * p0) - k * math.log(p0);
  });
  return logGamma(concentration) - logGamma(concentration + n) + sum;
}
