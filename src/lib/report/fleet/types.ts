import type { PoolHealth } from '../../alerts/types';
import type { VerdictStatus } from '../../stats/types';
import type { Report } from '../types';

/** What the fleet overview is built from: one entry per watched pool (issue 17). */
export interface FleetPoolInput {
  readonly pool: string;
  /** The APIM service the pool belongs to (`serviceOf(pool)`): its name, else the gateway host, else `default`. */
  readonly service: string;
  /** The pool's report; null when it could not be built. */
  readonly report: Report | null;
  /** Why the report could not be built (no secrets); null otherwise. */
  readonly error: string | null;
  /** Queue messages of this pool that ended in the poison queue (the run failed every attempt). */
  readonly poisoned?: { readonly count: number; readonly lastAt: string | null; readonly reason: string | null };
}

/**
 * How bad a row is, worst first (the order of {@link FLEET_SEVERITY_ORDER}): `error` (no report could be built),
 * `poisoned` (its runs end in the poison queue, so the report is stale whatever it says), then the pool's
 * alert-worthy health (`outage` … `config-drift`; a health this version does not know ranks just after
 * `config-drift` as `other`), then a verdict without enough evidence (`no-data`, `inconclusive`), then `ok`.
 */
export type FleetSeverity =
  | 'error'
  | 'poisoned'
  | 'outage'
  | 'blind'
  | 'auth-failure'
  | 'failover'
  | 'drift'
  | 'config-drift'
  | 'other'
  | 'no-data'
  | 'inconclusive'
  | 'ok';

/**
 * The fleet overview: the JSON served by `GET /api/report` without `?pool=` (and rendered as HTML by
 * `renderFleetOverview`). Field names are a public contract; add fields, never rename.
 */
export interface FleetOverview {
  readonly schemaVersion: 1;
  /** When the overview was built, ISO 8601. */
  readonly generatedAt: string;
  /** Pools given, including any left out of `pools` by the row limit. */
  readonly totalPools: number;
  /** Pools left out of `pools` because the overview keeps at most `MAX_FLEET_ROWS` rows: the healthiest are the ones left out. */
  readonly omittedPools: number;
  /** The worst row's severity; null for an empty fleet. */
  readonly worst: FleetSeverity | null;
  /** Counts over every pool given (not only the rows kept). */
  readonly counts: FleetCounts;
  /** One row per pool, worst first (see {@link FleetSeverity}; ties: the longest-open incident first, then pool, then service). */
  readonly pools: readonly FleetRow[];
}

export interface FleetCounts {
  /** By row status: the report's verdict (`ok`, `drift`, `inconclusive`, `no-data`) or `error`. Zero counts included. */
  readonly byStatus: Readonly<Record<FleetRowStatus, number>>;
  /** By the reports' health (`ok`, `drift`, `failover`, …); pools without a report are not counted here. */
  readonly byHealth: Readonly<Record<string, number>>;
  /** By row severity (the order of the table). Zero counts included. */
  readonly bySeverity: Readonly<Record<FleetSeverity, number>>;
  /** Pools with an open incident. */
  readonly openIncidents: number;
  /** Pools with at least one poisoned message. */
  readonly poisoned: number;
}

export type FleetRowStatus = VerdictStatus | 'error';

/** One pool of the fleet. Every string is bounded (names to 200 characters, sentences to 500). */
export interface FleetRow {
  readonly pool: string;
  readonly service: string;
  /** The report's verdict, or `error` when no report could be built. */
  readonly status: FleetRowStatus;
  /** The report's alert-worthy health; null without a report. */
  readonly health: PoolHealth | null;
  /** Where the row sorts (see {@link FleetSeverity}). */
  readonly severity: FleetSeverity;
  /** The report's headline; without a report, a sentence saying so with the reason. */
  readonly headline: string;
  /** Why no report could be built; null when there is one. */
  readonly error: string | null;
  /** The report's headline window (`run`, `hour`, `day`); null without a report. */
  readonly window: string | null;
  /** When the newest evidence was recorded (the end of the latest run, ISO 8601); null when nothing was recorded. */
  readonly dataAsOf: string | null;
  /** When the pool's report was built, ISO 8601; null without a report. */
  readonly reportGeneratedAt: string | null;
  /** Share per run over the last hour of the report's history, with the expected shares; null without history. */
  readonly sparkline: FleetSparkline | null;
  /** The open incident; null when none is open. */
  readonly incident: FleetIncident | null;
  /** Poisoned queue messages of this pool; null when there are none. */
  readonly poisoned: { readonly count: number; readonly lastAt: string | null; readonly reason: string | null } | null;
  /**
   * Relative URL of the pool's own report: `?pool=<name>`, plus `&service=<service>` only when the same pool name
   * (ignoring case) appears in more than one service. URL-encoded; add `&format=html` for the page. Null when the
   * pool or service name is longer than any valid name (`MAX_NAME_LENGTH`), so it cannot be asked for.
   */
  readonly link: string | null;
}

/** The pool's share per point (run, or time bin when runs are too many), oldest first. */
export interface FleetSparkline {
  /** `run`: one point per probe run; `bin`: one point per time bin (see the report's `history`). */
  readonly pointsAre: 'run' | 'bin';
  /** Start of the first and of the last point, ms since the epoch. */
  readonly fromMs: number;
  readonly toMs: number;
  /** The backends charted, in report order (at most `MAX_SPARKLINE_BACKENDS`), each with its expected share in [0, 1]. */
  readonly backends: readonly { readonly name: string; readonly expectedShare: number }[];
  /** Backends of the pool left out of the sparkline by that limit. */
  readonly omittedBackends: number;
  /** At most `MAX_SPARKLINE_POINTS` (the newest). `shares[i]` belongs to `backends[i]`; null when the point had no answer. */
  readonly points: readonly { readonly startMs: number; readonly answered: number; readonly shares: readonly (number | null)[]; readonly verdict?: string }[];
}

/** The incident that is open now. */
export interface FleetIncident {
  /** The incident's health (`drift`, `outage`, …). */
  readonly health: string;
  /** When it began, ISO 8601. */
  readonly since: string;
  /** How long it has been open at `generatedAt`, ms (0 when `since` is in the future). */
  readonly openForMs: number;
  /** `alerts`: the alert machine's state (it pages); `history`: an open period of the report's history (no alerting). */
  readonly source: 'alerts' | 'history';
}
