import { planSampleSize } from '../../../src/lib/stats/planSampleSize';
import { createRandom } from '../../../src/lib/stats/random';
import { binomialTestPValue } from '../../../src/lib/stats/binomial';

const twoToOne = [2 / 3, 1 / 3];

/** statistics.md figures were computed with the exact test per backend at alpha/K, K = 1 for two backends. */
function withinPercent(actual: number, reference: number, percent: number): void {
  expect(Math.abs(actual / reference - 1)).toBeLessThanOrEqual(percent / 100);
}

describe('planSampleSize', () => {
  it.each([
    ['1:1', [0.5, 0.5], 152, 78],
    ['3:1', [0.75, 0.25], 531, 280],
    ['a dead backend', [1, 0], 13, 11.36],
    ['0.60/0.40', [0.6, 0.4], 920, 474],
    ['0.70/0.30', [0.7, 0.3], 3460, 1810],
  ])('matches statistics.md for a 2:1 pool drifting to %s at alpha 0.01, power 0.95 (±5%% fixed N, ±3%% bound)', (_name, trueShares, fixedN, bound) => {
    const plan = planSampleSize({ expectedShares: twoToOne, driftInPoints: 0, alpha: 0.01, power: 0.95, trueShares });
    withinPercent(plan.fixedN, fixedN, 5);
    withinPercent(plan.lowerBound, bound, 3);
    expect(plan.sequentialMeanN).toBeGreaterThan(plan.lowerBound);
  });

  it.each([
    ['a dead backend', [2 / 3, 1 / 3], [1, 0], 24],
    ['a 10% backup', [2 / 3, 1 / 3, 0], [0.6, 0.3, 0.1], 29],
    ['1:1', [2 / 3, 1 / 3], [0.5, 0.5], 260],
    ['3:1', [2 / 3, 1 / 3], [0.75, 0.25], 915],
    ['3:2:1 with the weight-1 backend dead', [3 / 6, 2 / 6, 1 / 6], [0.6, 0.4, 0], 59],
  ])('matches the one-off check (alpha 1e-4, power 0.95) for %s', (_name, expectedShares, trueShares, fixedN) => {
    withinPercent(planSampleSize({ expectedShares, driftInPoints: 0, alpha: 1e-4, power: 0.95, trueShares }).fixedN, fixedN, 5);
  });

  it('plans ±10-point drifts of a 2:1 pool at alpha 1e-4 within 5% of the 625–714 range (worst direction)', () => {
    const plan = planSampleSize({ expectedShares: twoToOne, driftInPoints: 10, alpha: 1e-4, power: 0.95 });
    expect(plan.fixedN).toBeGreaterThanOrEqual(625);
    expect(plan.fixedN).toBeLessThanOrEqual(714 * 1.05);
  });

  it('delivers the planned power: the exact test flags 1:1 at N = fixedN in ≥ 95% of 2,000 seeded runs (minus 3 SE)', () => {
    const { fixedN } = planSampleSize({ expectedShares: twoToOne, driftInPoints: 0, alpha: 0.01, power: 0.95, trueShares: [0.5, 0.5] });
    const random = createRandom(42);
    const runs = 2000;
    let flagged = 0;
    for (let r = 0; r < runs; r++) {
      if (binomialTestPValue(random.binomial(fixedN, 0.5), fixedN, 2 / 3) < 0.01) flagged++;
    }
    expect(flagged / runs).toBeGreaterThanOrEqual(0.95 - 3 * Math.sqrt((0.95 * 0.05) / runs));
  });

  it('reports Infinity when the drift is no larger than the tolerance and power 0.95 is asked; plans a larger one against the band edge', () => {
    expect(planSampleSize({ expectedShares: twoToOne, driftInPoints: 5, alpha: 2e-4, power: 0.95, toleranceInPoints: 5 }).fixedN).toBe(Infinity);
    // 10 points off is 5 beyond the tolerance band: about (10/5)² ≈ 4× the answers the point-null test would need.
    const banded = planSampleSize({ expectedShares: twoToOne, driftInPoints: 10, alpha: 2e-4, power: 0.95, toleranceInPoints: 5 }).fixedN;
    const pointNull = planSampleSize({ expectedShares: twoToOne, driftInPoints: 10, alpha: 2e-4, power: 0.95 }).fixedN;
    expect(banded).toBeGreaterThan(2 * pointNull);
    expect(banded).toBeLessThan(3000);
  });

  it('rejects a drift no backend can make and a power outside (0, 1), naming the field', () => {
    expect(() => planSampleSize({ expectedShares: [0.5, 0.5], driftInPoints: 60, alpha: 0.01, power: 0.95 })).toThrow(/driftInPoints/);
    expect(() => planSampleSize({ expectedShares: twoToOne, driftInPoints: 10, alpha: 0.01, power: 1 })).toThrow(/power/);
    expect(() => planSampleSize({ expectedShares: twoToOne, driftInPoints: 10, alpha: 0.01, power: 0.9, trueShares: [1] })).toThrow(/trueShares/);
  });
});
