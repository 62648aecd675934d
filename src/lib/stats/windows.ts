import { StatsInputError } from './StatsInputError';

/** Names of the verdict windows. */
export type WindowName = 'run' | 'hour' | 'day';

/** A verdict window: its family-wise false-alarm probability and span. */
export interface VerdictWindow {
  readonly name: WindowName;
  /** Family-wise false-alarm probability per evaluation (split over the weighted backends). */
  readonly alpha: number;
  /** Span in ms; null for `run` (the run's own duration). */
  readonly spanInMs: number | null;
  /** Phrase for explanations, e.g. "in the last hour". */
  readonly description: string;
}

const HOUR_IN_MS = 3_600_000;
const DAY_IN_MS = 86_400_000;

/**
 * The default windows and how the false-page budget is split between them, for a verifier that runs every
 * 5 minutes (288 runs a day) and re-judges the hour every hour and the day once a day:
 *
 *   run   alpha 1e-4 × 288 evaluations/day = 0.0288
 *   hour  alpha 2e-4 ×  24 evaluations/day = 0.0048
 *   day   alpha 1e-3 ×   1 evaluation/day  = 0.0010
 *   total (Bonferroni, an upper bound)     ≈ 0.035 expected false pages a day → about 1 per 29 days.
 *
 * That is the ≈0.03/day (≤ 1 false page per 30 days) budget of the design: the sum is an upper bound, and the
 * exact tests are conservative (discreteness: a healthy 60-answer 2:1 run is flagged with probability
 * 8.9e-5, not 1e-4; more backends split alpha Bonferroni-style, which is conservative too), so the real rate
 * is about one per 30 days or better. If the hourly window is
 * re-judged after every run (288 times a day), its evaluations overlap by 11/12 and are strongly correlated,
 * so it still costs about what 24 evaluations do, but not provably so. Failover findings cost no alpha: a
 * backup answer cannot happen while the pool follows its definition. Over-dispersed probes (φ > 1.25)
 * break every figure here unless φ is passed to the verdict.
 */
export const DEFAULT_WINDOWS: readonly VerdictWindow[] = [
  { name: 'run', alpha: 1e-4, spanInMs: null, description: 'in this run' },
  { name: 'hour', alpha: 2e-4, spanInMs: HOUR_IN_MS, description: 'in the last hour' },
  { name: 'day', alpha: 1e-3, spanInMs: DAY_IN_MS, description: 'in the last 24 hours' },
];

/** Evaluations per day the budget above assumes, by window. */
export const EVALUATIONS_PER_DAY: Readonly<Record<WindowName, number>> = { run: 288, hour: 24, day: 1 };

/** Expected false pages a day for a set of windows: Σ alpha × evaluations per day (Bonferroni upper bound). */
export function expectedFalsePagesPerDay(windows: readonly VerdictWindow[] = DEFAULT_WINDOWS): number {
  return windows.reduce((sum, w) => sum + w.alpha * EVALUATIONS_PER_DAY[w.name], 0);
}

/**
 * The time range of a window ending now, epoch ms, `fromMs` inclusive and `toMs` exclusive; `toMs` is
 * `nowMs + 1` so a probe recorded in the current millisecond is included. `run` spans from `runStartMs`.
 * @throws StatsInputError when `nowMs` is not finite, `run` lacks `runStartMs`, or `runStartMs` is after `nowMs`.
 */
export function windowBounds(name: WindowName, nowMs: number, runStartMs?: number): { fromMs: number; toMs: number } {
  if (!Number.isFinite(nowMs)) throw new StatsInputError('nowMs', nowMs, 'must be a finite epoch time in ms');
  const toMs = nowMs + 1;
  switch (name) {
    case 'run':
      if (runStartMs === undefined || !Number.isFinite(runStartMs)) {
        throw new StatsInputError('runStartMs', runStartMs, 'the run window needs the run start time');
      }
      if (runStartMs > nowMs) throw new StatsInputError('runStartMs', runStartMs, `is after nowMs (${nowMs})`);
      return { fromMs: runStartMs, toMs };
    case 'hour':
      return { fromMs: toMs - HOUR_IN_MS, toMs };
    case 'day':
      return { fromMs: toMs - DAY_IN_MS, toMs };
    default:
      throw new StatsInputError('name', name, 'must be run, hour or day');
  }
}
