import type { AlertLogEntry, AlertState, PoolHealth } from '../alerts/types';
import type { ConfigDriftReport, DeployOutcome, PolicyFinding } from '../deploy/types';
import type { Assessment, DecidedBy, ShareInterval, VerdictStatus } from '../stats/types';
import type { TimeWindow } from '../store/types';

/**
 * The report: the same object is served by `GET /api/report` (JSON) and printed by `apim-pool-verifier verify --json`.
 * Field names are a public contract; add fields, never rename.
 */
export interface Report {
  readonly schemaVersion: 1;
  readonly generatedAt: string;
  readonly pool: string;
  /** Verdict of the primary window. */
  readonly status: VerdictStatus;
  /** One sentence a person can read at 3 a.m. */
  readonly headline: string;
  /** The primary window (`run` for the CLI, `hour` for the service). */
  readonly window: ReportWindow;
  /** All probes in the primary window. */
  readonly total: number;
  /** 2xx answers in the primary window that matched no backend. */
  /** See `WindowEvidence.unidentified`: at most 20 values of at most 200 characters, the rest in `otherAnswers`. */
  readonly unidentified: { readonly count: number; readonly values: Readonly<Record<string, number>>; readonly otherAnswers?: number };
  readonly backends: readonly ReportBackend[];
  readonly failover: Assessment['failover'];
  /** All failed probes in the primary window. */
  readonly errors: { readonly byStatus: Readonly<Record<string, number>>; readonly timeout: number; readonly network: number };
  /** Every evaluated window with its own verdict (run, hour, day). */
  readonly windows: readonly ReportWindowVerdict[];
  readonly findings: readonly ReportFinding[];
  readonly lastDeploy: DeployOutcome | null;
  readonly configDrift: ConfigDriftReport | null;
  readonly policy: readonly PolicyFinding[];
  readonly alerts: { readonly state: AlertState | null; readonly recent: readonly AlertLogEntry[] };
  /** Share over time (primary window's bins). */
  readonly timeline: readonly { readonly startMs: number; readonly shares: Readonly<Record<string, number | null>>; readonly answered: number }[];
  /**
   * Where the evidence came from, and whether it is degraded. With a delayed source (Azure Monitor Logs):
   * `completeUpTo` (ISO time) and the runs still arriving, left out of the counts until all their records are in.
   */
  readonly dataSource: {
    readonly kind: string;
    readonly degraded: string | null;
    readonly completeUpTo?: string;
    readonly arrivingRuns?: readonly { readonly runId: string; readonly received: number; readonly probesSent: number | null }[];
    /**
     * With an all-traffic source: whether real traffic alone gave a conclusive verdict (`ok` or `drift`) for its
     * window — then the pool is verified with zero synthetic probes — and how many requests it counted.
     */
    readonly allTraffic?: { readonly status: string; readonly conclusive: boolean; readonly requests: number };
  };
  /**
   * Alert-worthy health derived from the findings (`failover` > `drift` > `config-drift` > `ok`); the same value
   * `healthOf(report)` returns. `inconclusive` and `no-data` are `ok` here: too little data never opens an incident.
   * Optional only so hand-built reports stay valid; `buildReport` always sets it.
   */
  readonly health?: PoolHealth;
  /** The probe budget and what it can detect (null when the caller did not pass one). */
  readonly budget?: ReportBudget | null;
  /** Dispersion index φ of per-run counts (null when not computed). */
  readonly dispersion?: ReportDispersion | null;
  /**
   * The story over a meaningful span whatever the headline window: share per run (or per bin) over the last hour
   * (the day when the headline window is the day), with incident periods. Null when nothing was recorded.
   */
  readonly history?: ReportHistory | null;
  /** When the newest evidence was recorded (end of the latest run, or of the latest bin with probes), ISO 8601. */
  readonly dataAsOf?: string | null;
  /**
   * Probes of the primary window that the gateway's token limit refused (APIM's own 429, no backend chosen): never
   * in `errors`, shares or outage. Absent when the window had none and no answer carried `remaining-tokens`.
   */
  readonly gatewayThrottled?: ReportGatewayThrottled;
  /** The verifier's own token use in the primary window, against the API's limit when the definition declares it. */
  readonly tokenUse?: ReportTokenUse;
  /**
   * What the gateway itself recorded of its backend calls in the primary window: the 429s that probes cannot see
   * when the API policy retries them on another backend (or a tripped breaker sends that backend nothing). Null or
   * absent when no such record is known here (a real gateway without ALL_TRAFFIC_SOURCE=gateway-logs) or it could
   * not be read (the service log says why).
   */
  readonly gatewayAttempts?: ReportGatewayAttempts | null;
}

/** What the gateway's token limit did to the verifier's probes (see `Report.gatewayThrottled`). */
export interface ReportGatewayThrottled {
  readonly count: number;
  /** `Retry-After` of the newest throttled probe, in seconds (null when absent or the source cannot tell). */
  readonly lastRetryAfterSeconds: number | null;
  /** The newest `remaining-tokens` header seen on any probe of the window (null when none). */
  readonly remainingTokens: number | null;
}

/** The verifier's own token use (probes are one-token completions; see `Report.tokenUse`). */
export interface ReportTokenUse {
  readonly window: string;
  /** Tokens the probes of the window used (`usage.total_tokens`, else the `consumed-tokens` header). */
  readonly tokensUsed: number;
  /** `tokensUsed` per minute of the window (a window shorter than a minute counts as one minute). */
  readonly tokensPerMinute: number;
  /** Mean tokens per answered (2xx) probe; null without answers. */
  readonly tokensPerProbe: number | null;
  /**
   * `tokensPerProbe` × probes per run: what one run uses. A run sends its probes within about a minute, so this is
   * what the verifier takes from a tokens-per-minute limit at its peak. Null without answers or a probe budget.
   */
  readonly tokensPerRun: number | null;
  /** `probe.tokenLimitPerMinute` of the definition; null when not declared. */
  readonly limitPerMinute: number | null;
  /** `tokensPerRun` as a percentage of `limitPerMinute`; null when either is unknown. */
  readonly runShareOfLimitPercent: number | null;
  /** Above this percentage of the limit a finding warns (the verifier must stay well inside the limit). */
  readonly warnAbovePercent: number;
}

/** The gateway's own record of its backend calls (see `Report.gatewayAttempts`). */
export interface ReportGatewayAttempts {
  /** `emulator-access-log` (the embedded gateway's access log) or `gateway-logs` (APIM's resource logs). */
  readonly source: string;
  /** True when every backend call is counted (retries included); false when only one call per client request is recorded. */
  readonly perAttempt: boolean;
  /** Where the numbers come from and what they leave out, in words. */
  readonly note: string;
  /** The span counted (ISO 8601); may start after the window when the source no longer holds older records. */
  readonly from: string;
  readonly to: string;
  /** Per pool member: backend calls, 429 answers, 5xx answers, breaker trips (null where the source cannot know). */
  readonly byBackend: Readonly<Record<string, { readonly attempts: number; readonly throttled429: number; readonly serverErrors: number; readonly breakerTrips: number | null }>>;
  /** Recorded backend calls that matched no member of the pool. */
  readonly unattributed: number;
}

/** Share over time across a span longer than one run: one point per run (or per time bin when runs are unknown). */
export interface ReportHistory {
  /** The window whose evidence is charted (`hour` or `day`; `run` only when nothing longer exists). */
  readonly window: string;
  readonly from: string;
  readonly to: string;
  readonly fromMs: number;
  readonly toMs: number;
  /** `run`: one point per probe run; `bin`: one point per time bin of `binInMs`. */
  readonly pointsAre: 'run' | 'bin';
  readonly binInMs: number;
  readonly points: readonly ReportHistoryPoint[];
  /** Periods with an alert-worthy health other than `ok` (drift, failover, outage, blind …), oldest first. */
  readonly incidents: readonly ReportIncident[];
  /** Runs charted here that the pooled window leaves out of its verdict because they were judged on their own. */
  readonly leftOutRuns: number;
}

export interface ReportHistoryPoint {
  readonly startMs: number;
  /** Identified answers per backend divided by their sum (null when the point has no answer). */
  readonly shares: Readonly<Record<string, number | null>>;
  readonly answered: number;
  /** The run's own verdict, when known (`ok`, `drift`, `inconclusive` …). */
  readonly verdict?: string;
}

/** A period with a health other than `ok`; `toMs` null while it lasts. */
export interface ReportIncident {
  readonly health: string;
  readonly fromMs: number;
  readonly toMs: number | null;
}

/** The probe budget and what the planner says it can detect with it. */
export interface ReportBudget {
  readonly probesPerRun: number;
  readonly runsPerHour: number;
  /** probesPerRun × runsPerHour. */
  readonly probesPerHour: number;
  readonly plan: readonly ReportBudgetPlanRow[];
  /** What it takes for the hour window to show a healthy pool `ok` (equivalence within the tolerance). */
  readonly equivalence?: ReportBudgetEquivalence;
}

/**
 * The planner's answer to "how many probes until a pool that follows its weights is shown ok": identified answers the
 * window needs for `ok` with probability `power`, and the probes per run that takes at `runsPerHour`.
 */
export interface ReportBudgetEquivalence {
  readonly window: string;
  readonly toleranceInPoints: number;
  readonly power: number;
  /** `Infinity` (serialised as `null`) when unreachable. */
  readonly answersNeeded: number;
  readonly probesPerRunNeeded: number;
  /** True when probesPerRun × runsPerHour reaches `answersNeeded`. */
  readonly reachable: boolean;
}

/** One planner row: a drift of `driftInPoints` in `window` needs `probesNeeded` probes; `detectable` with this budget. */
export interface ReportBudgetPlanRow {
  readonly driftInPoints: number;
  readonly window: string;
  /** `Infinity` (serialised as `null` in JSON) when no sample size within the planner's reach detects the drift. */
  readonly probesNeeded: number;
  readonly detectable: boolean;
}

/**
 * φ = Var(count_i) / (N·w_i(1−w_i)) over runs: 1 ± 0.25 on a healthy pool of independent draws; above `warnAbove`
 * the standard errors are inflated by √φ.
 */
export interface ReportDispersion {
  readonly phi: number | null;
  readonly runs: number;
  readonly warnAbove: number;
  readonly overdispersed: boolean;
}

export interface ReportWindow extends TimeWindow {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

export interface ReportBackend {
  readonly name: string;
  readonly region: string | null;
  readonly priority: number;
  readonly weight: number | null;
  readonly expectedShare: number;
  readonly observedCount: number;
  readonly observedShare: number | null;
  readonly interval: ShareInterval | null;
  readonly pValue: number | null;
  readonly deviationInPoints: number | null;
  readonly flagged: boolean;
  readonly errorsByStatus: Readonly<Record<string, number>>;
  readonly latencyP50InMs: number | null;
  readonly latencyP95InMs: number | null;
}

export interface ReportWindowVerdict {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly status: VerdictStatus;
  readonly sampleSize: number;
  readonly total: number;
  readonly alpha: number;
  readonly explanations: readonly string[];
  readonly probesNeeded: number | null;
  /** Which rule decided: `sequential-drift`, `sequential-equivalence` or `fixed-n` (docs/statistics.md). */
  readonly decidedBy?: DecidedBy;
  /** The rule in words, e.g. "the sequential test stopped on drift after 9 answers". */
  readonly decidedByText?: string;
  /** No weighted share is off by more than this many points (null without data); `ok` needs it below the tolerance. */
  readonly resolutionInPoints?: number | null;
  /** True when the window rules out a missing backend even if it cannot show ± tolerance yet. */
  readonly deadBackendRuledOut?: boolean;
  /** What the verdict establishes, one sentence (also the last explanation). */
  readonly meaning?: string;
  /** Tokens the probes of this window consumed (`usage.total_tokens` summed): what verification costs. */
  readonly tokensUsed?: number;
  /**
   * Runs that were judged on their own (flagged) and are therefore left out of this pooled window's shares, with
   * their 2xx answers. Absent or zero for the run window.
   */
  readonly leftOut?: { readonly runs: number; readonly answers: number };
}

export interface ReportFinding {
  readonly kind:
    | 'weight-drift'
    | 'failover'
    | 'config-drift'
    | 'auth-failure'
    | 'errors'
    | 'unidentified'
    | 'overdispersion'
    | 'deploy-failed'
    | 'policy'
    | 'degraded-data'
    /** Every probe of the primary window failed (no 2xx at all). */
    | 'outage'
    /** The latest run never reached the pool: the verifier cannot reach the gateway (refused, DNS, TLS, 401/403/404 for its own key or URL). */
    | 'blind'
    | string;
  readonly severity: 'alert' | 'warning' | 'info';
  readonly backend?: string;
  readonly message: string;
}
