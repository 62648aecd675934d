import { healthOf } from '../healthOf';
import type { Report } from '../types';
import type { FleetIncident, FleetOverview, FleetPoolInput, FleetRow, FleetRowStatus, FleetSeverity, FleetSparkline } from './types';

/** Worst first: the order of the fleet table (see `FleetSeverity`). */
export const FLEET_SEVERITY_ORDER: readonly FleetSeverity[] = [
  'error',
  'poisoned',
  'outage',
  'blind',
  'auth-failure',
  'failover',
  'drift',
  'config-drift',
  'other',
  'no-data',
  'inconclusive',
  'ok',
];

/** At most this many rows (Azure Monitor allows 100 availability tests per resource; the fleet aims higher). */
export const MAX_FLEET_ROWS = 500;
/** Sparkline points kept per pool (the newest). */
export const MAX_SPARKLINE_POINTS = 60;
/** Backends drawn per sparkline (in report order: the pool's own order). */
export const MAX_SPARKLINE_BACKENDS = 6;
/** Longest name (pool, service, backend, health) and longest sentence kept, in characters. */
export const MAX_NAME_LENGTH = 200;
export const MAX_TEXT_LENGTH = 500;

const HOUR_MS = 3_600_000;
const STATUSES: readonly FleetRowStatus[] = ['error', 'drift', 'no-data', 'inconclusive', 'ok'];
const HEALTH_SEVERITIES: ReadonlySet<string> = new Set(['outage', 'blind', 'auth-failure', 'failover', 'drift', 'config-drift']);

/**
 * The fleet overview from every pool's report: one row per pool, worst first, at most {@link MAX_FLEET_ROWS}
 * (counts cover every pool given), every string bounded. `nowMs` is the overview's own time (ms since the epoch):
 * `generatedAt` and how long each incident has been open. Pure.
 */
export function buildFleetOverview(inputs: readonly FleetPoolInput[], nowMs: number): FleetOverview {
  const servicesByPool = new Map<string, Set<string>>();
  for (const input of inputs) {
    const key = input.pool.toLowerCase();
    const services = servicesByPool.get(key) ?? new Set<string>();
    services.add(input.service.toLowerCase());
    servicesByPool.set(key, services);
  }
  const rows = inputs.map((input) => rowOf(input, nowMs, (servicesByPool.get(input.pool.toLowerCase())?.size ?? 0) > 1));
  const sorted = [...rows].sort(compareRows);
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<FleetRowStatus, number>;
  const bySeverity = Object.fromEntries(FLEET_SEVERITY_ORDER.map((s) => [s, 0])) as Record<FleetSeverity, number>;
  const byHealth: Record<string, number> = {};
  for (const row of rows) {
    byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
    bySeverity[row.severity] += 1;
    if (row.health !== null) byHealth[row.health] = (byHealth[row.health] ?? 0) + 1;
  }
  return {
    schemaVersion: 1,
    generatedAt: new Date(nowMs).toISOString(),
    totalPools: rows.length,
    omittedPools: Math.max(0, rows.length - MAX_FLEET_ROWS),
    worst: sorted[0]?.severity ?? null,
    counts: {
      byStatus,
      byHealth,
      bySeverity,
      openIncidents: rows.filter((r) => r.incident !== null).length,
      poisoned: rows.filter((r) => r.poisoned !== null).length,
    },
    pools: sorted.slice(0, MAX_FLEET_ROWS),
  };
}

/** Worst severity first; then the longest-open incident (none last); then pool name, then service (code-unit order). */
export function compareRows(a: FleetRow, b: FleetRow): number {
  const bySeverity = FLEET_SEVERITY_ORDER.indexOf(a.severity) - FLEET_SEVERITY_ORDER.indexOf(b.severity);
  if (bySeverity !== 0) return bySeverity;
  const age = (r: FleetRow): number => r.incident?.openForMs ?? -1;
  if (age(a) !== age(b)) return age(b) - age(a);
  return compareText(a.pool, b.pool) || compareText(a.service, b.service);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rowOf(input: FleetPoolInput, nowMs: number, nameRepeats: boolean): FleetRow {
  const { report } = input;
  const poisoned =
    input.poisoned !== undefined && input.poisoned.count > 0
      ? {
          count: input.poisoned.count,
          lastAt: input.poisoned.lastAt === null ? null : clip(input.poisoned.lastAt, MAX_NAME_LENGTH),
          reason: input.poisoned.reason === null ? null : clip(input.poisoned.reason, MAX_TEXT_LENGTH),
        }
      : null;
  // A name longer than any valid one cannot be asked for (and would make the URL unbounded): no link.
  const linkable = input.pool.length <= MAX_NAME_LENGTH && input.service.length <= MAX_NAME_LENGTH;
  const link = linkable ? `?pool=${encodeURIComponent(input.pool)}${nameRepeats ? `&service=${encodeURIComponent(input.service)}` : ''}` : null;
  const pool = clip(input.pool, MAX_NAME_LENGTH);
  const service = clip(input.service, MAX_NAME_LENGTH);
  if (report === null) {
    const reason = input.error?.trim() || 'no reason was given';
    const error = clip(reason, MAX_TEXT_LENGTH);
    return {
      pool,
      service,
      status: 'error',
      health: null,
      severity: 'error',
      headline: clip(`The report could not be built: ${reason}${/[.!?]$/.test(reason) ? '' : '.'}`, MAX_TEXT_LENGTH),
      error,
      window: null,
      dataAsOf: null,
      reportGeneratedAt: null,
      sparkline: null,
      incident: null,
      poisoned,
      link,
    };
  }
  const health = report.health ?? healthOf(report);
  return {
    pool,
    service,
    status: report.status,
    health,
    severity: severityOf(report.status, health, poisoned !== null),
    headline: clip(report.headline, MAX_TEXT_LENGTH),
    error: null,
    window: clip(report.window.name, MAX_NAME_LENGTH),
    dataAsOf: dataAsOfOf(report),
    reportGeneratedAt: clip(report.generatedAt, MAX_NAME_LENGTH),
    sparkline: sparklineOf(report),
    incident: incidentOf(report, nowMs),
    poisoned,
    link,
  };
}

function severityOf(status: FleetRowStatus, health: string, poisoned: boolean): FleetSeverity {
  if (poisoned) return 'poisoned';
  if (HEALTH_SEVERITIES.has(health)) return health as FleetSeverity;
  if (health !== 'ok') return 'other';
  if (status === 'no-data' || status === 'inconclusive' || status === 'ok') return status;
  // A drift verdict is a `drift` health (healthOf); a status this version does not know is not called ok.
  return 'other';
}

/** The report's `dataAsOf`, else the start of its newest history point; null when nothing was recorded. */
function dataAsOfOf(report: Report): string | null {
  if (report.dataAsOf) return clip(report.dataAsOf, MAX_NAME_LENGTH);
  const points = report.history?.points ?? [];
  const last = points[points.length - 1];
  return last !== undefined && Number.isFinite(last.startMs) ? new Date(last.startMs).toISOString() : null;
}

/**
 * The incident open now: the alert machine's state when it holds a health other than `ok` (it is what pages);
 * without alert state, the report history's period that is still open (`toMs` null).
 */
function incidentOf(report: Report, nowMs: number): FleetIncident | null {
  const state = report.alerts.state;
  if (state !== null) {
    if (state.health === 'ok') return null;
    const sinceMs = Date.parse(state.since);
    if (!Number.isFinite(sinceMs)) return null;
    return { health: clip(state.health, MAX_NAME_LENGTH), since: new Date(sinceMs).toISOString(), openForMs: Math.max(0, nowMs - sinceMs), source: 'alerts' };
  }
  const open = [...(report.history?.incidents ?? [])].reverse().find((i) => i.toMs === null && Number.isFinite(i.fromMs));
  if (open === undefined) return null;
  return { health: clip(open.health, MAX_NAME_LENGTH), since: new Date(open.fromMs).toISOString(), openForMs: Math.max(0, nowMs - open.fromMs), source: 'history' };
}

/** Share per point over the last hour of the report's history (ending at the history's end), with expected shares. */
function sparklineOf(report: Report): FleetSparkline | null {
  const history = report.history;
  if (!history || history.points.length === 0) return null;
  const recent = history.points.filter((p) => p.startMs >= history.toMs - HOUR_MS).slice(-MAX_SPARKLINE_POINTS);
  if (recent.length === 0) return null;
  const backends = report.backends.slice(0, MAX_SPARKLINE_BACKENDS);
  return {
    pointsAre: history.pointsAre,
    fromMs: recent[0]!.startMs,
    toMs: recent[recent.length - 1]!.startMs,
    backends: backends.map((b) => ({ name: clip(b.name, MAX_NAME_LENGTH), expectedShare: b.expectedShare })),
    omittedBackends: report.backends.length - backends.length,
    points: recent.map((p) => ({
      startMs: p.startMs,
      answered: p.answered,
      shares: backends.map((b) => {
        const share = p.shares[b.name];
        return share === undefined || share === null || !Number.isFinite(share) ? null : share;
      }),
      ...(p.verdict !== undefined ? { verdict: clip(p.verdict, MAX_NAME_LENGTH) } : {}),
    })),
  };
}

/** `text` cut to at most `max` characters (an ellipsis marks the cut), never splitting a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // 2·max code units hold at least max code points: a huge input is never split whole.
  const head = Array.from(text.slice(0, 2 * max));
  return head.length <= max && text.length <= 2 * max ? text : `${head.slice(0, max - 1).join('')}…`;
}
