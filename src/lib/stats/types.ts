/** Verdict types: pure data produced by the decision engine from expected shares and window evidence. */

/**
 * `ok`: every weighted share is shown within ± tolerance of its weight (equivalence, error ≤ 5%); `drift`: a share is
 * off by more than the tolerance (false alarms ≤ α for every split within it) or a backup answered (failover);
 * `inconclusive`: neither yet — the assessment says what was ruled out (`resolutionInPoints`) and what it still needs.
 * `no-data`: nothing identified. docs/statistics.md states each guarantee.
 */
export type VerdictStatus = 'ok' | 'drift' | 'inconclusive' | 'no-data';

/** Decision thresholds; every one is a setting with a documented default (see loadConfig). */
export interface VerdictOptions {
  /** Family-wise false-alarm probability for this window (split across weighted backends). */
  readonly alpha: number;
  /** Practical-significance gate: a backend is flagged only if it is off by at least this many points. */
  readonly toleranceInPoints: number;
  /** Dispersion index to inflate standard errors by √φ (1 = independence assumed). */
  readonly dispersion?: number;
  /** Error rate β of the `ok` claim (ok while some share is off by ≥ the tolerance). Default 0.05 (OK_MISS_RATE). */
  readonly okMissRate?: number;
}

/** Which rule decided a window's verdict. */
export type DecidedBy =
  /** The always-valid sequential test stopped the run on drift (final: probes still in flight cannot undo it). */
  | 'sequential-drift'
  /** The sequential test stopped the run on equivalence (every share's confidence sequence inside the band). */
  | 'sequential-equivalence'
  /** The window's fixed-N tests on all its answers (at the probe cap, or a pooled window). */
  | 'fixed-n';

/** A stop decision of the sequential test that the window verdict must respect. */
export interface SequentialVerdict {
  readonly state: 'drift' | 'ok';
  /** Identified answers when it decided. */
  readonly identified: number;
  readonly reason: string;
}

export interface ShareInterval {
  /** Lower bound of the observed share, in [0, 1] (the `ok` claim's interval: confidence 1 − 2β/K). */
  readonly low: number;
  readonly high: number;
  /** Confidence level of the interval, e.g. 0.99. */
  readonly confidence: number;
}

export interface BackendAssessment {
  readonly backend: string;
  readonly expectedShare: number;
  readonly observedCount: number;
  readonly observedShare: number | null;
  readonly interval: ShareInterval | null;
  /** Exact two-sided binomial p-value against the expected share (null with no data). */
  readonly pValue: number | null;
  /**
   * p-value of "within ± tolerance" (twice the exact tail at the nearer edge of expected ± tolerance): the drift
   * test; the backend is flagged when it is below alpha/K. Null with no data or for a share expected at 0 or 1.
   */
  readonly bandPValue?: number | null;
  /** observed − expected, in percentage points (null with no data). */
  readonly deviationInPoints: number | null;
  readonly flagged: boolean;
}

export interface FailoverFinding {
  /** 2xx answers that came from a backend outside the best priority group. */
  readonly count: number;
  readonly backends: readonly { readonly backend: string; readonly priority: number; readonly count: number }[];
}

/** The verdict for one window. */
export interface Assessment {
  /** Window label, e.g. `run`, `hour`, `day`. */
  readonly window: string;
  readonly status: VerdictStatus;
  /** Identified 2xx answers the shares are computed from. */
  readonly sampleSize: number;
  readonly alpha: number;
  readonly toleranceInPoints: number;
  readonly backends: readonly BackendAssessment[];
  readonly failover: FailoverFinding | null;
  /** With `inconclusive`: how many more identified answers a decision would need (approximate). */
  readonly probesNeeded: number | null;
  /** Which rule decided. */
  readonly decidedBy: DecidedBy;
  /**
   * The resolution reached, in points: no weighted share is off by more than this (each bound at confidence
   * 1 − β/K). `ok` needs it below the tolerance. Null without data or without weighted shares.
   */
  readonly resolutionInPoints: number | null;
  /** True when the resolution rules out a missing backend (every weighted share's interval excludes 0). */
  readonly deadBackendRuledOut: boolean;
  /** What the verdict establishes, in one sentence (e.g. "No backend is missing …; 960 more answers needed …"). */
  readonly meaning: string;
  /** Sentences with numbers, e.g. "East US answered 18% of 720 probes in the last hour; expected 33% …". */
  readonly explanations: readonly string[];
}
