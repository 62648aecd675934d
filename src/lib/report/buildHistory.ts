import type { AlertLogEntry, AlertState } from '../alerts/types';
import type { WindowEvidence } from '../store/types';
import type { ReportHistory, ReportHistoryPoint, ReportIncident } from './types';

/** Above this many runs a chart point per run is noise: time bins are charted instead. */
const MAX_RUN_POINTS = 120;

/** Inputs of {@link buildHistory}; raw evidence (before flagged runs are taken out of the pooled windows). */
export interface BuildHistoryInput {
  /** Every window read for the report, by name (`run`, `hour`, `day` …). */
  readonly windows: readonly { readonly name: string; readonly evidence: WindowEvidence }[];
  readonly primaryWindow: string;
  /** Backend names to chart, in report order. */
  readonly backends: readonly string[];
  /** Each run's own verdict (run id → `ok`, `drift` …). */
  readonly runVerdicts: ReadonlyMap<string, string>;
  readonly alerts: { readonly state: AlertState | null; readonly recent: readonly AlertLogEntry[] };
  readonly nowMs: number;
}

/**
 * The story the chart tells, whatever the headline window: a run is one point of 4–8 s, so the chart uses the
 * last hour (the day when the day is the headline), one point per run while there are at most
 * {@link MAX_RUN_POINTS} runs, otherwise one per time bin. Incident periods come from the alert log and state
 * (every health the alert machine knows, including ones added later, e.g. `blind`); without alerting, runs judged
 * `drift` on their own are the incidents. Pure.
 */
export function buildHistory(input: BuildHistoryInput): ReportHistory | null {
  const preferred = input.primaryWindow === 'day' ? ['day', 'hour'] : ['hour', 'day'];
  const chosen =
    preferred.map((name) => input.windows.find((w) => w.name === name && w.evidence.total > 0)).find((w) => w !== undefined) ??
    input.windows.find((w) => w.name === input.primaryWindow && w.evidence.total > 0);
  if (!chosen) return null;
  const { evidence } = chosen;
  const runs = [...evidence.runs].sort((a, b) => a.startedAtMs - b.startedAtMs);
  const byRun = runs.length >= 2 && runs.length <= MAX_RUN_POINTS;
  const points: ReportHistoryPoint[] = byRun
    ? runs.map((run) => {
        const verdict = input.runVerdicts.get(run.runId);
        return { ...sharesOf(run.answered, input.backends), startMs: run.startedAtMs, ...(verdict !== undefined ? { verdict } : {}) };
      })
    : evidence.bins.map((bin) => ({ ...sharesOf(bin.answered, input.backends), startMs: bin.startMs }));
  const leftOutRuns = chosen.name === 'run' ? 0 : runs.filter((run) => input.runVerdicts.get(run.runId) === 'drift').length;
  const { fromMs, toMs } = evidence.window;
  return {
    window: chosen.name,
    fromMs,
    toMs,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    pointsAre: byRun ? 'run' : 'bin',
    binInMs: evidence.binInMs,
    points,
    incidents: incidentsOf(input, byRun ? points : [], fromMs, Math.min(toMs, input.nowMs)),
    leftOutRuns,
  };
}

function sharesOf(answered: Readonly<Record<string, number>>, backends: readonly string[]): { shares: Record<string, number | null>; answered: number } {
  const sum = backends.reduce((s, name) => s + (answered[name] ?? 0), 0);
  const shares: Record<string, number | null> = {};
  for (const name of backends) shares[name] = sum > 0 ? (answered[name] ?? 0) / sum : null;
  return { shares, answered: sum };
}

/**
 * Periods with a non-ok health inside [fromMs, toMs]. The alert log records transitions (alert: ok → bad,
 * recovery: bad → ok, a step between bad states); the state says what holds now and since when.
 */
export function incidentsOf(
  input: Pick<BuildHistoryInput, 'alerts'>,
  runPoints: readonly ReportHistoryPoint[],
  fromMs: number,
  toMs: number,
): ReportIncident[] {
  const transitions = input.alerts.recent
    .filter((e) => e.kind !== 'reminder')
    .map((e) => ({ atMs: Date.parse(e.at), health: e.health as string }))
    .filter((t) => Number.isFinite(t.atMs));
  const state = input.alerts.state;
  if (state) {
    const sinceMs = Date.parse(state.since);
    if (Number.isFinite(sinceMs) && !transitions.some((t) => t.atMs === sinceMs && t.health === state.health)) {
      transitions.push({ atMs: sinceMs, health: state.health });
    }
  }
  transitions.sort((a, b) => a.atMs - b.atMs);
  const incidents: { health: string; fromMs: number; toMs: number | null }[] = [];
  if (transitions.length > 0) {
    for (const t of transitions) {
      const open = incidents[incidents.length - 1];
      if (open && open.toMs === null) {
        if (open.health === t.health) continue;
        open.toMs = t.atMs;
      }
      if (t.health !== 'ok') incidents.push({ health: t.health, fromMs: t.atMs, toMs: null });
    }
  } else {
    // No alerting configured: each run judged `drift` on its own, merged with its flagged neighbours.
    runPoints.forEach((p, i) => {
      if (p.verdict !== 'drift') return;
      const endMs = runPoints[i + 1]?.startMs ?? toMs;
      const open = incidents[incidents.length - 1];
      if (open && open.toMs === p.startMs) open.toMs = endMs;
      else incidents.push({ health: 'drift', fromMs: p.startMs, toMs: endMs });
    });
    const last = incidents[incidents.length - 1];
    if (last && last.toMs === toMs) last.toMs = null;
  }
  return incidents
    .filter((i) => (i.toMs ?? Number.POSITIVE_INFINITY) > fromMs && i.fromMs <= toMs)
    .map((i) => ({ health: i.health, fromMs: Math.max(i.fromMs, fromMs), toMs: i.toMs === null ? null : Math.min(i.toMs, toMs) }));
}
