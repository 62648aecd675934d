import { randomUUID } from 'node:crypto';
import type { AlertStateStore } from '../alerts/stateStore';
import type { Notifier } from '../alerts/types';
import { processAlerts } from '../alerts/processAlerts';
import type { ConfigDriftReport, DeployOutcome } from '../deploy/types';
import type { ResolvedPool } from '../pool/types';
import { runProbes, type ProbeFatal } from '../probe/runProbes';
import type { ProbeRecord } from '../probe/types';
import { healthOf, isConclusive, toRunVerdictTelemetry } from '../report/buildReport';
import type { Report } from '../report/types';
import type { SequentialDecision } from '../stats/sequentialTest';
import type { SequentialVerdict } from '../stats/types';
import { createSequentialStop } from './createSequentialStop';
import type { EvidenceSource, ProbeSink, TimeWindow } from '../store/types';
import { ensureError } from '../util/errors';
import { assembleReport, type WindowToAssess } from './assembleReport';

export type { WindowToAssess } from './assembleReport';
import { evidenceFromRecords } from './evidenceFromRecords';

/** What the cycle needs from the local store: run bookkeeping that must be exact and crash-safe. */
export interface RunBookkeeping {
  tryAcquireLock(name: string, owner: string, ttlInMs: number, nowMs: number): boolean;
  releaseLock(name: string, owner: string): void;
  markAbandonedRuns(nowMs: number, olderThanMs: number): number;
  lastDeployOutcome(pool: string): DeployOutcome | null;
  saveConfigDrift(pool: string, report: ConfigDriftReport): void;
  lastConfigDrift(pool: string): ConfigDriftReport | null;
  /** Recent runs, newest first, with their own verdicts once finished. */
  recentRuns(pool: string, limit: number): readonly { readonly runId: string; readonly state: string; readonly verdict?: string | undefined }[];
}

/** Runs looked at for calibrating φ (a day at the default pace is 288). */
const CALIBRATION_RUNS = 500;

/** Where the expectation comes from and how deployed-vs-declared is checked. */
export interface ExpectationSource {
  /** The pool whose expected shares are the yardstick (declared, or deployed in verify-only mode). */
  currentExpectation(signal?: AbortSignal): Promise<{ pool: ResolvedPool; configDrift: ConfigDriftReport | null }>;
}

/** Settings the cycle uses (a slice of `Settings`). */
export interface CycleSettings {
  readonly maxProbes: number;
  readonly concurrency: number;
  readonly timeoutInMs: number;
  readonly sequential: boolean;
  readonly alphaRun: number;
  readonly alphaHour: number;
  readonly alphaDay: number;
  readonly toleranceInPoints: number;
  readonly dispersionWarn: number;
  readonly primaryWindow: 'run' | 'hour' | 'day';
  readonly binInMs: number;
  readonly runsPerHour: number;
}

export interface CycleDependencies {
  readonly declaredPool: ResolvedPool;
  readonly expectation: ExpectationSource;
  readonly gateway: { readonly url: string; readonly subscriptionKey: string };
  readonly settings: CycleSettings;
  readonly bookkeeping: RunBookkeeping;
  readonly sink: ProbeSink;
  readonly evidence: EvidenceSource;
  readonly alerts: { readonly store: AlertStateStore; readonly notifiers: readonly Notifier[]; readonly reminderAfterMs: number } | undefined;
  readonly now?: () => number;
  readonly log: (line: string) => void;
  /** Identifies this process for the run lock. */
  readonly instanceId?: string;
}

/** The result of one timer invocation. */
export type CycleResult =
  | { readonly ran: false; readonly reason: string }
  | {
      readonly ran: true;
      readonly runId: string;
      readonly probesSent: number;
      readonly tokensUsed: number;
      readonly stoppedEarly: boolean;
      readonly decision: SequentialDecision | null;
      readonly fatal: ProbeFatal | null;
      readonly report: Report;
    };

const RUN_LOCK = 'probe-run';
const HOUR_IN_MS = 3_600_000;
const DAY_IN_MS = 24 * HOUR_IN_MS;

/**
 * One timer invocation: take the run lock (an overlapping invocation skips with a log line and sends nothing),
 * probe through the gateway with the sequential test deciding when to stop, record every probe as it lands,
 * judge the run, the last hour and the last day, and alert once per incident.
 */
export async function runVerificationCycle(deps: CycleDependencies, signal?: AbortSignal): Promise<CycleResult> {
  const now = deps.now ?? Date.now;
  // One owner per invocation: two overlapping invocations in one process must exclude each other too.
  const owner = `${deps.instanceId ?? `instance-${process.pid}`}/${randomUUID()}`;
  const s = deps.settings;
  const lockTtlInMs = Math.max(60_000, Math.ceil(s.maxProbes / s.concurrency) * s.timeoutInMs + 60_000);
  if (!deps.bookkeeping.tryAcquireLock(RUN_LOCK, owner, lockTtlInMs, now())) {
    deps.log('Skipped this run: another probe run is still in progress (run lock held).');
    return { ran: false, reason: 'another run is in progress' };
  }
  try {
    const abandoned = deps.bookkeeping.markAbandonedRuns(now(), lockTtlInMs);
    if (abandoned > 0) deps.log(`Marked ${abandoned} unfinished earlier run(s) as incomplete; their probes are kept.`);

    const { pool, configDrift } = await deps.expectation.currentExpectation(signal);
    if (configDrift) deps.bookkeeping.saveConfigDrift(deps.declaredPool.name, configDrift);

    const runId = randomUUID();
    const startedAtMs = now();
    await deps.sink.beginRun({ runId, pool: pool.name, startedAtMs, trigger: 'timer' });

    const sequential = s.sequential
      ? createSequentialStop(pool, { alpha: s.alphaRun, toleranceInPoints: s.toleranceInPoints, maxProbes: s.maxProbes })
      : null;
    const result = await runProbes({
      gatewayUrl: deps.gateway.url,
      subscriptionKey: deps.gateway.subscriptionKey,
      pool,
      runId,
      maxProbes: s.maxProbes,
      concurrency: s.concurrency,
      timeoutInMs: s.timeoutInMs,
      sink: deps.sink,
      ...(signal ? { signal } : {}),
      ...(sequential ? { shouldStop: (record: ProbeRecord) => sequential.shouldStop(record), inFlightCap: () => sequential.inFlightCap(s.concurrency) } : {}),
    });
    const finishedAtMs = now();
    if (result.fatal) deps.log(`Probe run stopped: ${result.fatal.message}`);

    const report = await buildCycleReport(deps, pool, result.records, runId, { fromMs: startedAtMs, toMs: finishedAtMs + 1 }, sequential?.verdict, signal);
    await deps.sink.finishRun({
      runId,
      finishedAtMs,
      state: result.fatal || signal?.aborted ? 'incomplete' : 'complete',
      probesSent: result.probesSent,
      tokensUsed: result.tokensUsed,
      verdict: report.windows.find((w) => w.name === 'run')?.status ?? report.status,
      stoppedEarly: result.stoppedEarly,
    });
    await deps.sink.recordVerdict(toRunVerdictTelemetry(report, runId, result.probesSent, result.tokensUsed));

    if (deps.alerts && !result.fatal) {
      const health = healthOf(report);
      const outcome = await processAlerts({
        pool: pool.name,
        health,
        // A run without data neither counts toward recovery nor resets it: an outage must not "recover".
        conclusive: isConclusive(report),
        message: report.headline,
        nowMs: now(),
        store: deps.alerts.store,
        notifiers: deps.alerts.notifiers,
        reminderAfterMs: deps.alerts.reminderAfterMs,
        log: deps.log,
      });
      if (outcome.sent) {
        const channels = deps.alerts.notifiers.length === 0 ? 'recorded in the report (no channel configured)' : outcome.delivered ? 'delivered' : 'pending, retried next run';
        deps.log(`Alert ${outcome.sent.kind} for ${outcome.sent.health}: ${outcome.sent.message} — ${channels}.`);
      }
    }
    await deps.sink.flush();
    deps.log(
      `Run ${runId}: ${result.probesSent} probes${result.stoppedEarly ? ' (stopped early: the sequential test was decisive)' : ''}, ${result.tokensUsed} tokens; ${report.headline}`,
    );
    return {
      ran: true,
      runId,
      probesSent: result.probesSent,
      tokensUsed: result.tokensUsed,
      stoppedEarly: result.stoppedEarly,
      decision: sequential?.decision ?? null,
      fatal: result.fatal,
      report,
    };
  } finally {
    deps.bookkeeping.releaseLock(RUN_LOCK, owner);
  }
}

/** Reads the hour and day windows and judges them together with the run just finished. */
async function buildCycleReport(
  deps: CycleDependencies,
  pool: ResolvedPool,
  records: readonly ProbeRecord[],
  runId: string,
  runWindow: TimeWindow,
  sequential: SequentialVerdict | undefined,
  signal: AbortSignal | undefined,
): Promise<Report> {
  const nowMs = runWindow.toMs;
  const names = pool.backends.map((b) => b.name);
  const runEvidence = evidenceFromRecords(records, names, runWindow, Math.max(1, runWindow.toMs - runWindow.fromMs), runId);
  const windows: WindowToAssess[] = [{ name: 'run', evidence: runEvidence, alpha: deps.settings.alphaRun, description: 'in this run', sequential }];
  windows.push(...(await readServiceWindows(deps, pool.name, nowMs, signal)));
  return assembleFromWindows(deps, pool, windows, nowMs);
}

/** The hour and day windows from the evidence source; a failing source degrades the report, never breaks it. */
export async function readServiceWindows(
  deps: Pick<CycleDependencies, 'evidence' | 'settings' | 'log'>,
  poolName: string,
  nowMs: number,
  signal?: AbortSignal,
): Promise<WindowToAssess[]> {
  const specs = [
    { name: 'hour', spanInMs: HOUR_IN_MS, alpha: deps.settings.alphaHour, description: 'in the last hour' },
    { name: 'day', spanInMs: DAY_IN_MS, alpha: deps.settings.alphaDay, description: 'in the last day' },
  ];
  const windows: WindowToAssess[] = [];
  for (const spec of specs) {
    const window = { fromMs: nowMs - spec.spanInMs, toMs: nowMs + 1 };
    const binInMs = spec.name === 'hour' ? deps.settings.binInMs : Math.max(deps.settings.binInMs, HOUR_IN_MS);
    try {
      const evidence = await deps.evidence.readWindow(poolName, window, binInMs, signal);
      windows.push({ name: spec.name, evidence, alpha: spec.alpha, description: spec.description });
    } catch (error) {
      const message = ensureError(error).message;
      deps.log(`Could not read the ${spec.name} window: ${message}`);
      windows.push({ name: spec.name, evidence: emptyEvidence(window, binInMs, message), alpha: spec.alpha, description: spec.description });
    }
  }
  return windows;
}

/** Assembles the report from judged windows plus what the store knows (deploy outcome, config drift, alerts). */
export async function assembleFromWindows(
  deps: Pick<CycleDependencies, 'bookkeeping' | 'settings' | 'alerts' | 'declaredPool'>,
  pool: ResolvedPool,
  windows: readonly WindowToAssess[],
  nowMs: number,
  policy: AssemblePolicy = [],
): Promise<Report> {
  const alertRecord = deps.alerts ? await deps.alerts.store.read(pool.name) : null;
  const recent = deps.alerts ? await deps.alerts.store.recent(pool.name, 10) : [];
  return assembleReport({
    pool,
    windows,
    primaryWindow: windows.some((w) => w.name === deps.settings.primaryWindow) ? deps.settings.primaryWindow : windows[0]?.name ?? 'run',
    generatedAtMs: nowMs,
    toleranceInPoints: deps.settings.toleranceInPoints,
    dispersionWarn: deps.settings.dispersionWarn,
    probesPerRun: deps.settings.maxProbes,
    runsPerHour: deps.settings.runsPerHour,
    lastDeploy: deps.bookkeeping.lastDeployOutcome(deps.declaredPool.name),
    configDrift: deps.bookkeeping.lastConfigDrift(deps.declaredPool.name),
    policy,
    alerts: { state: alertRecord?.state ?? null, recent },
    runVerdicts: new Map(
      deps.bookkeeping
        .recentRuns(deps.declaredPool.name, CALIBRATION_RUNS)
        .filter((run) => run.verdict !== undefined)
        .map((run) => [run.runId, run.verdict as string]),
    ),
  });
}

type AssemblePolicy = Parameters<typeof assembleReport>[0]['policy'];

/** Evidence of a window that could not be read: zero counts, clearly marked degraded. */
export function emptyEvidence(window: TimeWindow, binInMs: number, degraded: string): import('../store/types').WindowEvidence {
  return {
    window,
    source: 'probes',
    total: 0,
    answered: 0,
    unidentified: { count: 0, values: {} },
    backends: [],
    errors: { byStatus: {}, timeout: 0, network: 0 },
    bins: [],
    binInMs,
    runs: [],
    incompleteRuns: 0,
    tokensUsed: 0,
    degraded,
  };
}
