import type { WindowEvidence } from '../store/types';
import { binomialAcceptanceRegion, binomialTestPValue, clopperPearsonInterval } from './binomial';
import { normalQuantileUpper } from './normalQuantileUpper';
import { planSampleSize } from './planSampleSize';
import { requireNumberInRange, StatsInputError } from './StatsInputError';
import { weightedBackendTestCount } from './testCount';
import type { Assessment, BackendAssessment, FailoverFinding, VerdictOptions, VerdictStatus } from './types';

// Module-local aliases of globals used in hot loops: under jest's vm sandbox every global lookup goes through
// an interceptor (measured 25× slower here); a module constant avoids that and changes nothing in production.
const math = Math;
const number = Number;

/** A pool member as the verdict needs it (a subset of the pool module's ResolvedBackend). */
export interface AssessedBackend {
  readonly name: string;
  readonly priority: number;
  /** Expected share of answers in [0, 1]; 0 for lower-priority groups and weight-0 members. */
  readonly expectedShare: number;
  readonly isPrimary: boolean;
  /** Azure region, used in explanations when present (else the name). */
  readonly region?: string | undefined;
}

/** Input of {@link assessWindow}. */
export interface AssessWindowInput {
  /** Window label, e.g. `run`, `hour`, `day`. */
  readonly label: string;
  readonly backends: readonly AssessedBackend[];
  readonly evidence: WindowEvidence;
  readonly options: VerdictOptions;
  /** Phrase for explanations, e.g. "in the last hour". Default: "in the <label> window". */
  readonly windowDescription?: string;
}

/** Floor of the ok/inconclusive resolution, in points: a finer one would need absurd sample sizes. */
const MINIMUM_RESOLUTION_IN_POINTS = 1;

/**
 * Decides whether one window of evidence follows the pool's weights.
 *
 * **Shares** are computed over identified 2xx answers (`evidence.backends[].answered` of the configured
 * backends; n is their sum). Unidentified answers and failed probes are not part of n; they are explained.
 *
 * **Flags.** A weighted backend (expected share strictly between 0 and 1) is flagged when BOTH
 * |observed − expected| ≥ `toleranceInPoints` AND the exact two-sided binomial p-value (R's `binom.test`
 * rule) is < alpha / K, K = {@link weightedBackendTestCount} (Bonferroni; K = 1 for two weighted backends,
 * whose tests coincide). The tolerance gate only binds in large windows, where it stops tiny drifts from paging.
 *
 * **Failover.** Any 2xx answer from a backend whose expected share is 0 (a lower-priority group, or weight 0)
 * is a `failover` finding and flags that backend; no test is needed since such an answer cannot happen while
 * the pool follows its definition.
 *
 * **Over-dispersion.** With `options.dispersion` = φ > 1 the p-values and intervals use the effective counts
 * n/φ and k/φ (rounded), which inflates standard errors by √φ (the quasi-binomial correction). φ < 1 is
 * ignored (it would make the test anti-conservative). Observed shares and deviations keep the raw counts.
 *
 * **Status.**
 * - `no-data`: no identified 2xx answer at all (errors are still explained).
 * - `drift`: any backend flagged, or a failover finding.
 * - `ok`: nothing flagged, no weighted backend off by ≥ max(tolerance, resolution), and n ≥ N_ok, where N_ok is the planner's
 *   fixed-N size (planSampleSize with power 0.5 at this alpha, times φ) for a drift of the resolution
 *   (`options.resolutionInPoints`, default the tolerance, at least 1 point) of the worst backend: the window
 *   was big enough that a drift of that size would have been flagged at least half the time. "ok" therefore
 *   means "consistent with the weights to within the resolution at this sample size".
 * - `inconclusive`: otherwise — too few answers to have caught a resolution-sized drift, or a deviation of at
 *   least max(tolerance, resolution) that is not (yet) significant. `probesNeeded` = N_ok − n, or, when such
 *   a deviation is pending, the larger of that and the size at which it becomes significant with probability
 *   0.5 (normal approximation). With resolution = tolerance the second case is rare: at N_ok a deviation of
 *   the resolution is already about significant.
 *
 * Intervals are Clopper–Pearson at confidence 1 − alpha/K. Explanations give one sentence per backend with
 * numbers, then failover, unidentified answers, failed probes, lost probes and degraded data.
 *
 * @throws StatsInputError naming the field for an alpha outside (0, 1), a negative tolerance, a share outside
 *   [0, 1], duplicate backend names or negative counts.
 */
export function assessWindow(input: AssessWindowInput): Assessment {
  const { label, backends, evidence, options } = input;
  const alpha = requireNumberInRange('options.alpha', options.alpha, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  const toleranceInPoints = requireNumberInRange('options.toleranceInPoints', options.toleranceInPoints, { min: 0, max: 100 });
  const phi = math.max(1, options.dispersion === undefined ? 1 : requireNumberInRange('options.dispersion', options.dispersion, { min: 0, max: 1e6, minExclusive: true }));
  const resolutionInPoints = math.max(
    MINIMUM_RESOLUTION_IN_POINTS,
    options.resolutionInPoints === undefined ? toleranceInPoints : requireNumberInRange('options.resolutionInPoints', options.resolutionInPoints, { min: 0, max: 100 }),
  );
  if (!Array.isArray(backends) || backends.length === 0) {
    throw new StatsInputError('backends', backends, 'must list at least one backend');
  }
  const seen = new Set<string>();
  backends.forEach((b, i) => {
    if (typeof b.name !== 'string' || b.name === '') throw new StatsInputError(`backends[${i}].name`, b.name, 'must be a non-empty string');
    if (seen.has(b.name)) throw new StatsInputError(`backends[${i}].name`, b.name, 'is listed twice');
    seen.add(b.name);
    requireNumberInRange(`backends[${i}].expectedShare`, b.expectedShare, { min: 0, max: 1 });
  });
  const where = input.windowDescription ?? `in the ${label} window`;

  const evidenceByName = new Map(evidence.backends.map((e) => [e.backend, e]));
  const answeredOf = (name: string): number => {
    const found = evidenceByName.get(name);
    if (!found) return 0;
    // Sampled all-traffic telemetry may carry weighted (fractional) counts; the exact test needs whole ones.
    return math.round(requireNumberInRange(`evidence.backends[${name}].answered`, found.answered, { min: 0, max: number.MAX_SAFE_INTEGER }));
  };
  const n = backends.reduce((sum, b) => sum + answeredOf(b.name), 0);
  const expectedShares = backends.map((b) => b.expectedShare);
  const testCount = weightedBackendTestCount(expectedShares);
  const alphaPerTest = alpha / testCount;
  const confidence = 1 - alphaPerTest;
  const nEffective = math.round(n / phi);
  const isWeighted = (share: number): boolean => share > 0 && share < 1;

  const assessed: BackendAssessment[] = backends.map((b) => {
    const k = answeredOf(b.name);
    if (n === 0) {
      return { backend: b.name, expectedShare: b.expectedShare, observedCount: 0, observedShare: null, interval: null, pValue: null, deviationInPoints: null, flagged: false };
    }
    const kEffective = math.min(nEffective, math.round(k / phi));
    const observedShare = k / n;
    const deviationInPoints = (observedShare - b.expectedShare) * 100;
    const pValue = nEffective > 0 ? binomialTestPValue(kEffective, nEffective, b.expectedShare) : 1;
    const ci = clopperPearsonInterval(kEffective, nEffective, confidence);
    let flagged: boolean;
    if (b.expectedShare === 0) flagged = k > 0;
    else if (isWeighted(b.expectedShare)) flagged = math.abs(deviationInPoints) >= toleranceInPoints - 1e-9 && pValue < alphaPerTest;
    else flagged = false; // a sole backend expected at 100%: anyone else answering is the failover finding.
    return {
      backend: b.name,
      expectedShare: b.expectedShare,
      observedCount: k,
      observedShare,
      interval: { low: ci.low, high: ci.high, confidence },
      pValue,
      deviationInPoints,
      flagged,
    };
  });

  const failoverBackends = backends
    .map((b) => ({ backend: b.name, priority: b.priority, count: b.expectedShare === 0 ? answeredOf(b.name) : 0 }))
    .filter((x) => x.count > 0);
  const failover: FailoverFinding | null = failoverBackends.length > 0
    ? { count: failoverBackends.reduce((sum, x) => sum + x.count, 0), backends: failoverBackends }
    : null;

  let status: VerdictStatus;
  let probesNeeded: number | null = null;
  if (n === 0) {
    status = 'no-data';
  } else if (failover !== null || assessed.some((a) => a.flagged)) {
    status = 'drift';
  } else {
    const requiredN = okSampleSize(expectedShares, resolutionInPoints, alpha, phi);
    let neededN = requiredN;
    assessed.forEach((a) => {
      if (!isWeighted(a.expectedShare) || a.observedShare === null) return;
      if (math.abs(a.deviationInPoints ?? 0) < math.max(toleranceInPoints, resolutionInPoints)) return;
      // A deviation beyond tolerance and resolution that is not significant yet: ok would be premature. Until it becomes
      // significant half the time the critical deviation z·√(p0(1−p0)/N) must shrink to the observed one
      // (normal approximation: this only sizes probesNeeded, the verdict itself stays exact).
      const z = normalQuantileUpper(alphaPerTest / 2);
      const deviation = math.abs((a.observedShare as number) - a.expectedShare);
      const untilSignificant = math.ceil((z * z * a.expectedShare * (1 - a.expectedShare)) / (deviation * deviation));
      neededN = math.max(neededN, math.max(n + 1, math.ceil(untilSignificant * phi)));
    });
    if (n >= neededN) {
      status = 'ok';
    } else {
      status = 'inconclusive';
      probesNeeded = number.isFinite(neededN) ? neededN - n : null;
    }
  }

  const explanations = explain({ input, where, n, nEffective, phi, alphaPerTest, toleranceInPoints, assessed, failover, status, probesNeeded, resolutionInPoints });
  return {
    window: label,
    status,
    sampleSize: n,
    alpha,
    toleranceInPoints,
    backends: assessed,
    failover,
    probesNeeded,
    explanations,
  };
}

/** Planner results by (shares, resolution, alpha): the same pool is assessed every few minutes. */
const okSizeCache = new Map<string, number>();
const OK_SIZE_CACHE_LIMIT = 256;

/** N_ok: answers needed before a resolution-sized drift of the worst weighted backend is flagged half the time. */
function okSampleSize(expectedShares: readonly number[], resolutionInPoints: number, alpha: number, phi: number): number {
  const weighted = expectedShares.filter((s) => s > 0 && s < 1);
  if (weighted.length === 0) return 1;
  const key = `${expectedShares.join(',')}|${resolutionInPoints}|${alpha}`;
  let fixedN = okSizeCache.get(key);
  if (fixedN === undefined) {
    fixedN = plannedOkSize(expectedShares, weighted, resolutionInPoints, alpha);
    if (okSizeCache.size >= OK_SIZE_CACHE_LIMIT) okSizeCache.clear();
    okSizeCache.set(key, fixedN);
  }
  return math.ceil(fixedN * phi);
}

function plannedOkSize(expectedShares: readonly number[], weighted: readonly number[], resolutionInPoints: number, alpha: number): number {
  // A drift larger than any backend can move has no alternative; cap it at the largest possible move.
  const largestMove = math.max(...weighted.map((s) => math.max(s, 1 - s))) * 100;
  const driftInPoints = math.min(resolutionInPoints, largestMove);
  return planSampleSize({ expectedShares, driftInPoints, alpha, power: 0.5 }).fixedN;
}

function formatPercent(share: number): string {
  const value = share * 100;
  const rounded = math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(1);
  return `${rounded.replace(/\.0$/, '')}%`;
}

function formatPoints(points: number): string {
  return points.toFixed(1).replace(/\.0$/, '');
}

function formatCount(count: number): string {
  // Not toLocaleString: it loads ICU data and is slow inside test VMs; the report wants en-US grouping anyway.
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function formatPValue(p: number): string {
  return p < 1e-3 ? p.toExponential(1) : p.toPrecision(2);
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}

function joinList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] as string}`;
}

interface ExplainContext {
  readonly input: AssessWindowInput;
  readonly where: string;
  readonly n: number;
  readonly nEffective: number;
  readonly phi: number;
  readonly alphaPerTest: number;
  readonly toleranceInPoints: number;
  readonly assessed: readonly BackendAssessment[];
  readonly failover: FailoverFinding | null;
  readonly status: VerdictStatus;
  readonly probesNeeded: number | null;
  readonly resolutionInPoints: number;
}

/** The deviation (points) beyond which this window flags a backend: the exact test's boundary or the gate. */
function flagBandInPoints(nEffective: number, expectedShare: number, alphaPerTest: number, toleranceInPoints: number): number | null {
  if (nEffective === 0) return null;
  const region = binomialAcceptanceRegion(nEffective, expectedShare, alphaPerTest);
  const sides: number[] = [];
  if (region.lowestAccepted > 0) sides.push((expectedShare - (region.lowestAccepted - 1) / nEffective) * 100);
  if (region.highestAccepted < nEffective) sides.push(((region.highestAccepted + 1) / nEffective - expectedShare) * 100);
  if (sides.length === 0) return null;
  return math.max(toleranceInPoints, math.max(...sides));
}

function explain(ctx: ExplainContext): string[] {
  const { input, where, n } = ctx;
  const evidence = input.evidence;
  const sentences: string[] = [];
  const evidenceByName = new Map(evidence.backends.map((e) => [e.backend, e]));
  const displayName = (b: AssessedBackend): string => (b.region !== undefined && b.region !== '' ? b.region : b.name);

  if (n === 0) {
    sentences.push(`No probe was answered by an identified backend ${where}, so the split cannot be judged.`);
  }
  input.backends.forEach((b, i) => {
    const a = ctx.assessed[i] as BackendAssessment;
    const errors = Object.entries(evidenceByName.get(b.name)?.errorsByStatus ?? {}).filter(([, count]) => count > 0);
    const errorText = errors.length > 0
      ? `; ${joinList(errors.map(([status, count]) => `${formatCount(count)} of its probes returned ${status}`))}`
      : '';
    if (n === 0) {
      if (errorText !== '') sentences.push(`${displayName(b)} answered no probe successfully${errorText}.`);
      return;
    }
    const head = `${displayName(b)} answered ${formatPercent(a.observedShare ?? 0)} of ${plural(n, 'probe')} ${where}`;
    if (b.expectedShare === 0) {
      const why = b.isPrimary ? 'weight 0' : `priority ${b.priority}, a backup group`;
      const verdict = a.observedCount > 0 ? ` — ${plural(a.observedCount, 'answer')} although it should get none: failover` : '';
      sentences.push(`${head}; expected 0% (${why})${verdict}${errorText}.`);
      return;
    }
    let band = '';
    if (b.expectedShare > 0 && b.expectedShare < 1) {
      const width = flagBandInPoints(ctx.nEffective, b.expectedShare, ctx.alphaPerTest, ctx.toleranceInPoints);
      band = width === null ? ' (too few answers to flag any split at this sample size)' : ` (±${formatPoints(width)} points at this sample size)`;
    }
    const flag = a.flagged ? ` — drift, off by ${formatPoints(Math.abs(a.deviationInPoints ?? 0))} points (p = ${formatPValue(a.pValue ?? 1)})` : '';
    sentences.push(`${head}; expected ${formatPercent(b.expectedShare)}${band}${flag}${errorText}.`);
  });

  if (ctx.failover !== null) {
    sentences.push(
      `Failover: ${plural(ctx.failover.count, 'answer')} came from backends outside the preferred group (${joinList(
        ctx.failover.backends.map((f) => {
          const backend = input.backends.find((b) => b.name === f.backend);
          return `${backend ? displayName(backend) : f.backend} ×${formatCount(f.count)}`;
        }),
      )}), which happens only when a preferred backend is unavailable or the pool differs from its definition.`,
    );
  }
  const knownNames = new Set(input.backends.map((b) => b.name));
  const strangers = evidence.backends.filter((e) => !knownNames.has(e.backend) && e.answered > 0);
  if (strangers.length > 0) {
    sentences.push(`${plural(strangers.reduce((s, e) => s + e.answered, 0), 'answer')} came from backends not in the definition (${joinList(strangers.map((e) => e.backend))}) and are left out of the shares.`);
  }
  if (evidence.unidentified.count > 0) {
    const values = Object.entries(evidence.unidentified.values)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 5)
      .map(([value, count]) => `${value === '' ? 'header absent' : `"${value}"`} ×${formatCount(count)}`)
      .concat(evidence.unidentified.otherAnswers ? [`other values ×${formatCount(evidence.unidentified.otherAnswers)}`] : []);
    sentences.push(`${plural(evidence.unidentified.count, 'successful answer')} could not be attributed to a backend (${joinList(values)}) and are left out of the shares.`);
  }
  const failures: string[] = [];
  const unattributedStatuses = Object.entries(evidence.errors.byStatus).filter(([, c]) => c > 0);
  if (unattributedStatuses.length > 0) failures.push(joinList(unattributedStatuses.map(([s, c]) => `${formatCount(c)} returned ${s}`)));
  if (evidence.errors.timeout > 0) failures.push(`${formatCount(evidence.errors.timeout)} timed out`);
  if (evidence.errors.network > 0) failures.push(`${formatCount(evidence.errors.network)} failed with a network error`);
  if (failures.length > 0) sentences.push(`Of all ${plural(evidence.total, 'probe')} ${where}, ${joinList(failures)}.`);
  const failed = Object.values(evidence.errors.byStatus).reduce((s, c) => s + c, 0) + evidence.errors.timeout + evidence.errors.network;
  const lost = evidence.total - evidence.answered - failed;
  if (lost > 0) sentences.push(`${plural(lost, 'probe')} ${where} have no recorded outcome (lost).`);
  if (evidence.incompleteRuns > 0) sentences.push(`${plural(evidence.incompleteRuns, 'run')} ${where} never finished.`);
  if (evidence.degraded !== undefined) sentences.push(`The data is incomplete: ${evidence.degraded}.`);
  if (ctx.phi > 1) {
    sentences.push(`Answers are over-dispersed (φ = ${ctx.phi.toFixed(2)}), so the tests count them as ${formatCount(ctx.nEffective)} independent answers.`);
  }
  if (ctx.status === 'inconclusive') {
    sentences.push(
      ctx.probesNeeded !== null
        ? `Inconclusive: about ${formatCount(ctx.probesNeeded)} more identified answers are needed to rule out a ${formatPoints(ctx.resolutionInPoints)}-point drift.`
        : `Inconclusive: no sample size of this window can rule out a ${formatPoints(ctx.resolutionInPoints)}-point drift.`,
    );
  }
  return sentences;
}
