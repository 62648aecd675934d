import { assessWindow, type AssessedBackend } from '../../../src/lib/stats/assessWindow';
import { bandTestPValue, isWithinBand, planEquivalenceSize } from '../../../src/lib/stats/equivalence';
import { clopperPearsonInterval } from '../../../src/lib/stats/binomial';
import { createRandom } from '../../../src/lib/stats/random';
import { evidenceOf } from './evidence';

const twoToOne: readonly AssessedBackend[] = [
  { name: 'west', priority: 1, expectedShare: 2 / 3, isPrimary: true, region: 'West US' },
  { name: 'east', priority: 1, expectedShare: 1 / 3, isPrimary: true, region: 'East US' },
];

function judge(west: number, east: number, alpha: number, sequential?: { state: 'drift' | 'ok'; identified: number; reason: string }) {
  return assessWindow({ label: 'run', backends: twoToOne, evidence: evidenceOf({ west, east }), options: { alpha, toleranceInPoints: 5 }, windowDescription: 'in this run', sequential });
}

/** Seeded binomial draws of the West US count, and the rate of a verdict with a 99.9% normal bound on its error. */
function rate(seed: number, runs: number, n: number, westShare: number, alpha: number, status: string): { rate: number; bound: (p: number) => number } {
  const random = createRandom(seed);
  let hits = 0;
  for (let r = 0; r < runs; r++) {
    const west = random.binomial(n, westShare);
    if (judge(west, n - west, alpha).status === status) hits++;
  }
  return { rate: hits / runs, bound: (p) => p + 3.3 * Math.sqrt((p * (1 - p)) / runs) };
}

describe('verdicts that mean what they say', () => {
  it('tests "deviation > tolerance": a split 3 points off is flagged in no more than alpha of 2,000 seeded 3,000-answer windows (alpha 0.01)', () => {
    const { rate: drift, bound } = rate(11, 2000, 3000, 2 / 3 - 0.03, 0.01, 'drift');
    expect(drift).toBeLessThanOrEqual(bound(0.01));
  });

  it('the band test is exact: p < a exactly when the Clopper–Pearson interval at 1 − a lies outside expected ± tolerance', () => {
    for (const k of [700, 740, 760, 780, 800, 820, 850]) {
      const ci = clopperPearsonInterval(k, 1200, 1 - 1e-3);
      const outside = ci.low > 2 / 3 + 0.05 || ci.high < 2 / 3 - 0.05;
      expect(bandTestPValue(k, 1200, 2 / 3, 5) < 1e-3).toBe(outside);
    }
  });

  it('says ok while a share is exactly 5 points off in at most 5% of 2,000 seeded windows of 1,200 answers', () => {
    const { rate: ok, bound } = rate(12, 2000, 1200, 2 / 3 - 0.05, 1e-4, 'ok');
    expect(ok).toBeLessThanOrEqual(bound(0.05));
  });

  it('never says ok for a true 1:1 pool at 60 answers (1,000 seeded runs), which the old gate passed 79% of the time', () => {
    const { rate: ok } = rate(13, 1000, 60, 0.5, 1e-4, 'ok');
    expect(ok).toBe(0);
  });

  it('shows a healthy 2:1 pool ok in at least 95% of 1,000 seeded windows of the planned size (the hour window of the timer)', () => {
    const planned = planEquivalenceSize({ expectedShares: [2 / 3, 1 / 3], toleranceInPoints: 5, power: 0.95 });
    expect(planned).toBeGreaterThan(1100);
    expect(planned).toBeLessThanOrEqual(1200);
    const { rate: ok } = rate(14, 1000, planned, 2 / 3, 2e-4, 'ok');
    // 95% planned; 3.3 standard errors of slack below.
    expect(ok).toBeGreaterThanOrEqual(0.95 - 3.3 * Math.sqrt((0.95 * 0.05) / 1000));
  });

  it('isWithinBand agrees with the interval of the ok claim', () => {
    for (const k of [760, 780, 800, 820, 840]) {
      const ci = clopperPearsonInterval(k, 1200, 0.9);
      expect(isWithinBand(k, 1200, 2 / 3, 5, 0.05)).toBe(ci.low > 2 / 3 - 0.05 && ci.high < 2 / 3 + 0.05);
    }
  });

  it('keeps a sequential stop on drift final: answers that were in flight cannot turn it into ok', () => {
    // 21 answers, West 9 (42.9% against 66.7%): the fixed-N tests alone would not flag this.
    expect(judge(9, 12, 1e-4).status).not.toBe('drift');
    const stopped = judge(9, 12, 1e-4, { state: 'drift', identified: 8, reason: 'Bayes factor ≥ 1/alpha' });
    expect(stopped.status).toBe('drift');
    expect(stopped.decidedBy).toBe('sequential-drift');
    expect(stopped.meaning).toMatch(/stopped the run on drift after 8 identified answers/);
  });

  it('keeps a sequential stop on equivalence as ok, and says which rule decided', () => {
    const stopped = judge(640, 320, 1e-4, { state: 'ok', identified: 950, reason: 'pinned' });
    expect(stopped.status).toBe('ok');
    expect(stopped.decidedBy).toBe('sequential-equivalence');
    expect(judge(800, 400, 1e-4).decidedBy).toBe('fixed-n');
  });
});
