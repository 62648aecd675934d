import type { AlertLogEntry, AlertState } from '../alerts/types';
import type { ConfigDriftReport, DeployOutcome, PolicyFinding } from '../deploy/types';
import type { ResolvedPool } from '../pool/types';
import { buildHistory } from '../report/buildHistory';
import { buildReport } from '../report/buildReport';
import type { Report } from '../report/types';
import { assessWindow } from '../stats/assessWindow';
import { dispersionIndex } from '../stats/dispersion';
import { planSampleSize } from '../stats/planSampleSize';
import { OK_MISS_RATE, planEquivalenceSize } from '../stats/equivalence';
import type { Assessment, SequentialVerdict } from '../stats/types';
import type { RunCounts, WindowEvidence } from '../store/types';

/** One window to judge: its evidence and its share of the false-alarm budget. */
export interface WindowToAssess {
  /** `run`, `hour` or `day`. */
  readonly name: string;
  readonly evidence: WindowEvidence;
  readonly alpha: number;
  /** Words for explanations, e.g. "in the last hour". */
  readonly description: string;
  /** The run's sequential stop decision (drift or ok), final for this window's verdict (see assessWindow). */
  readonly sequential?: SequentialVerdict | undefined;
}

/** Inputs of {@link assembleReport}. Pure data: the caller gathered it. */
export interface AssembleReportInput {
  /** The expectation: declared pool (deploy mode) or deployed pool (verify-only mode). */
  readonly pool: ResolvedPool;
  readonly windows: readonly WindowToAssess[];
  readonly primaryWindow: string;
  readonly generatedAtMs: number;
  readonly toleranceInPoints: number;
  /** φ above which the independence assumption is flagged and standard errors are inflated. */
  readonly dispersionWarn: number;
  readonly probesPerRun: number;
  readonly runsPerHour: number;
  readonly lastDeploy: DeployOutcome | null;
  readonly configDrift: ConfigDriftReport | null;
  readonly policy: readonly PolicyFinding[];
  readonly alerts: { readonly state: AlertState | null; readonly recent: readonly AlertLogEntry[] };
  /**
   * Each recorded run's own verdict (run id → `ok`, `drift` …). When given, φ is calibrated on runs judged `ok` or
   * `inconclusive` (not drift, not empty); otherwise on every run of the longest window.
   */
  readonly runVerdicts?: ReadonlyMap<string, string>;
  /** Why the latest run never reached the pool, if it did not (see `BuildReportInput.blind`). */
  readonly blind?: string | null;
}

/**
 * Drift sizes the probe-budget planner reports on, in percentage points. Above the default 5-point tolerance:
 * a drift exactly at the tolerance cannot be flagged reliably at any sample size.
 */
const PLANNED_DRIFTS_IN_POINTS = [7, 10, 15] as const;
/** Power the planner sizes for (docs/statistics.md). */
const PLANNED_POWER = 0.95;

/**
 * Judges every window against the pool's expected shares and assembles the report.
 * φ (dispersion) is estimated from the per-run counts of the longest window; when it exceeds `dispersionWarn`
 * every window is judged again with standard errors inflated by √φ (docs/statistics.md, "Over-dispersion").
 */
export function assembleReport(input: AssembleReportInput): Report {
  const backends = input.pool.backends.map((b) => ({
    name: b.name,
    priority: b.priority,
    expectedShare: b.expectedShare,
    isPrimary: b.isPrimary,
    region: b.region,
  }));
  const longest = [...input.windows].sort((a, b) => spanOf(b.evidence) - spanOf(a.evidence))[0];
  const dispersion = calibrate(longest?.evidence.runs ?? [], input.pool, input.runVerdicts);
  const inflate = dispersion.phi !== null && dispersion.phi > input.dispersionWarn ? dispersion.phi : undefined;

  const judge = (w: WindowToAssess, evidence: WindowEvidence): Assessment =>
    assessWindow({
      label: w.name,
      backends,
      evidence: withAuthRejectionsAsAnswers(evidence),
      options: {
        alpha: w.alpha,
        toleranceInPoints: input.toleranceInPoints,
        ...(inflate !== undefined ? { dispersion: inflate } : {}),
      },
      windowDescription: w.description,
      ...(w.sequential ? { sequential: w.sequential } : {}),
    });

  // The run window is judged first: its verdict decides whether its answers count in the pooled windows.
  const verdicts = new Map(input.runVerdicts ?? []);
  const runWindow = input.windows.find((w) => w.name === 'run');
  const runAssessment = runWindow ? judge(runWindow, runWindow.evidence) : undefined;
  if (runWindow && runAssessment) for (const run of runWindow.evidence.runs) verdicts.set(run.runId, runAssessment.status);

  const judged = input.windows.map((w) => {
    if (w === runWindow && runAssessment) return { name: w.name, evidence: w.evidence, assessment: runAssessment };
    const { evidence, excludedRuns, excludedAnswers } = withoutFlaggedRuns(w.evidence, verdicts);
    const assessment = judge(w, evidence);
    if (excludedRuns === 0) return { name: w.name, evidence, assessment };
    const note =
      `${excludedAnswers} ${excludedAnswers === 1 ? 'answer' : 'answers'} of ${excludedRuns} ${excludedRuns === 1 ? 'run' : 'runs'} judged on ${excludedRuns === 1 ? 'its' : 'their'} own ` +
      `(see the run verdicts and alerts) ${excludedAnswers === 1 ? 'is' : 'are'} left out of this window, which judges the steady state.`;
    // The report counts every probe of the window (total); the shares leave the flagged runs' answers out.
    return {
      name: w.name,
      evidence: { ...evidence, total: w.evidence.total },
      assessment: { ...assessment, explanations: [...assessment.explanations, note] },
      leftOut: { runs: excludedRuns, answers: excludedAnswers },
    };
  });
  const history = buildHistory({
    windows: input.windows,
    primaryWindow: input.primaryWindow,
    backends: input.pool.backends.map((b) => b.name),
    runVerdicts: verdicts,
    alerts: input.alerts,
    nowMs: input.generatedAtMs,
  });

  const primaryShares = input.pool.backends.filter((b) => b.isPrimary).map((b) => b.expectedShare);
  const plan = primaryShares.length >= 2
    ? input.windows.flatMap((w) =>
        PLANNED_DRIFTS_IN_POINTS.map((driftInPoints) => {
          const needed = planSampleSize({
            expectedShares: primaryShares,
            driftInPoints,
            alpha: w.alpha,
            power: PLANNED_POWER,
            toleranceInPoints: input.toleranceInPoints,
          }).fixedN;
          const available = probesIn(w.name, input.probesPerRun, input.runsPerHour);
          return { driftInPoints, window: w.name, probesNeeded: needed, detectable: available >= needed };
        }),
      )
    : [];

  // How many answers the hour window needs for a pool that follows its weights to be shown `ok` (power 0.95), and
  // what that takes per run at the configured pace: the budget the timer is sized by (docs/statistics.md).
  const expectedShares = input.pool.backends.map((b) => b.expectedShare);
  const okAnswersNeeded = planEquivalenceSize({ expectedShares, toleranceInPoints: input.toleranceInPoints, power: PLANNED_POWER, missRate: OK_MISS_RATE });
  const equivalence = {
    window: 'hour',
    toleranceInPoints: input.toleranceInPoints,
    power: PLANNED_POWER,
    answersNeeded: okAnswersNeeded,
    probesPerRunNeeded: Number.isFinite(okAnswersNeeded) ? Math.ceil(okAnswersNeeded / Math.max(1, input.runsPerHour)) : okAnswersNeeded,
    reachable: probesIn('hour', input.probesPerRun, input.runsPerHour) >= okAnswersNeeded,
  };

  return buildReport({
    pool: input.pool,
    generatedAtMs: input.generatedAtMs,
    primaryWindow: input.primaryWindow,
    windows: judged,
    lastDeploy: input.lastDeploy,
    configDrift: input.configDrift,
    policy: input.policy,
    alerts: input.alerts,
    ...(input.blind ? { blind: input.blind } : {}),
    dispersion: { phi: dispersion.phi, runs: dispersion.runs, warnAbove: input.dispersionWarn },
    budget: { probesPerRun: input.probesPerRun, runsPerHour: input.runsPerHour, plan, equivalence },
    history,
  });
}

/**
 * A 401/403 that names its backend (the identifying header is on the answer) is that backend answering: the gateway
 * selected it as the weights say, and the backend refused the gateway's managed identity (a missing role
 * assignment). The lab's retry policy does not retry 401/403, so these answers do not shift the split. For the
 * weight check they count as that backend's answers; the auth failure itself is its own finding and health, so the
 * report says "auth failure", not "weight drift" (issue: the verifier must not mistake one for the other).
 * 429 and 5xx stay out: those are retried on other members or trip breakers, which really shifts traffic.
 */
export function withAuthRejectionsAsAnswers(evidence: WindowEvidence): WindowEvidence {
  let added = 0;
  const backends = evidence.backends.map((b) => {
    const rejected = (b.errorsByStatus['401'] ?? 0) + (b.errorsByStatus['403'] ?? 0);
    added += rejected;
    return rejected === 0 ? b : { ...b, answered: b.answered + rejected };
  });
  if (added === 0) return evidence;
  return { ...evidence, answered: evidence.answered + added, backends };
}

/**
 * Pooled windows (hour, day) exist to catch drifts too small for one run to see. A run that was flagged on its own
 * is already an incident of the run window; keeping its answers in the pooled windows would keep them flagged for a
 * day after the incident ended, and no recovery could be announced. Its 2xx answers are therefore taken out of the
 * shares (failures, latency and the timeline keep everything). Under a healthy pool runs are flagged with
 * probability α, so the selection hardly moves the pooled estimate.
 */
export function withoutFlaggedRuns(
  evidence: WindowEvidence,
  verdicts: ReadonlyMap<string, string>,
): { evidence: WindowEvidence; excludedRuns: number; excludedAnswers: number } {
  const flagged = evidence.runs.filter((run) => verdicts.get(run.runId) === 'drift');
  if (flagged.length === 0) return { evidence, excludedRuns: 0, excludedAnswers: 0 };
  const removed = new Map<string, number>();
  for (const run of flagged) for (const [name, count] of Object.entries(run.answered)) removed.set(name, (removed.get(name) ?? 0) + count);
  let removedTotal = 0;
  const backends = evidence.backends.map((b) => {
    const take = Math.min(b.answered, removed.get(b.backend) ?? 0);
    removedTotal += take;
    return { ...b, answered: b.answered - take };
  });
  return {
    evidence: {
      ...evidence,
      // The removed answers leave `total` too: otherwise total − answered − failed would count them as probes
      // with no outcome ("lost"), which they are not.
      total: Math.max(0, evidence.total - removedTotal),
      answered: Math.max(0, evidence.answered - removedTotal),
      backends,
      runs: evidence.runs.filter((run) => verdicts.get(run.runId) !== 'drift'),
    },
    excludedRuns: flagged.length,
    excludedAnswers: removedTotal,
  };
}

/**
 * φ from healthy runs, centred on their own pooled shares. Why not all runs against the expected shares: a real
 * drift (or a window that changes from healthy to broken) would then read as over-dispersion, inflate every
 * standard error and mask itself. φ is a check of the independence assumption, not of the weights.
 */
function calibrate(runs: readonly RunCounts[], pool: ResolvedPool, runVerdicts: ReadonlyMap<string, string> | undefined): { phi: number | null; runs: number } {
  // A healthy run of the default size is `inconclusive` (it cannot pin shares within the tolerance on its own).
  const healthy = runVerdicts ? runs.filter((run) => ['ok', 'inconclusive'].includes(runVerdicts.get(run.runId) ?? '')) : runs;
  const primary = pool.backends.filter((b) => b.isPrimary && b.expectedShare > 0).map((b) => b.name);
  const totals = primary.map((name) => healthy.reduce((sum, run) => sum + (run.answered[name] ?? 0), 0));
  const all = totals.reduce((a, b) => a + b, 0);
  if (all === 0) return { phi: null, runs: healthy.length };
  const centre = Object.fromEntries(primary.map((name, i) => [name, (totals[i] ?? 0) / all]).filter(([, share]) => (share as number) > 0 && (share as number) < 1));
  if (Object.keys(centre).length < 2) return { phi: null, runs: healthy.length };
  return dispersionIndex(healthy, centre);
}

function spanOf(evidence: WindowEvidence): number {
  return evidence.window.toMs - evidence.window.fromMs;
}

/** Probes a window collects at the configured pace (the run window: one run). */
function probesIn(windowName: string, probesPerRun: number, runsPerHour: number): number {
  if (windowName === 'hour') return probesPerRun * runsPerHour;
  if (windowName === 'day') return probesPerRun * runsPerHour * 24;
  return probesPerRun;
}
