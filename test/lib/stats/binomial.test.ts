import {
  binomialAcceptanceRegion,
  binomialCdf,
  binomialPmf,
  binomialTestPValue,
  clopperPearsonInterval,
  logBinomialCdf,
  logBinomialPmf,
  logGamma,
} from '../../../src/lib/stats/binomial';
import { StatsInputError } from '../../../src/lib/stats/StatsInputError';

function choose(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

describe('binomial arithmetic', () => {
  it('computes log-gamma of integers and halves exactly enough', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 12);
  });

  it('matches the pmf computed from binomial coefficients for small n', () => {
    for (const [k, n, p] of [[3, 10, 0.5], [0, 7, 0.3], [7, 7, 0.3], [12, 30, 2 / 3], [1, 1, 0.25]] as const) {
      const direct = choose(n, k) * p ** k * (1 - p) ** (n - k);
      expect(binomialPmf(k, n, p)).toBeCloseTo(direct, 14);
      expect(Math.abs(binomialPmf(k, n, p) / direct - 1)).toBeLessThan(1e-12);
    }
  });

  it('stays accurate at n = 10^6 (pmf sums to one over the central range, cdf matches the normal tail)', () => {
    let total = 0;
    for (let k = 495_000; k <= 505_000; k++) total += binomialPmf(k, 1_000_000, 0.5);
    expect(total).toBeCloseTo(1, 10);
    // Φ(−2) with continuity correction 0.5/500: 0.02280 at k = 499,000.
    expect(binomialCdf(499_000, 1_000_000, 0.5)).toBeCloseTo(0.02281, 4);
    expect(logBinomialPmf(333_333, 1_000_000, 1 / 3)).toBeCloseTo(-Math.log(Math.sqrt(2 * Math.PI * 1_000_000 * (2 / 9))), 5);
  });

  it('gives the lower and upper tails consistently', () => {
    expect(binomialCdf(3, 10, 0.5)).toBeCloseTo(176 / 1024, 14);
    expect(binomialCdf(10, 10, 0.5)).toBe(1);
    expect(logBinomialCdf(-1, 10, 0.5)).toBe(-Infinity);
    expect(binomialCdf(6, 10, 0.5)).toBeCloseTo(848 / 1024, 14);
  });

  it('computes the exact two-sided p-value as R binom.test does', () => {
    expect(binomialTestPValue(3, 10, 0.5)).toBeCloseTo(0.34375, 12);
    expect(binomialTestPValue(5, 10, 0.5)).toBe(1);
    // binom.test(2, 10, 0.3): every outcome but the mode 3 is as or less likely → 1 − dbinom(3, 10, 0.3).
    expect(binomialTestPValue(2, 10, 0.3)).toBeCloseTo(1 - choose(10, 3) * 0.3 ** 3 * 0.7 ** 7, 12);
    // binom.test(0, 10, 0.5) = 2/1024.
    expect(binomialTestPValue(0, 10, 0.5)).toBeCloseTo(2 / 1024, 14);
    // binom.test(9, 12, 1/3): P(X ≥ 9) + P(X ≤ j) for outcomes below the mean as improbable as 9.
    const pmf = (k: number): number => choose(12, k) * (1 / 3) ** k * (2 / 3) ** (12 - k);
    let expected = 0;
    for (let k = 0; k <= 12; k++) if (pmf(k) <= pmf(9) * (1 + 1e-7)) expected += pmf(k);
    expect(binomialTestPValue(9, 12, 1 / 3)).toBeCloseTo(expected, 12);
    expect(binomialTestPValue(0, 5, 0)).toBe(1);
    expect(binomialTestPValue(1, 5, 0)).toBe(0);
  });

  it('agrees with a brute-force binom.test for every k of n = 1..25 at five probabilities', () => {
    for (let n = 1; n <= 25; n++) {
      for (const p of [0.1, 1 / 3, 0.5, 2 / 3, 0.9]) {
        const pmf = Array.from({ length: n + 1 }, (_, k) => choose(n, k) * p ** k * (1 - p) ** (n - k));
        for (let k = 0; k <= n; k++) {
          const expected = k === n * p ? 1 : Math.min(1, pmf.filter((d) => d <= (pmf[k] as number) * (1 + 1e-7)).reduce((a, b) => a + b, 0));
          expect(Math.abs(binomialTestPValue(k, n, p) - expected)).toBeLessThan(1e-12);
        }
      }
    }
  });

  it('puts exactly the counts with p < level outside the acceptance region (n = 1..60)', () => {
    for (let n = 1; n <= 60; n++) {
      for (const p of [1 / 6, 2 / 3]) {
        const region = binomialAcceptanceRegion(n, p, 0.01);
        for (let k = 0; k <= n; k++) {
          const inside = k >= region.lowestAccepted && k <= region.highestAccepted;
          expect(binomialTestPValue(k, n, p) < 0.01).toBe(!inside);
        }
      }
    }
  });

  it('makes each Clopper–Pearson bound an exact one-sided tail of (1 − confidence)/2', () => {
    for (const [k, n] of [[1, 5], [17, 40], [300, 1000], [49_000, 100_000]] as const) {
      const ci = clopperPearsonInterval(k, n, 0.99);
      expect(1 - binomialCdf(k - 1, n, ci.low)).toBeCloseTo(0.005, 8);
      expect(binomialCdf(k, n, ci.high)).toBeCloseTo(0.005, 8);
    }
  });

  it('gives the Clopper–Pearson interval of 3 of 10 at 95% as [0.0667, 0.6525]', () => {
    const ci = clopperPearsonInterval(3, 10, 0.95);
    expect(ci.low).toBeCloseTo(0.06673951, 7);
    expect(ci.high).toBeCloseTo(0.65245285, 7);
    expect(clopperPearsonInterval(0, 10, 0.95)).toEqual({ low: 0, high: expect.closeTo(1 - 0.025 ** 0.1, 9) });
    expect(clopperPearsonInterval(10, 10, 0.95).high).toBe(1);
  });

  it('puts the 720-answer 2:1 hourly flag boundaries at 60.0% and 73.2% (statistics.md)', () => {
    const region = binomialAcceptanceRegion(720, 2 / 3, 2e-4);
    expect(((region.lowestAccepted - 1) / 720) * 100).toBeCloseTo(60.0, 1);
    expect(((region.highestAccepted + 1) / 720) * 100).toBeCloseTo(73.2, 1);
  });

  it('rejects non-integer counts and impossible probabilities with an error naming the field', () => {
    expect(() => binomialTestPValue(2.5, 10, 0.5)).toThrow(StatsInputError);
    expect(() => binomialTestPValue(2, 10, 1.5)).toThrow(/p = 1.5/);
    expect(() => clopperPearsonInterval(11, 10, 0.95)).toThrow(/k = 11/);
  });
});
