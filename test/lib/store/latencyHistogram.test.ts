import {
  LATENCY_BUCKET_RATIO,
  LATENCY_RELATIVE_ERROR,
  MAX_LATENCY_BUCKET,
  latencyBucketOf,
  latencyOfBucket,
  percentileOfHistogram,
} from '../../../src/lib/store/latencyHistogram';
import { createRandom } from '../../../src/lib/stats/random';

/** A seeded uniform stream (mulberry32, shared with the statistics simulations). */
const random = (seed: number): (() => number) => createRandom(seed).next;

describe('latency histogram', () => {
  test('puts every value at or above its bucket’s lower bound and below its upper bound, exact bounds included', () => {
    for (let bucket = 1; bucket < MAX_LATENCY_BUCKET; bucket += 1) {
      const lower = LATENCY_BUCKET_RATIO ** (bucket - 1);
      expect(latencyBucketOf(lower)).toBe(bucket);
      expect(latencyBucketOf(lower * (1 + 1e-12))).toBe(bucket);
      expect(latencyBucketOf(LATENCY_BUCKET_RATIO ** bucket * (1 - 1e-12))).toBe(bucket);
    }
    expect(latencyBucketOf(0)).toBe(0);
    expect(latencyBucketOf(0.999)).toBe(0);
    expect(latencyBucketOf(-5)).toBe(0);
    expect(latencyBucketOf(Number.NaN)).toBe(0);
    expect(latencyBucketOf(1e12)).toBe(MAX_LATENCY_BUCKET);
  });

  test('reports p50 and p95 within √1.1 − 1 ≈ 4.9% of the exact nearest-rank value over 200 seeded samples', () => {
    expect(LATENCY_RELATIVE_ERROR).toBeCloseTo(0.0488, 4);
    const next = random(42);
    let worst = 0;
    for (let trial = 0; trial < 200; trial += 1) {
      const size = 1 + Math.floor(next() * 400);
      const values = Array.from({ length: size }, () => Math.exp(next() * 10));
      const histogram = new Map<number, number>();
      for (const value of values) {
        const bucket = latencyBucketOf(value);
        histogram.set(bucket, (histogram.get(bucket) ?? 0) + 1);
      }
      const sorted = [...values].sort((a, b) => a - b);
      for (const quantile of [0.5, 0.95, 0.99, 0.01, 1]) {
        const exact = sorted[Math.max(1, Math.ceil(quantile * size)) - 1] ?? Number.NaN;
        const estimate = percentileOfHistogram(histogram, quantile) ?? Number.NaN;
        worst = Math.max(worst, Math.abs(estimate - exact) / exact);
      }
    }
    expect(worst).toBeLessThanOrEqual(LATENCY_RELATIVE_ERROR + 1e-12);
    // The bound is tight-ish, not vacuous: some estimates come close to it.
    expect(worst).toBeGreaterThan(LATENCY_RELATIVE_ERROR * 0.8);
  });

  test('returns null for an empty histogram and 0.5 ms for sub-millisecond latencies', () => {
    expect(percentileOfHistogram(new Map(), 0.5)).toBeNull();
    expect(percentileOfHistogram(new Map([[0, 3]]), 0.95)).toBe(0.5);
    expect(latencyOfBucket(0)).toBe(0.5);
  });
});
