import type { WindowEvidence } from '../store/types';
import { binomialTestPValue, clopperPearsonInterval } from './binomial';
import { bandTestPValue, isWithinBand, OK_MISS_RATE, shareResolutionInPoints } from './equivalence';
import { normalQuantileUpper } from './normalQuantileUpper';
import { requireNumberInRange, StatsInputError } from './StatsInputError';
import { weightedBackendTestCount } from './testCount';
import type { Assessment, BackendAssessment, DecidedBy, FailoverFinding, SequentialVerdict, VerdictOptions, VerdictStatus } from './types';

// Module-local aliases of globals used in hot loops: under jest's vm sandbox every global lookup goes through
// an interceptor (measured 25× slower here); a module constant avoids that and changes nothing in production.
const math = Math;
const number = Number;
const INFINITY = 1 / 0;

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
  /** The run's sequential stop decision, when it stopped on one: final (see assessWindow). */
  readonly sequential?: SequentialVerdict | undefined;
}

/**
 * Decides whether one window of evidence follows the pool's weights. docs/statistics.md states every guarantee.
 *
 * **Shares** are computed over identified 2xx answers (`evidence.backends[].answered` of the configured
 * backends; n is their sum). Unidentified answers and failed probes are not part of n; they are explained.
 *
 * **Drift** (`drift`). A weighted backend (expected share strictly between 0 and 1) is flagged when its share is
 * shown to be off by MORE than `toleranceInPoints`: the exact binomial test of H0 "|p − expected| ≤ tolerance"
 * ({@link bandTestPValue}, twice the tail at the nearer edge of the band) gives p < alpha/K, K =
 * {@link weightedBackendTestCount} (Bonferroni). Equivalently, its Clopper–Pearson interval at 1 − alpha/K lies
 * entirely outside expected ± tolerance. So P(drift) ≤ alpha for EVERY split within the tolerance, not only the
 * exact weights: small drifts inside the tolerance do not page. Any 2xx answer from a backend whose expected share is
 * 0 (a lower-priority group, or weight 0) is a `failover` finding and also drift; no test is needed since such an
 * answer cannot happen while the pool follows its definition.
 *
 * **Ok** (`ok`): every weighted share is shown WITHIN the tolerance: both one-sided exact tests against expected ±
 * tolerance reject at β/K (two one-sided tests; the Clopper–Pearson interval at 1 − 2β/K lies inside the band),
 * β = `okMissRate` (0.05, the power side, not alpha). "ok while some share is ≥ tolerance off" then happens with
 * probability ≤ β/K ≤ 5%. When the pool has a backup (a share of 0) or no weighted share, ok also needs n ≥
 * ln β / ln(1 − tolerance), so that a backup taking the tolerance would have shown with probability ≥ 1 − β.
 *
 * **Sequential stop** (`input.sequential`): a stop decision of the always-valid sequential test is final. Stopped
 * on drift → `drift` whatever the answers that were still in flight show; stopped on equivalence → `ok` (its own
 * always-valid guarantee), unless a backup answered (failover is a fact, not a test). `decidedBy` says which rule.
 *
 * **Inconclusive** otherwise, with the resolution reached (`resolutionInPoints`: no weighted share is off by more,
 * each bound at confidence 1 − β/K), whether a missing backend is ruled out, and `probesNeeded`: roughly how many
 * more answers would confirm ± tolerance (normal approximation from the observed deviations), or, when a share is
 * already beyond the tolerance without being significant, how many would make it significant half the time.
 *
 * **Over-dispersion.** With `options.dispersion` = φ > 1 the tests and intervals use the effective counts
 * n/φ and k/φ (rounded), which inflates standard errors by √φ (the quasi-binomial correction). φ < 1 is
 * ignored (it would make the test anti-conservative). Observed shares and deviations keep the raw counts.
 *
 * Explanations give one sentence per backend with numbers, then failover, unidentified answers, failed probes,
 * lost probes, degraded data and what the verdict establishes (`meaning`).
 *
 * @throws StatsInputError naming the field for an alpha outside (0, 1), a negative tolerance, a share outside
 *   [0, 1], duplicate backend names or negative counts.
 */
export function assessWindow(input: AssessWindowInput): Assessment {
  const { label, backends, evidence, options } = input;
  const alpha = requireNumberInRange('options.alpha', options.alpha, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
  const toleranceInPoints = requireNumberInRange('options.toleranceInPoints', options.toleranceInPoints, { min: 0, max: 100 });
  const phi = math.max(1, options.dispersion === undefined ? 1 : requireNumberInRange('options.dispersion', options.dispersion, { min: 0, max: 1e6, minExclusive: true }));
  const beta = options.okMissRate === undefined
    ? OK_MISS_RATE
    : requireNumberInRange('options.okMissRate', options.okMissRate, { min: 0, max: 1, minExclusive: true, maxExclusive: true });
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
  const okLevelPerSide = beta / testCount;
  const nEffective = math.round(n / phi);
  const isWeighted = (share: number): boolean => share > 0 && share < 1;

  let assessed: BackendAssessment[] = backends.map((b) => {
    const k = answeredOf(b.name);
    if (n === 0) {
      return { backend: b.name, expectedShare: b.expectedShare, observedCount: 0, observedShare: null, interval: null, pValue: null, bandPValue: null, deviationInPoints: null, flagged: false };
    }
    const kEffective = math.min(nEffective, math.round(k / phi));
    const observedShare = k / n;
    const deviationInPoints = (observedShare - b.expectedShare) * 100;
    const pValue = nEffective > 0 ? binomialTestPValue(kEffective, nEffective, b.expectedShare) : 1;
    const bandPValue = isWeighted(b.expectedShare) ? bandTestPValue(kEffective, nEffective, b.expectedShare, toleranceInPoints) : null;
    const ci = clopperPearsonInterval(kEffective, nEffective, 1 - 2 * okLevelPerSide);
    let flagged: boolean;
    if (b.expectedShare === 0) flagged = k > 0;
    else if (bandPValue !== null) flagged = bandPValue < alphaPerTest;
    else flagged = false; // a sole backend expected at 100%: anyone else answering is the failover finding.
    return {
      backend: b.name,
      expectedShare: b.expectedShare,
      observedCount: k,
      observedShare,
      interval: { low: ci.low, high: ci.high, confidence: 1 - 2 * okLevelPerSide },
      pValue,
      bandPValue,
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

  const weightedIndexes = expectedShares.map((s, i) => (isWeighted(s) ? i : -1)).filter((i) => i >= 0);
  const resolutionInPoints = n === 0 || weightedIndexes.length === 0
    ? null
    : math.max(...weightedIndexes.map((i) => shareResolutionInPoints(math.min(nEffective, math.round(answeredOf(backends[i]!.name) / phi)), nEffective, expectedShares[i]!, okLevelPerSide)));
  let deadBackendRuledOut = resolutionInPoints !== null && resolutionInPoints < math.min(...weightedIndexes.map((i) => expectedShares[i]!)) * 100;
  const tolerance = toleranceInPoints / 100;
  const hasBackup = expectedShares.some((s) => s === 0);
  const backupRuledOutAt = tolerance > 0 && tolerance < 1 ? math.ceil(math.log(beta) / math.log1p(-tolerance)) : 1;
  const shown = n > 0
    && weightedIndexes.every((i) => isWithinBand(math.min(nEffective, math.round(answeredOf(backends[i]!.name) / phi)), nEffective, expectedShares[i]!, toleranceInPoints, okLevelPerSide))
    && (!(hasBackup || weightedIndexes.length === 0) || n >= backupRuledOutAt);

  let status: VerdictStatus;
  let decidedBy: DecidedBy = 'fixed-n';
  let probesNeeded: number | null = null;
  let pendingDrift = false;
  const sequential = input.sequential;
  if (n === 0 && sequential?.state !== 'drift') {
    status = 'no-data';
  } else if (sequential?.state === 'drift') {
    status = 'drift';
    decidedBy = 'sequential-drift';
  } else if (failover !== null || assessed.some((a) => a.flagged)) {
    status = 'drift';
  } else if (sequential?.state === 'ok') {
    status = 'ok';
    decidedBy = 'sequential-equivalence';
  } else if (shown) {
    status = 'ok';
  } else {
    status = 'inconclusive';
    // Normal approximation, only to size probesNeeded (the verdict itself is exact).
    const zOk = normalQuantileUpper(okLevelPerSide);
    const zDrift = normalQuantileUpper(alphaPerTest / 2);
    let neededN = hasBackup || weightedIndexes.length === 0 ? backupRuledOutAt : 0;
    for (const i of weightedIndexes) {
      const a = assessed[i]!;
      const p0 = a.expectedShare;
      const deviation = math.abs((a.observedShare ?? p0) - p0);
      const variance = p0 * (1 - p0);
      const gap = tolerance - deviation;
      if (gap > 1e-9) neededN = math.max(neededN, (zOk * zOk * variance) / (gap * gap));
      else if (-gap > 1e-9) {
        pendingDrift = true;
        neededN = math.max(neededN, (zDrift * zDrift * variance) / (gap * gap));
      } else neededN = INFINITY;
    }
    neededN = math.ceil(neededN * phi);
    probesNeeded = number.isFinite(neededN) ? math.max(1, neededN - n) : null;
  }

  // Mostly refused by the gateway's token limit (APIM's own 429 before any backend is chosen): the verifier was
  // throttled, so the window neither shows drift nor proves anything about the pool (issue 17). A backup that did
  // answer stays a failover fact.
  const throttled = evidence.gatewayThrottled?.count ?? 0;
  const mostlyThrottled = throttled > 0 && throttled * 2 > evidence.total;
  if (mostlyThrottled) {
    status = 'inconclusive';
    decidedBy = 'fixed-n';
    probesNeeded = null;
    pendingDrift = false;
    deadBackendRuledOut = false;
    assessed = assessed.map((a) => ({ ...a, flagged: false }));
  }
  const meaning = mostlyThrottled
    ? `Not decided: the gateway's token limit throttled ${plural(throttled, 'probe')} of ${formatCount(evidence.total)} ${where} (APIM answered 429 itself, before choosing a backend), so the verifier's probes were refused, not a backend; the split is judged once probes get through again.`
    : describeMeaning({ status, decidedBy, n, toleranceInPoints, resolutionInPoints, deadBackendRuledOut, probesNeeded, pendingDrift, sequential, failover, beta });
  const explanations = explain({ input, where, n, nEffective, phi, alphaPerTest, toleranceInPoints, assessed, failover, status, probesNeeded, meaning });
  return {
    window: label,
    status,
    sampleSize: n,
    alpha,
    toleranceInPoints,
    backends: assessed,
    failover,
    probesNeeded,
    decidedBy,
    resolutionInPoints,
    deadBackendRuledOut,
    meaning,
    explanations,
  };
}

interface MeaningContext {
  readonly status: VerdictStatus;
  readonly decidedBy: DecidedBy;
  readonly n: number;
  readonly toleranceInPoints: number;
  readonly resolutionInPoints: number | null;
  readonly deadBackendRuledOut: boolean;
  readonly probesNeeded: number | null;
  readonly pendingDrift: boolean;
  readonly sequential: SequentialVerdict | undefined;
  readonly failover: FailoverFinding | null;
  readonly beta: number;
}

/** One sentence: what this verdict establishes, and what it does not. */
function describeMeaning(ctx: MeaningContext): string {
  const tol = formatPoints(ctx.toleranceInPoints);
  const confidence = `${formatPoints((1 - ctx.beta) * 100)}%`;
  const more = ctx.probesNeeded === null ? 'more answers are needed' : `about ${plural(ctx.probesNeeded, 'more answer')} needed`;
  const resolution = ctx.resolutionInPoints === null ? null : formatPoints(math.ceil(ctx.resolutionInPoints * 10) / 10);
  switch (ctx.status) {
    case 'no-data':
      return 'Nothing established: no identified answer.';
    case 'drift':
      if (ctx.decidedBy === 'sequential-drift') {
        return `Drift: the sequential test stopped the run on drift after ${plural(ctx.sequential?.identified ?? ctx.n, 'identified answer')} (a share is off by more than ±${tol} points, or a backup answered); answers that were still in flight cannot undo a stop decision.`;
      }
      if (ctx.failover !== null) return 'Failover: a backend that should get no traffic answered.';
      return `Drift: a share is off by more than ±${tol} points (exact test of the tolerance band at this window's α).`;
    case 'ok':
      if (ctx.decidedBy === 'sequential-equivalence') {
        return `Every share is within ±${tol} points of its weight (${confidence} confidence, always-valid sequential test; stopped after ${plural(ctx.sequential?.identified ?? ctx.n, 'identified answer')}).`;
      }
      return `Every share is within ±${tol} points of its weight (${confidence} confidence; no share off by more than ${resolution ?? '?'} points).`;
    case 'inconclusive': {
      if (resolution === null) return `Not decided: ${more} to confirm that no backup answers.`;
      const ruledOut = ctx.deadBackendRuledOut
        ? `No backend is missing: no share is off by more than ${resolution} points (each bound at ${confidence} confidence)`
        : `Too few answers to rule out a missing backend: shares are pinned only to ±${resolution} points`;
      return ctx.pendingDrift
        ? `${ruledOut}; a share is more than ±${tol} points off but not significantly yet: ${more} to decide.`
        : `${ruledOut}; shares not yet pinned within ±${tol} points: ${more} to confirm.`;
    }
  }
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
  readonly meaning: string;
}

/** The deviation (points) beyond which this window flags a backend (band test at alpha/K), or null if none can. */
function flagBandInPoints(nEffective: number, expectedShare: number, alphaPerTest: number, toleranceInPoints: number): number | null {
  if (nEffective === 0) return null;
  const flags = (k: number): boolean => bandTestPValue(k, nEffective, expectedShare, toleranceInPoints) < alphaPerTest;
  const sides: number[] = [];
  // Above: the smallest flagged count (flags are monotone in k on each side of the mean).
  let low = math.ceil(nEffective * expectedShare);
  let high = nEffective + 1;
  while (low < high) {
    const mid = math.floor((low + high) / 2);
    if (flags(mid)) high = mid;
    else low = mid + 1;
  }
  if (low <= nEffective) sides.push((low / nEffective - expectedShare) * 100);
  // Below: the largest flagged count.
  let a = -1;
  let b = math.floor(nEffective * expectedShare);
  while (a < b) {
    const mid = math.ceil((a + b) / 2);
    if (flags(mid)) a = mid;
    else b = mid - 1;
  }
  if (a >= 0) sides.push((expectedShare - a / nEffective) * 100);
  if (sides.length === 0) return null;
  return math.max(...sides);
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
      band = width === null ? ' (too few answers to flag any split at this sample size)' : ` (flagged beyond ±${formatPoints(width)} points at this sample size)`;
    }
    const flag = a.flagged
      ? ` — drift, off by ${formatPoints(Math.abs(a.deviationInPoints ?? 0))} points, more than the ±${formatPoints(ctx.toleranceInPoints)}-point tolerance (p = ${formatPValue(a.bandPValue ?? 1)})`
      : '';
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
  const throttled = evidence.gatewayThrottled?.count ?? 0;
  if (throttled > 0) failures.push(`${formatCount(throttled)} ${throttled === 1 ? 'was' : 'were'} throttled by the gateway's token limit (not a backend error)`);
  if (failures.length > 0) sentences.push(`Of all ${plural(evidence.total, 'probe')} ${where}, ${joinList(failures)}.`);
  const failed = Object.values(evidence.errors.byStatus).reduce((s, c) => s + c, 0) + evidence.errors.timeout + evidence.errors.network + throttled;
  const lost = evidence.total - evidence.answered - failed;
  if (lost > 0) sentences.push(`${plural(lost, 'probe')} ${where} have no recorded outcome (lost).`);
  if (evidence.incompleteRuns > 0) sentences.push(`${plural(evidence.incompleteRuns, 'run')} ${where} never finished.`);
  if (evidence.degraded !== undefined) sentences.push(`The data is incomplete: ${evidence.degraded}.`);
  if (ctx.phi > 1) {
    sentences.push(`Answers are over-dispersed (φ = ${ctx.phi.toFixed(2)}), so the tests count them as ${formatCount(ctx.nEffective)} independent answers.`);
  }
  if (ctx.status !== 'no-data') sentences.push(ctx.meaning);
  return sentences;
}
