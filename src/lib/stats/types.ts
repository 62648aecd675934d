/** Verdict types: pure data produced by the decision engine from expected shares and window evidence. */

/** `ok`: consistent with the weights; `drift`: weight drift or failover; `inconclusive`: too little data. */
export type VerdictStatus = 'ok' | 'drift' | 'inconclusive' | 'no-data';

/** Decision thresholds; every one is a setting with a documented default (see loadConfig). */
export interface VerdictOptions {
  /** Family-wise false-alarm probability for this window (split across weighted backends). */
  readonly alpha: number;
  /** Practical-significance gate: a backend is flagged only if it is off by at least this many points. */
  readonly toleranceInPoints: number;
  /** Dispersion index to inflate standard errors by √φ (1 = independence assumed). */
  readonly dispersion?: number;
  /**
   * Smallest drift, in percentage points, the window must be able to detect (power ≥ 0.5 at alpha/K) before
   * it may say `ok` instead of `inconclusive`. Default: `toleranceInPoints` (never below 1 point).
   */
  readonly resolutionInPoints?: number;
}

export interface ShareInterval {
  /** Lower bound of the observed share, in [0, 1]. */
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
  /** Sentences with numbers, e.g. "East US answered 18% of 720 probes in the last hour; expected 33% …". */
  readonly explanations: readonly string[];
}
