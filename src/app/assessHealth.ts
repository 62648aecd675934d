import type { StoredRunRecord } from '../lib/state/types';

/** What `/api/health` answers when the services are up. */
export interface HealthAnswer {
  readonly status: 'ok' | 'stale';
  /** When the latest run finished (ISO 8601), or null when none has. */
  readonly lastRunAt: string | null;
  readonly reason: string;
}

export interface HealthInputs {
  /** Recent runs, newest first (any state). */
  readonly runs: readonly StoredRunRecord[];
  readonly nowMs: number;
  /** When this process built its services: before the first run, staleness counts from here. */
  readonly sinceMs: number;
  /** The longest gap between two timer firings. */
  readonly intervalInMs: number;
  /** How long a run may take at most (probes ÷ concurrency × timeout), added as grace. */
  readonly longestRunInMs: number;
}

/** Grace on top of two intervals and the longest run: timer jitter, a slow Logs query, a cold start. */
const FIXED_GRACE_IN_MS = 30_000;

/**
 * Health means probing: `stale` when no run has finished within two schedule intervals plus a grace (the longest
 * run may take, plus 30 s); `ok` otherwise. Pure: the caller reads the runs and the clock.
 */
export function assessHealth(inputs: HealthInputs): HealthAnswer {
  const staleAfterMs = 2 * inputs.intervalInMs + inputs.longestRunInMs + FIXED_GRACE_IN_MS;
  const finished = inputs.runs.find((run) => run.finishedAtMs !== undefined && run.state !== 'running');
  const lastRunAt = finished?.finishedAtMs !== undefined ? new Date(finished.finishedAtMs).toISOString() : null;
  const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
  if (finished?.finishedAtMs !== undefined) {
    const age = inputs.nowMs - finished.finishedAtMs;
    return age <= staleAfterMs
      ? { status: 'ok', lastRunAt, reason: `the latest run finished ${seconds(age)} ago (stale after ${seconds(staleAfterMs)})` }
      : { status: 'stale', lastRunAt, reason: `no run has finished for ${seconds(age)} (more than ${seconds(staleAfterMs)}: two schedule intervals plus grace)` };
  }
  const waited = inputs.nowMs - inputs.sinceMs;
  return waited <= staleAfterMs
    ? { status: 'ok', lastRunAt, reason: `no run has finished yet; started ${seconds(waited)} ago (stale after ${seconds(staleAfterMs)})` }
    : { status: 'stale', lastRunAt, reason: `no run has finished in the ${seconds(waited)} since start-up (more than ${seconds(staleAfterMs)})` };
}
