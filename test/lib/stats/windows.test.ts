import { DEFAULT_WINDOWS, expectedFalsePagesPerDay, windowBounds } from '../../../src/lib/stats/windows';
import { StatsInputError } from '../../../src/lib/stats/StatsInputError';

describe('windows', () => {
  it('defaults to run 1e-4, hour 2e-4 and day 1e-3', () => {
    expect(DEFAULT_WINDOWS.map((w) => [w.name, w.alpha])).toEqual([['run', 1e-4], ['hour', 2e-4], ['day', 1e-3]]);
  });

  it('budgets about 0.035 false pages a day, about one per 29 days at worst (Bonferroni)', () => {
    const perDay = expectedFalsePagesPerDay();
    expect(perDay).toBeCloseTo(0.0288 + 0.0048 + 0.001, 10);
    expect(30 * perDay).toBeLessThan(1.05);
  });

  it('computes window bounds ending now, inclusive of the current millisecond', () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    expect(windowBounds('hour', now)).toEqual({ fromMs: now + 1 - 3_600_000, toMs: now + 1 });
    expect(windowBounds('day', now)).toEqual({ fromMs: now + 1 - 86_400_000, toMs: now + 1 });
    expect(windowBounds('run', now, now - 20_000)).toEqual({ fromMs: now - 20_000, toMs: now + 1 });
  });

  it('needs a run start for the run window, not after now', () => {
    expect(() => windowBounds('run', 1000)).toThrow(StatsInputError);
    expect(() => windowBounds('run', 1000, 2000)).toThrow(/runStartMs/);
  });
});
