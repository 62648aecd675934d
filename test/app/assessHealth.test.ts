import { assessHealth, type HealthInputs } from '../../src/app/assessHealth';
import type { StoredRunRecord } from '../../src/lib/state/types';

const T0 = Date.UTC(2026, 11, 1, 4, 0, 0);
const MINUTE = 60_000;
/** Every 5 minutes; a run takes at most 2 minutes; stale after 2 × 5 min + 2 min + 30 s = 12.5 min. */
const BASE: Omit<HealthInputs, 'runs' | 'nowMs'> = { sinceMs: T0, intervalInMs: 5 * MINUTE, longestRunInMs: 2 * MINUTE };
const STALE_AFTER = 12.5 * MINUTE;

function finished(startedAtMs: number, state: 'complete' | 'incomplete' = 'complete'): StoredRunRecord {
  return { runId: `run-${startedAtMs}`, pool: 'p', startedAtMs, trigger: 'timer', state, finishedAtMs: startedAtMs + 10_000 };
}

describe('health means probing', () => {
  it('is ok while the latest run finished within two intervals plus grace, naming when', () => {
    const answer = assessHealth({ ...BASE, runs: [finished(T0)], nowMs: T0 + 10_000 + STALE_AFTER });
    expect(answer).toMatchObject({ status: 'ok', lastRunAt: new Date(T0 + 10_000).toISOString() });
    expect(answer.reason).toMatch(/finished 750 s ago \(stale after 750 s\)/);
  });

  it('is stale one millisecond later', () => {
    const answer = assessHealth({ ...BASE, runs: [finished(T0)], nowMs: T0 + 10_001 + STALE_AFTER });
    expect(answer.status).toBe('stale');
    expect(answer.reason).toMatch(/no run has finished for 750 s \(more than 750 s: two schedule intervals plus grace\)/);
  });

  it('looks past a run still running to the latest finished one (an incomplete run counts as finished)', () => {
    const running: StoredRunRecord = { runId: 'r', pool: 'p', startedAtMs: T0 + 20 * MINUTE, trigger: 'timer', state: 'running' };
    const answer = assessHealth({ ...BASE, runs: [running, finished(T0 + 15 * MINUTE, 'incomplete')], nowMs: T0 + 21 * MINUTE });
    expect(answer).toMatchObject({ status: 'ok', lastRunAt: new Date(T0 + 15 * MINUTE + 10_000).toISOString() });
  });

  it('before any run, counts from start-up: ok at first, stale once the window passed without a run', () => {
    expect(assessHealth({ ...BASE, runs: [], nowMs: T0 + MINUTE })).toMatchObject({ status: 'ok', lastRunAt: null });
    expect(assessHealth({ ...BASE, runs: [], nowMs: T0 + STALE_AFTER + 1 })).toMatchObject({ status: 'stale', lastRunAt: null });
  });
});
