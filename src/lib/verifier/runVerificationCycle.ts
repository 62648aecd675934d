import { randomUUID } from 'node:crypto';
import type { AlertStateStore } from '../alerts/stateStore';
import type { Notifier } from '../alerts/types';
import { processAlerts } from '../alerts/processAlerts';
import type { ConfigDriftReport } from '../deploy/types';
import { withLease } from '../state/withLease';
import type { SharedState } from '../state/types';
import type { ResolvedPool } from '../pool/types';
import { runProbes, type ProbeFatal } from '../probe/runProbes';
import { describeEarlyStop } from '../probe/describeEarlyStop';
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

/**
 * What the cycle needs from the shared state (SQLite locally, Storage Tables in Azure): the run lease and run
 * bookkeeping that must be exact and crash-safe. Answers may be synchronous or promises; the cycle awaits them.
 */
export type RunBookkeeping = Pick<
  SharedState,
  'tryAcquireLock' | 'renewLock' | 'releaseLock' | 'markAbandonedRuns' | 'touchRun' | 'lastDeployOutcome' | 'saveConfigDrift' | 'lastConfigDrift' | 'recentRuns'
>;

/**
 * How long the run lease outlives its holder's last heartbeat: about one probe timeout (at least 1 s), so a run
 * killed with `kill -9` blocks the next one for no longer than that. The heartbeat renews it every third.
 */
export function runLeaseTtlInMs(settings: Pick<CycleSettings, 'timeoutInMs'>): number {
  return Math.max(1_000, settings.timeoutInMs);
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
  /**
   * Asked before probing (PROBE_SKIP_WHEN_TRAFFIC_CONCLUSIVE): when real traffic alone is conclusive and
   * healthy, the run is skipped with its reason; otherwise probing goes ahead.
   */
  readonly probeGate?: (signal?: AbortSignal) => Promise<{ readonly skip: boolean; readonly reason: string }>;
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
/** The verdict stored for a run that never reached the pool (see `BuildReportInput.blind`). */
export const BLIND_VERDICT = 'blind';
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
  const leaseTtlInMs = runLeaseTtlInMs(s);
  let currentRunId: string | undefined;
  const leased = await withLease(
    {
      state: deps.bookkeeping,
      name: RUN_LOCK,
      owner,
      ttlInMs: leaseTtlInMs,
      now,
      log: deps.log,
      ...(signal ? { signal } : {}),
      // The heartbeat also records that the run is alive, so only a dead run is ever marked incomplete.
      onBeat: async (atMs) => {
        if (currentRunId !== undefined) await deps.bookkeeping.touchRun?.(currentRunId, atMs);
      },
    },
    (leaseSignal) =>
      runUnderLease(deps, leaseSignal, (runId) => {
        currentRunId = runId;
      }),
  );
  if (!leased.held) {
    // Expected whenever a tick comes while a run is still probing (e.g. the first run, which also deploys): runs
    // never overlap by design, so this is information, not an error. The caller logs the reason.
    return { ran: false, reason: 'another run is in progress (runs of a pool never overlap; the next tick starts a new one)' };
  }
  return leased.value;
}

/** The run itself, while this invocation holds the run lease (`signal` aborts when the lease is lost). */
async function runUnderLease(deps: CycleDependencies, signal: AbortSignal, started: (runId: string) => void): Promise<CycleResult> {
  const now = deps.now ?? Date.now;
  const s = deps.settings;
  {
    // Holding the run lease, no other run of this pool can be alive: whatever is still `running` was left by a
    // holder that died (kill -9, SIGTERM mid-run, a full disk).
    const abandoned = await deps.bookkeeping.markAbandonedRuns(now(), 0, deps.declaredPool.name);
    if (abandoned > 0) deps.log(`Marked ${abandoned} unfinished earlier run(s) as incomplete; their probes are kept.`);

    if (deps.probeGate !== undefined) {
      const gate = await deps.probeGate(signal);
      deps.log(`Probe gate: ${gate.reason}.`);
      if (gate.skip) return { ran: false, reason: gate.reason };
    }

    const { pool, configDrift } = await deps.expectation.currentExpectation(signal);
    if (configDrift) await deps.bookkeeping.saveConfigDrift(deps.declaredPool.name, configDrift);

    const runId = randomUUID();
    const startedAtMs = now();
    await deps.sink.beginRun({ runId, pool: pool.name, startedAtMs, trigger: 'timer' });
    started(runId);

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
      signal,
      ...(sequential ? { shouldStop: (record: ProbeRecord) => sequential.shouldStop(record), inFlightCap: () => sequential.inFlightCap(s.concurrency) } : {}),
    });
    const finishedAtMs = now();
    if (result.fatal) deps.log(`Probe run stopped: ${result.fatal.message}`);
    if (signal.aborted) deps.log(`Probe run stopped early: ${ensureError(signal.reason ?? 'aborted').message}`);

    // Every probe stopped before the pool (refused, DNS, TLS, the gateway refusing this verifier's key or URL): blind.
    const blind = result.fatal?.message ?? null;
    const report = await buildCycleReport(deps, pool, result.records, runId, { fromMs: startedAtMs, toMs: finishedAtMs + 1 }, blind, sequential?.verdict, undefined);
    await deps.sink.finishRun({
      runId,
      finishedAtMs,
      state: result.fatal || signal.aborted ? 'incomplete' : 'complete',
      probesSent: result.probesSent,
      tokensUsed: result.tokensUsed,
      verdict: blind !== null ? BLIND_VERDICT : (report.windows.find((w) => w.name === 'run')?.status ?? report.status),
      stoppedEarly: result.stoppedEarly,
    });
    await deps.sink.recordVerdict(toRunVerdictTelemetry(report, runId, result.probesSent, result.tokensUsed));

    // A blind run pages too (its own incident): a verifier that cannot probe must not go quiet. A run that lost its
    // lease does not alert: the holder that took over decides.
    if (deps.alerts && !signal.aborted) {
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
        deps.log(describeSentNotification(outcome.sent, deps.alerts.notifiers.length, outcome.delivered, outcome.pending ? outcome.nextAttemptAt : undefined));
      }
    }
    await deps.sink.flush();
    deps.log(
      `Run ${runId}: ${result.probesSent} probes${describeEarlyStop(result)}, ${result.tokensUsed} tokens; ${report.headline}`,
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
  }
}

/** Reads the hour and day windows and judges them together with the run just finished. */
async function buildCycleReport(
  deps: CycleDependencies,
  pool: ResolvedPool,
  records: readonly ProbeRecord[],
  runId: string,
  runWindow: TimeWindow,
  blind: string | null,
  sequential: SequentialVerdict | undefined,
  signal: AbortSignal | undefined,
): Promise<Report> {
  const nowMs = runWindow.toMs;
  const names = pool.backends.map((b) => b.name);
  const runEvidence = evidenceFromRecords(records, names, runWindow, Math.max(1, runWindow.toMs - runWindow.fromMs), runId);
  const windows: WindowToAssess[] = [{ name: 'run', evidence: runEvidence, alpha: deps.settings.alphaRun, description: 'in this run', sequential }];
  windows.push(...(await readServiceWindows(deps, pool.name, nowMs, signal)));
  return assembleFromWindows(deps, pool, windows, nowMs, [], blind);
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
  blind: string | null = null,
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
    lastDeploy: await deps.bookkeeping.lastDeployOutcome(deps.declaredPool.name),
    configDrift: await deps.bookkeeping.lastConfigDrift(deps.declaredPool.name),
    policy,
    blind,
    alerts: { state: alertRecord?.state ?? null, recent },
    runVerdicts: new Map(
      (await deps.bookkeeping.recentRuns(deps.declaredPool.name, CALIBRATION_RUNS))
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

/**
 * The log line for a notification, e.g. `Incident opened (drift), delivered: West US answered 100.0% …`. The
 * message (the report's headline) comes last, so its own full stop ends the line.
 */
export function describeSentNotification(
  sent: { readonly kind: 'alert' | 'reminder' | 'recovery'; readonly health: string; readonly previousHealth: string; readonly message: string },
  channelCount: number,
  delivered: boolean,
  nextAttemptAt?: string,
): string {
  const what =
    sent.kind === 'alert' ? `Incident opened (${sent.health})` : sent.kind === 'reminder' ? `Reminder: ${sent.health} continues` : `Recovered from ${sent.previousHealth}`;
  const where = channelCount === 0 ? 'recorded in the report only (no channel configured)' : delivered
        ? 'delivered'
        : nextAttemptAt
          ? `not delivered yet; tried again by the first run after ${nextAttemptAt}`
          : 'not delivered';
  return `${what}, ${where}: ${sent.message}`;
}
