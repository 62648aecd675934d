import type { AlertLogEntry, AlertState } from '../alerts/types';
import type { ConfigDriftReport, DeployOutcome, PolicyFinding } from '../deploy/types';
import type { ResolvedBackend, ResolvedPool } from '../pool/types';
import type { Assessment, BackendAssessment, FailoverFinding } from '../stats/types';
import type { BackendEvidence, WindowEvidence } from '../store/types';
import { countOf, describeWindow, formatCount, formatPercent, formatPoints, formatPValue, labelBackends } from './format';
import { gatewayTokenFindings, toGatewayThrottled, toTokenUse } from './gatewayTokens';
import { healthOf } from './healthOf';
import type {
  Report,
  ReportBackend,
  ReportBudget,
  ReportBudgetEquivalence,
  ReportDispersion,
  ReportFinding,
  ReportHistory,
  ReportWindow,
  ReportWindowVerdict,
} from './types';

export { healthOf } from './healthOf';
export { isConclusive } from './isConclusive';
export { toRunVerdictTelemetry } from './toRunVerdictTelemetry';

/** One evaluated window: its evidence and the verdict the statistics produced from it. */
export interface ReportWindowInput {
  readonly name: string;
  readonly evidence: WindowEvidence;
  readonly assessment: Assessment;
  /** Runs judged on their own that this pooled window leaves out of its shares, with their answers. */
  readonly leftOut?: { readonly runs: number; readonly answers: number };
}

/** Everything a report is built from. Carries no secret, so the report cannot leak one. */
export interface BuildReportInput {
  readonly pool: ResolvedPool;
  readonly generatedAtMs: number;
  /** `run` | `hour` | `day` (any window name present in `windows`). */
  readonly primaryWindow: string;
  readonly windows: readonly ReportWindowInput[];
  readonly lastDeploy: DeployOutcome | null;
  readonly configDrift: ConfigDriftReport | null;
  readonly policy: readonly PolicyFinding[];
  readonly alerts: { readonly state: AlertState | null; readonly recent: readonly AlertLogEntry[] };
  /**
   * Set when the latest run never reached the pool (connection refused, DNS, TLS, the gateway refusing this verifier's
   * key or URL): why. The report is then `blind` — about the verifier, never "the pool answered nothing".
   */
  readonly blind?: string | null;
  readonly dispersion?: { readonly phi: number | null; readonly runs: number; readonly warnAbove: number } | null;
  readonly budget?: {
    readonly probesPerRun: number;
    readonly runsPerHour: number;
    readonly plan: readonly { readonly driftInPoints: number; readonly window: string; readonly probesNeeded: number; readonly detectable: boolean }[];
    readonly equivalence?: ReportBudgetEquivalence | undefined;
  } | null;
  /** A note from the caller about evidence it could not read (e.g. "day window: query timed out"). */
  readonly errorsNote?: string | null;
  /** Share over a span longer than one run, with incident periods (see `buildHistory`). */
  readonly history?: ReportHistory | null;
}

const EMPTY_ERRORS = { byStatus: {}, timeout: 0, network: 0 } as const;

/**
 * Builds the report served as JSON and rendered as HTML. Pure: no clock, no I/O.
 *
 * The primary window decides `status`; when it is missing from `windows` (its evidence could not be read) the
 * report says `no-data` and names the gap in `dataSource.degraded` instead of throwing. Findings are derived
 * from every window (weight drift per window, failover once), the deployed-vs-declared differences, the last
 * deploy, the policy check, errors per backend, unidentified answers, dispersion and degraded data.
 */
export function buildReport(input: BuildReportInput): Report {
  const { pool } = input;
  const labels = labelBackends(pool.backends);
  const primary = input.windows.find((w) => w.name === input.primaryWindow) ?? null;
  const generatedAt = new Date(input.generatedAtMs).toISOString();

  const backends = pool.backends.map((b) => mergeBackend(b, primary));
  const findings = deriveFindings(input, primary, labels);
  const gatewayThrottled = primary ? toGatewayThrottled(primary.evidence) : undefined;
  const limitPerMinute = pool.probe.tokenLimitPerMinute;
  const tokenUse =
    primary && (primary.evidence.tokensUsed > 0 || limitPerMinute !== undefined)
      ? toTokenUse(primary.name, primary.evidence, input.budget?.probesPerRun, limitPerMinute)
      : undefined;
  if (primary) findings.push(...gatewayTokenFindings(primary.name, primary.evidence, tokenUse));
  const degradedNotes = collectDegraded(input, primary);
  const dispersion = toDispersion(input.dispersion);
  const budget = toBudget(input.budget);

  const trafficWindow = input.windows.find((w) => w.name === 'all-traffic');
  const window: ReportWindow = primary
    ? toReportWindow(primary.name, primary.evidence.window.fromMs, primary.evidence.window.toMs)
    : toReportWindow(input.primaryWindow, input.generatedAtMs, input.generatedAtMs);

  const base = {
    schemaVersion: 1 as const,
    generatedAt,
    pool: pool.name,
    status: primary ? primary.assessment.status : ('no-data' as const),
    window,
    total: primary?.evidence.total ?? 0,
    unidentified: primary?.evidence.unidentified ?? { count: 0, values: {} },
    backends,
    failover: primary?.assessment.failover ?? null,
    errors: primary?.evidence.errors ?? EMPTY_ERRORS,
    windows: input.windows.map(toWindowVerdict),
    findings,
    lastDeploy: input.lastDeploy,
    configDrift: input.configDrift,
    policy: input.policy,
    alerts: input.alerts,
    timeline: primary ? toTimeline(primary.evidence, pool.backends) : [],
    dataSource: {
      kind: primary?.evidence.source ?? 'none',
      degraded: degradedNotes.length > 0 ? degradedNotes.join(' ') : null,
      ...(primary?.evidence.completeness === undefined
        ? {}
        : {
            completeUpTo: new Date(primary.evidence.completeness.completeUpToMs).toISOString(),
            arrivingRuns: primary.evidence.completeness.arriving,
          }),
      ...(trafficWindow === undefined
        ? {}
        : {
            allTraffic: {
              status: trafficWindow.assessment.status,
              conclusive: trafficWindow.assessment.status === 'ok' || trafficWindow.assessment.status === 'drift',
              requests: trafficWindow.evidence.total,
            },
          }),
    },
    budget,
    dispersion,
    history: input.history ?? null,
    dataAsOf: dataAsOf(input, primary),
    ...(gatewayThrottled ? { gatewayThrottled } : {}),
    ...(tokenUse ? { tokenUse } : {}),
  };
  const health = healthOf(base);
  const headline = buildHeadline(input, primary, backends, labels, health, findings);
  return { ...base, headline, health };
}

function toReportWindow(name: string, fromMs: number, toMs: number): ReportWindow {
  return { name, fromMs, toMs, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
}

function toWindowVerdict(w: ReportWindowInput): ReportWindowVerdict {
  return {
    name: w.name,
    from: new Date(w.evidence.window.fromMs).toISOString(),
    to: new Date(w.evidence.window.toMs).toISOString(),
    status: w.assessment.status,
    sampleSize: w.assessment.sampleSize,
    total: w.evidence.total,
    alpha: w.assessment.alpha,
    explanations: w.assessment.explanations,
    probesNeeded: w.assessment.probesNeeded,
    decidedBy: w.assessment.decidedBy,
    decidedByText: describeDecidedBy(w.assessment),
    resolutionInPoints: w.assessment.resolutionInPoints,
    deadBackendRuledOut: w.assessment.deadBackendRuledOut,
    meaning: w.assessment.meaning,
    tokensUsed: w.evidence.tokensUsed,
    ...(w.leftOut && w.leftOut.runs > 0 ? { leftOut: w.leftOut } : {}),
  };
}

/**
 * When the newest evidence was recorded: the end of the latest run when the run window is known, otherwise the
 * end of the newest bin with a probe in any window (never later than the report itself). Null with no evidence.
 */
function dataAsOf(input: BuildReportInput, primary: ReportWindowInput | null): string | null {
  const run = input.windows.find((w) => w.name === 'run' && w.evidence.total > 0);
  let latest = run ? run.evidence.window.toMs - 1 : Number.NEGATIVE_INFINITY;
  if (!run) {
    for (const w of primary ? [primary, ...input.windows] : input.windows) {
      for (const bin of w.evidence.bins) {
        const probes = Object.values(bin.answered).reduce((s, n) => s + n, 0) + bin.unidentified + bin.failed;
        if (probes > 0) latest = Math.max(latest, Math.min(bin.startMs + w.evidence.binInMs, input.generatedAtMs));
      }
    }
  }
  return Number.isFinite(latest) ? new Date(latest).toISOString() : null;
}

/** The rule that decided a window, in words (docs/statistics.md, "Which rule decided"). */
export function describeDecidedBy(a: Pick<Assessment, 'decidedBy' | 'sampleSize' | 'alpha'>): string {
  switch (a.decidedBy) {
    case 'sequential-drift':
      return `the always-valid sequential test stopped the run on drift (α = ${a.alpha}); answers still in flight were recorded but cannot undo it`;
    case 'sequential-equivalence':
      return 'the always-valid sequential test stopped the run on equivalence (every share pinned within the tolerance at 95%)';
    default:
      return `the fixed-N exact tests on all ${formatCount(a.sampleSize)} identified answers (drift beyond the tolerance at α = ${a.alpha}; ok when every share's interval is inside the tolerance)`;
  }
}

function mergeBackend(b: ResolvedBackend, primary: ReportWindowInput | null): ReportBackend {
  const evidence: BackendEvidence | undefined = primary?.evidence.backends.find((e) => e.backend === b.name);
  const assessment: BackendAssessment | undefined = primary?.assessment.backends.find((a) => a.backend === b.name);
  const observedCount = assessment?.observedCount ?? evidence?.answered ?? 0;
  let observedShare = assessment?.observedShare ?? null;
  if (!assessment && primary) {
    // Backends outside the assessed group (e.g. a priority-2 backup) still get a share of identified answers.
    const identified = primary.evidence.backends.reduce((sum, e) => sum + e.answered, 0);
    observedShare = identified > 0 ? observedCount / identified : null;
  }
  return {
    name: b.name,
    region: b.region ?? null,
    priority: b.priority,
    weight: b.weight ?? null,
    expectedShare: b.expectedShare,
    observedCount,
    observedShare,
    interval: assessment?.interval ?? null,
    pValue: assessment?.pValue ?? null,
    deviationInPoints: assessment?.deviationInPoints ?? (observedShare === null ? null : (observedShare - b.expectedShare) * 100),
    flagged: assessment?.flagged ?? false,
    errorsByStatus: evidence?.errorsByStatus ?? {},
    latencyP50InMs: evidence?.latencyP50InMs ?? null,
    latencyP95InMs: evidence?.latencyP95InMs ?? null,
  };
}

function toTimeline(evidence: WindowEvidence, backends: readonly ResolvedBackend[]): Report['timeline'] {
  return evidence.bins.map((bin) => {
    const answered = backends.reduce((sum, b) => sum + (bin.answered[b.name] ?? 0), 0);
    const shares: Record<string, number | null> = {};
    for (const b of backends) {
      shares[b.name] = answered > 0 ? (bin.answered[b.name] ?? 0) / answered : null;
    }
    return { startMs: bin.startMs, shares, answered };
  });
}

function toDispersion(d: BuildReportInput['dispersion']): ReportDispersion | null {
  if (!d) return null;
  return { phi: d.phi, runs: d.runs, warnAbove: d.warnAbove, overdispersed: d.phi !== null && d.phi > d.warnAbove };
}

function toBudget(b: BuildReportInput['budget']): ReportBudget | null {
  if (!b) return null;
  return {
    probesPerRun: b.probesPerRun,
    runsPerHour: b.runsPerHour,
    probesPerHour: b.probesPerRun * b.runsPerHour,
    plan: b.plan,
    ...(b.equivalence ? { equivalence: b.equivalence } : {}),
  };
}

function collectDegraded(input: BuildReportInput, primary: ReportWindowInput | null): string[] {
  const notes: string[] = [];
  if (!primary) {
    notes.push(`The ${input.primaryWindow} window is missing from the evidence.`);
  }
  for (const w of input.windows) {
    if (w.evidence.degraded) notes.push(`${w.name} window: ${w.evidence.degraded}`);
  }
  if (input.errorsNote) notes.push(input.errorsNote);
  return notes;
}

function deriveFindings(input: BuildReportInput, primary: ReportWindowInput | null, labels: ReadonlyMap<string, string>): ReportFinding[] {
  const findings: ReportFinding[] = [];
  const label = (name: string): string => labels.get(name) ?? name;

  // Weight drift: every window has its own false-alarm budget, so a flag in any window is alert-worthy.
  for (const w of input.windows) {
    // A backup answering is the failover finding below, reported once: not also a weight drift.
    for (const a of w.assessment.backends) {
      if (!a.flagged || a.observedShare === null || a.expectedShare === 0) continue;
      findings.push({
        kind: 'weight-drift',
        severity: 'alert',
        backend: a.backend,
        message:
          `${label(a.backend)} answered ${formatPercent(a.observedShare)} of ${countOf(w.assessment.sampleSize, 'answer')} ` +
          `${describeWindow(w.name)}; expected ${formatPercent(a.expectedShare)} (${formatPoints(a.deviationInPoints)}, more than the ` +
          `±${w.assessment.toleranceInPoints}-point tolerance: ${formatPValue(a.bandPValue ?? a.pValue)}).`,
      });
    }
    const anyFlagged = w.assessment.backends.some((a) => a.flagged);
    if (w.assessment.decidedBy === 'sequential-drift' && !anyFlagged && (w.assessment.failover?.count ?? 0) === 0) {
      const shares = w.assessment.backends
        .filter((a) => a.expectedShare > 0 && a.observedShare !== null)
        .map((a) => `${label(a.backend)} ${formatPercent(a.observedShare)} (expected ${formatPercent(a.expectedShare)})`)
        .join(', ');
      findings.push({
        kind: 'weight-drift',
        severity: 'alert',
        message: `The sequential test stopped ${describeWindow(w.name)} on drift; over all ${countOf(w.assessment.sampleSize, 'answer')}: ${shares}. ${w.assessment.meaning}`,
      });
    }
  }

  // Failover: reported once, from the primary window if it saw one, otherwise from the first window that did.
  const failoverWindow = [primary, ...input.windows].find((w): w is ReportWindowInput => !!w && (w.assessment.failover?.count ?? 0) > 0);
  if (failoverWindow?.assessment.failover) {
    findings.push(...failoverFindings(failoverWindow.assessment.failover, failoverWindow, label));
  }

  if (input.configDrift) {
    for (const d of input.configDrift.differences) {
      findings.push({
        kind: 'config-drift',
        severity: 'alert',
        backend: d.resource,
        message: `Deployed ${d.resource} ${d.field} is ${formatValue(d.deployed)}; declared ${formatValue(d.declared)}.`,
      });
    }
    if (input.configDrift.error) {
      findings.push({
        kind: 'config-drift',
        severity: 'warning',
        message: `The deployed definition could not be read (${input.configDrift.error.message}); no difference is claimed.`,
      });
    }
  }

  // Every probe failed. Not when every failure is a 401/403 from the gateway itself: that is this verifier's key
  // (an auth-failure finding), not the pool being down.
  const onlyGatewayAuth =
    primary != null &&
    primary.evidence.errors.timeout === 0 &&
    primary.evidence.errors.network === 0 &&
    Object.keys(primary.evidence.errors.byStatus).every((status) => status === '401' || status === '403') &&
    primary.evidence.backends.every((b) => Object.keys(b.errorsByStatus).length === 0);
  if (input.blind) {
    findings.push({ kind: 'blind', severity: 'alert', message: `The verifier cannot reach the gateway: ${input.blind}` });
  } else if (primary && primary.evidence.total - throttledIn(primary) > 0 && primary.evidence.answered === 0 && !onlyGatewayAuth && !isMostlyThrottled(primary)) {
    // Probes the gateway's token limit refused never reached the pool: they are not outage evidence.
    const { errors } = primary.evidence;
    const failedCount = primary.evidence.total - throttledIn(primary);
    const parts = Object.entries(errors.byStatus)
      .sort((x, y) => y[1] - x[1])
      .map(([status, count]) => `${formatCount(count)} × ${status}`);
    if (errors.timeout > 0) parts.push(`${formatCount(errors.timeout)} timeout(s)`);
    if (errors.network > 0) parts.push(`${formatCount(errors.network)} network failure(s)`);
    findings.push({
      kind: 'outage',
      severity: 'alert',
      message: `${failedCount === 1 ? 'The only probe' : `Every one of the ${countOf(failedCount, 'probe')}`} ${describeWindow(primary.name)}${throttledIn(primary) > 0 ? ' that the gateway did not throttle' : ''} failed (${parts.join(', ') || 'no answer'}): the pool answered nothing, so its split cannot be judged.`,
    });
  }

  if (primary) {
    findings.push(...errorFindings(primary, label));
    findings.push(...hiddenThrottlingFindings(primary, label));
    const { unidentified } = primary.evidence;
    if (unidentified.count > 0) {
      const values = Object.entries(unidentified.values)
        .sort((x, y) => y[1] - x[1])
        .slice(0, 5)
        .map(([value, count]) => `${value === '' ? '(header absent)' : `"${value}"`} × ${formatCount(count)}`)
        .concat(unidentified.otherAnswers ? [`other values × ${formatCount(unidentified.otherAnswers)}`] : [])
        .join(', ');
      findings.push({
        kind: 'unidentified',
        severity: 'warning',
        message:
          `${formatCount(unidentified.count)} of ${formatCount(primary.evidence.answered)} successful answers ${describeWindow(primary.name)} ` +
          `matched no backend (${input.pool.probe.identify.header}: ${values}); they are left out of the shares.`,
      });
    }
  }

  findings.push(...ambiguityFindings(input.pool));

  const dispersion = input.dispersion;
  if (dispersion && dispersion.phi !== null && dispersion.phi > dispersion.warnAbove) {
    findings.push({
      kind: 'overdispersion',
      severity: 'warning',
      message:
        `Dispersion index φ = ${dispersion.phi.toFixed(2)} over ${countOf(dispersion.runs, 'run')} (above ${dispersion.warnAbove}): ` +
        `probes are not independent draws, so standard errors are inflated by √φ = ${Math.sqrt(dispersion.phi).toFixed(2)}. ` +
        'Look for session-affinity cookies, a flapping circuit breaker or two backends in one region.',
    });
  }

  if (input.lastDeploy?.status === 'failed') {
    const failed = input.lastDeploy.actions.filter((a) => a.result === 'failed').map((a) => a.resource);
    const cause = input.lastDeploy.error?.message ?? input.lastDeploy.actions.find((a) => a.error)?.error?.message;
    findings.push({
      kind: 'deploy-failed',
      severity: 'alert',
      message:
        `The last deploy (${input.lastDeploy.finishedAt}) failed` +
        (failed.length > 0 ? ` for ${failed.join(', ')}` : '') +
        (cause ? `: ${cause}` : '.') +
        (cause && !cause.endsWith('.') ? '.' : ''),
    });
  }

  for (const p of input.policy) {
    findings.push({ kind: 'policy', severity: 'warning', message: `Policy (${p.code}): ${p.message}` });
  }

  for (const note of collectDegraded(input, primary)) {
    findings.push({ kind: 'degraded-data', severity: 'warning', message: `Evidence is incomplete: ${note}` });
  }
  if (primary && primary.evidence.incompleteRuns > 0) {
    findings.push({
      kind: 'degraded-data',
      severity: 'info',
      message: `${formatCount(primary.evidence.incompleteRuns)} run(s) ${describeWindow(primary.name)} never finished; their recorded probes are counted.`,
    });
  }
  return findings;
}

/** Probes of the window that the gateway's token limit refused (kind `gateway-throttled`). */
function throttledIn(w: ReportWindowInput): number {
  return w.evidence.gatewayThrottled?.count ?? 0;
}

/** More than half the window's probes were refused by the gateway's token limit (the verdict is then inconclusive). */
function isMostlyThrottled(w: ReportWindowInput): boolean {
  return throttledIn(w) * 2 > w.evidence.total;
}

function failoverFindings(f: FailoverFinding, w: ReportWindowInput, label: (name: string) => string): ReportFinding[] {
  return f.backends.map((b) => ({
    kind: 'failover',
    severity: 'alert' as const,
    backend: b.backend,
    message:
      `${formatCount(b.count)} of ${countOf(w.assessment.sampleSize, 'answer')} ${describeWindow(w.name)} came from priority-${b.priority} ` +
      `backend ${label(b.backend)}, which should get none while the preferred group is available. Possible causes: a preferred ` +
      `backend's circuit breaker was open (throttling or errors), a preferred backend was removed or disabled, or the deployed ` +
      `pool differs from its definition (priorities, weights); the probes alone cannot tell which.`,
  }));
}

/** `429` stays `429`; a 2xx counted as a failure had a body that was not a chat completion. */
function describeFailedStatus(status: string): string {
  return /^2\d\d$/.test(status) ? `${status} with an unusable body` : status;
}

function errorFindings(primary: ReportWindowInput, label: (name: string) => string): ReportFinding[] {
  const findings: ReportFinding[] = [];
  const where = describeWindow(primary.name);
  const attributed: Record<string, number> = {};
  for (const e of primary.evidence.backends) {
    for (const [status, count] of Object.entries(e.errorsByStatus)) {
      attributed[status] = (attributed[status] ?? 0) + count;
    }
    const auth = (e.errorsByStatus['401'] ?? 0) + (e.errorsByStatus['403'] ?? 0);
    if (auth > 0) {
      findings.push({
        kind: 'auth-failure',
        severity: 'alert',
        backend: e.backend,
        message:
          `${label(e.backend)} rejected ${formatCount(auth)} probe(s) ${where} with 401/403: the gateway's managed identity was refused; ` +
          `check the role assignment 'Cognitive Services OpenAI User' on that Azure OpenAI resource.`,
      });
    }
    // Every failed answer except 401/403 (reported above as auth failures); a 2xx here had an unusable body
    // (invalid JSON, empty, too large), which is a failure the report must explain, not drop.
    const parts = Object.entries(e.errorsByStatus)
      .filter(([status]) => status !== '401' && status !== '403')
      .sort((x, y) => Number(x[0]) - Number(y[0]))
      .map(([status, count]) => `${formatCount(count)} × ${describeFailedStatus(status)}`);
    if (parts.length > 0) {
      findings.push({
        kind: 'errors',
        severity: 'warning',
        backend: e.backend,
        message: `${label(e.backend)} answered ${parts.join(', ')} ${where}.`,
      });
    }
  }
  const { errors } = primary.evidence;
  const gatewayAuth = Math.max(0, (errors.byStatus['401'] ?? 0) - (attributed['401'] ?? 0)) + Math.max(0, (errors.byStatus['403'] ?? 0) - (attributed['403'] ?? 0));
  if (gatewayAuth > 0) {
    findings.push({
      kind: 'auth-failure',
      severity: 'alert',
      message: `${formatCount(gatewayAuth)} probe(s) ${where} were rejected with 401/403 before reaching a known backend: check the APIM subscription key the verifier uses.`,
    });
  }
  const unattributed = Object.entries(errors.byStatus)
    .filter(([status]) => status !== '401' && status !== '403')
    .map(([status, count]) => [status, count - (attributed[status] ?? 0)] as const)
    .filter(([, count]) => count > 0)
    .sort((x, y) => Number(x[0]) - Number(y[0]))
    .map(([status, count]) => `${formatCount(count)} × ${describeFailedStatus(status)}`);
  if (errors.timeout > 0) unattributed.push(`${formatCount(errors.timeout)} timeout(s)`);
  if (errors.network > 0) unattributed.push(`${formatCount(errors.network)} network failure(s)`);
  if (unattributed.length > 0) {
    findings.push({
      kind: 'errors',
      severity: 'warning',
      message: `${unattributed.join(', ')} ${where} could not be attributed to a backend (e.g. the gateway's own 503 when every member is unavailable).`,
    });
  }
  return findings;
}

/**
 * A backend flagged below its share with no 429 reaching the probes. Throttling hides from probes twice: the lab's
 * API policy retries a 429 (`<retry condition="…StatusCode == 429…">`), and the retry may land on another member,
 * whose 2xx is what the probe records; once the backend's circuit breaker trips on the 429s, the gateway sends it
 * nothing at all. So the probes only see the share drop. The gateway itself saw every attempt: Azure's
 * ApiManagementGatewayLogs (BackendId, BackendResponseCode: learn.microsoft.com/azure/api-management/gateway-log-schema-reference)
 * or, on the embedded emulator, its access log.
 */
function hiddenThrottlingFindings(primary: ReportWindowInput, label: (name: string) => string): ReportFinding[] {
  const where = describeWindow(primary.name);
  return primary.assessment.backends
    .filter((a) => a.flagged && (a.deviationInPoints ?? 0) < 0)
    .filter((a) => (primary.evidence.backends.find((e) => e.backend === a.backend)?.errorsByStatus['429'] ?? 0) === 0)
    .map((a) => ({
      kind: 'errors',
      severity: 'info' as const,
      backend: a.backend,
      message:
        `${label(a.backend)} answered less than its weight says ${where} (${formatPercent(a.observedShare)}, expected ${formatPercent(a.expectedShare)}) and no 429 reached the probes: ` +
        'a 429 retried by the API policy on another backend reaches the probe as that backend\'s answer, and a tripped circuit breaker sends it nothing, so throttling does not show here. ' +
        "What the gateway saw is in its own logs: ApiManagementGatewayLogs (BackendId, BackendResponseCode) in Azure, or the emulator's access log (/_emulator/access-log) locally.",
    }));
}

function ambiguityFindings(pool: ResolvedPool): ReportFinding[] {
  if (pool.probe.identify.mode !== 'region') return [];
  const byRegion = new Map<string, string[]>();
  for (const b of pool.backends) {
    if (!b.region) continue;
    const key = b.region.toLowerCase().replace(/\s+/g, '');
    byRegion.set(key, [...(byRegion.get(key) ?? []), b.name]);
  }
  return [...byRegion.values()]
    .filter((names) => names.length > 1)
    .map((names) => ({
      kind: 'unidentified',
      severity: 'warning' as const,
      message: `${names.join(' and ')} are in the same region, so ${pool.probe.identify.header} cannot tell them apart; identify by a header the API policy adds (probe.identify.header).`,
    }));
}

function lowerFirst(text: string): string {
  return text.length > 0 ? `${text[0]!.toLowerCase()}${text.slice(1)}` : text;
}

function formatValue(value: string | number | boolean | null): string {
  return value === null ? '(absent)' : typeof value === 'string' ? `"${value}"` : String(value);
}

/** `; 124 answers of 4 runs judged on their own are left out` for a pooled window that left flagged runs out. */
function leftOutClause(w: ReportWindowInput): string {
  const left = w.leftOut;
  if (!left || left.runs === 0) return '';
  return `; ${formatCount(left.answers)} ${left.answers === 1 ? 'answer' : 'answers'} of ${formatCount(left.runs)} ${left.runs === 1 ? 'run' : 'runs'} judged on ${left.runs === 1 ? 'its' : 'their'} own ${left.answers === 1 ? 'is' : 'are'} left out`;
}

function buildHeadline(
  input: BuildReportInput,
  primary: ReportWindowInput | null,
  backends: readonly ReportBackend[],
  labels: ReadonlyMap<string, string>,
  health: string,
  findings: readonly ReportFinding[],
): string {
  const label = (name: string): string => labels.get(name) ?? name;
  const pool = input.pool.name;
  if (!primary) {
    return `No data yet: the ${input.primaryWindow} window of ${pool} could not be read.`;
  }
  const { assessment, evidence } = primary;
  const where = describeWindow(primary.name);
  const failoverWindow = [primary, ...input.windows].find((w) => (w.assessment.failover?.count ?? 0) > 0);
  if (health === 'failover' && failoverWindow?.assessment.failover) {
    const parts = failoverWindow.assessment.failover.backends.map(
      (b) => `${countOf(b.count, 'answer')} came from priority-${b.priority} backend ${label(b.backend)}`,
    );
    return `Failover: ${parts.join('; ')} ${describeWindow(failoverWindow.name)} (of ${countOf(failoverWindow.assessment.sampleSize, 'answer')}).`;
  }
  const flagged = assessment.backends.filter((a) => a.flagged && a.observedShare !== null);
  if (flagged.length > 0) {
    const parts = flagged.map((a) => `${label(a.backend)} answered ${formatPercent(a.observedShare)}, expected ${formatPercent(a.expectedShare)}`);
    return `Weight drift: ${parts.join('; ')} (${countOf(assessment.sampleSize, 'answer')} ${where}).`;
  }
  if (health === 'drift' && assessment.decidedBy === 'sequential-drift') {
    const shares = assessment.backends
      .filter((a) => a.expectedShare > 0 && a.observedShare !== null)
      .map((a) => `${label(a.backend)} ${formatPercent(a.observedShare)} (expected ${formatPercent(a.expectedShare)})`);
    return `Weight drift: the sequential test stopped ${where} on drift; ${shares.join(', ')} over ${formatCount(assessment.sampleSize)} answers.`;
  }
  if (health === 'drift') {
    const other = input.windows.find((w) => w.assessment.backends.some((a) => a.flagged));
    const a = other?.assessment.backends.find((x) => x.flagged && x.observedShare !== null);
    if (other && a) {
      return `Weight drift: ${label(a.backend)} answered ${formatPercent(a.observedShare)} ${describeWindow(other.name)}, expected ${formatPercent(a.expectedShare)} (${countOf(other.assessment.sampleSize, 'answer')}).`;
    }
    return `Weight drift: ${assessment.explanations[0] ?? 'the statistics flagged the split'}`;
  }
  if (health === 'auth-failure') {
    const rejected = findings.filter((f) => f.kind === 'auth-failure' && f.backend !== undefined);
    return `Auth failure: ${rejected.map((f) => f.message).join(' ')}`;
  }
  if (health === 'blind') {
    const blind = findings.find((f) => f.kind === 'blind');
    return `${blind?.message ?? 'The verifier cannot reach the gateway.'} Nothing is known about the pool itself until it can probe again.`;
  }
  if (health === 'outage') {
    const outage = findings.find((f) => f.kind === 'outage');
    return `Outage: ${outage?.message ?? 'every probe failed.'}`;
  }
  if (health === 'config-drift') {
    const diffs = findings.filter((f) => f.kind === 'config-drift' && f.severity === 'alert');
    return `Config drift: the deployed pool differs from its definition in ${formatCount(diffs.length)} field(s), first: ${diffs[0]?.message ?? ''}`.trim();
  }
  switch (assessment.status) {
    case 'no-data': {
      if (evidence.total === 0) return `No data yet: no probes recorded for ${pool} ${where}.`;
      const failed = evidence.total - evidence.answered;
      const top = Object.entries(evidence.errors.byStatus).sort((x, y) => y[1] - x[1])[0];
      return (
        `No data yet: ${countOf(evidence.total, 'probe')} ${where}, none identified as a backend of ${pool}` +
        (failed > 0 ? ` (${formatCount(failed)} failed${top ? `, mostly ${top[0]}` : ''})` : '') +
        '.'
      );
    }
    case 'inconclusive':
      return `Inconclusive for ${pool} (${countOf(assessment.sampleSize, 'answer')} ${where}): ${lowerFirst(assessment.meaning)}`;
    default: {
      const shares = backends
        .filter((b) => b.expectedShare > 0)
        .map((b) => `${label(b.name)} ${formatPercent(b.observedShare)} (expected ${formatPercent(b.expectedShare)})`);
      const over =
        assessment.sampleSize === evidence.total
          ? `${countOf(evidence.total, 'probe')}`
          : `${countOf(assessment.sampleSize, 'answer')} from ${formatCount(evidence.total)} probes`;
      const how = assessment.decidedBy === 'sequential-equivalence' ? 'sequential test' : 'exact test';
      return `${pool} follows its weights: every share within ±${formatCount(assessment.toleranceInPoints)} points at 95% confidence (${how}); ${shares.join(', ')} over ${over} ${where}${leftOutClause(primary)}.`;
    }
  }
}
