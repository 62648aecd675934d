import type { ProbeRecord, ProbeRunInfo, ProbeRunSummary, RunState } from '../probe/types';

/**
 * Ports between the functions and where evidence lives. Locally both are the SQLite store; in Azure the sink
 * is Application Insights and the source is Azure Monitor Logs. The functions never know which they got.
 */

/**
 * Where probe records are written as they happen (so a killed run keeps what it already recorded). A sink may
 * buffer briefly (SQLite: at most 20 ms / 200 probes; App Insights: its export interval); `flush` delivers it.
 */
export interface ProbeSink {
  beginRun(run: ProbeRunInfo): Promise<void>;
  recordProbe(record: ProbeRecord): Promise<void>;
  finishRun(summary: ProbeRunSummary): Promise<void>;
  /** One summary per run: the verdict and per-backend shares (App Insights: a custom event plus metrics). */
  recordVerdict(verdict: RunVerdictTelemetry): Promise<void>;
  /** Deliver anything buffered (App Insights: `flush`). */
  flush(): Promise<void>;
}

/** What is emitted once per run so Azure Monitor alert rules work without KQL. */
export interface RunVerdictTelemetry {
  readonly runId: string;
  readonly pool: string;
  readonly status: string;
  readonly probesSent: number;
  readonly tokensUsed: number;
  /** Observed share per backend name in [0, 1] (null with no answers). */
  readonly shares: Readonly<Record<string, number | null>>;
  /** Largest |observed − expected| over backends, in percentage points. */
  readonly worstDeviationInPoints: number;
  /** Alert-worthy health after this run: ok | drift | failover | config-drift. */
  readonly health: string;
}

/** A time window, epoch milliseconds, `fromMs` inclusive, `toMs` exclusive. */
export interface TimeWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

/** Per-backend evidence inside a window. */
export interface BackendEvidence {
  readonly backend: string;
  /** 2xx probes identified as this backend: the counts the share is computed from. */
  readonly answered: number;
  /** Non-2xx answers identified as this backend, keyed by status, e.g. `{"429": 41}`. */
  readonly errorsByStatus: Readonly<Record<string, number>>;
  readonly latencyP50InMs: number | null;
  readonly latencyP95InMs: number | null;
}

/** Answer counts per backend in one time bin (for the share-over-time chart). */
export interface EvidenceBin {
  readonly startMs: number;
  /** 2xx answers per backend name in this bin. */
  readonly answered: Readonly<Record<string, number>>;
  /** 2xx answers that could not be identified in this bin. */
  readonly unidentified: number;
  /** Failed probes (non-2xx, timeout, network) in this bin. */
  readonly failed: number;
}

/** 2xx answers per backend of one run, for the dispersion index φ. */
export interface RunCounts {
  readonly runId: string;
  readonly startedAtMs: number;
  readonly answered: Readonly<Record<string, number>>;
  /** All probes of the run, whatever their outcome (absent when the source cannot tell). */
  readonly probes?: number;
  /** The run's state when read (absent when the source cannot tell). */
  readonly state?: RunState;
}

/** Everything the verdict and the report need about one window. Size grows with backends × bins, not probes. */
export interface WindowEvidence {
  readonly window: TimeWindow;
  /** `probes`: this verifier's synthetic probes; `all-traffic`: APIM's own (possibly sampled) telemetry. */
  readonly source: 'probes' | 'all-traffic';
  /** All probes (or requests) in the window, whatever their outcome. */
  readonly total: number;
  /** 2xx answers, identified or not. */
  readonly answered: number;
  /**
   * 2xx answers that matched no backend: count and the most frequent identifier values (`""` = header absent), at
   * most 20 values of at most 200 characters (see util/boundedCounts.ts); `otherAnswers` counts the answers whose
   * value was not kept (absent = 0). `count` is always exact.
   */
  readonly unidentified: { readonly count: number; readonly values: Readonly<Record<string, number>>; readonly otherAnswers?: number };
  readonly backends: readonly BackendEvidence[];
  /** Every failed probe, identified or not. */
  readonly errors: {
    readonly byStatus: Readonly<Record<string, number>>;
    readonly timeout: number;
    readonly network: number;
  };
  readonly bins: readonly EvidenceBin[];
  readonly binInMs: number;
  /** Per run, newest last (probes source only; may be empty). */
  readonly runs: readonly RunCounts[];
  /** Runs in the window that never finished (process killed mid-run). */
  readonly incompleteRuns: number;
  readonly tokensUsed: number;
  /** Set when the data is incomplete (partial query failure, timeout): shown as degraded, never a silent zero. */
  readonly degraded: string | undefined;
  /**
   * Probes the gateway's token limit refused (kind `gateway-throttled`): counted in `total` only, never in `errors`,
   * shares, bins' `failed` or outage evidence. Absent when the source has none to report (= 0).
   */
  readonly gatewayThrottled?: GatewayThrottledEvidence;
  /**
   * Sources with ingestion delay (Azure Monitor Logs): the window is complete up to `completeUpToMs`; the runs
   * in `arriving` (finish marker or probes not all in yet) are left out of every count until they are. Absent
   * when the source has no delay (the local store).
   */
  readonly completeness?: WindowCompleteness;
}

/** What the gateway's token limit did to the probes of a window. */
export interface GatewayThrottledEvidence {
  readonly count: number;
  /** `Retry-After` of the newest throttled probe, in seconds (null when it had none or the source cannot tell). */
  readonly lastRetryAfterSeconds: number | null;
  /** The newest `remaining-tokens` header seen on any probe of the window (null when none carried it). */
  readonly remainingTokens: number | null;
}

/** How far a window's data is complete, and which runs are still arriving. */
export interface WindowCompleteness {
  readonly completeUpToMs: number;
  readonly arriving: readonly { readonly runId: string; readonly received: number; readonly probesSent: number | null }[];
}

/** Where windows of evidence are read from. */
export interface EvidenceSource {
  readWindow(pool: string, window: TimeWindow, binInMs: number, signal?: AbortSignal): Promise<WindowEvidence>;
}
