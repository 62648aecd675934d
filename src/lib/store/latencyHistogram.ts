/**
 * Fixed log-spaced latency buckets, so percentiles come from summed counts instead of millions of rows.
 *
 * Bucket 0 holds [0, 1) ms; bucket k ≥ 1 holds [R^(k-1), R^k) ms with R = 1.1. A percentile is reported as the
 * geometric middle of the bucket holding the nearest-rank order statistic, so it is within
 * {@link LATENCY_RELATIVE_ERROR} (√1.1 − 1 ≈ 4.9%) of the exact nearest-rank percentile for latencies ≥ 1 ms,
 * and within 0.5 ms below 1 ms. Latencies beyond R^{@link MAX_LATENCY_BUCKET} (≈ 70 minutes, beyond any probe timeout) share the last bucket.
 */

/** Ratio between consecutive bucket bounds. */
export const LATENCY_BUCKET_RATIO = 1.1;

/** Largest relative error of a reported percentile for latencies ≥ 1 ms: √R − 1. */
export const LATENCY_RELATIVE_ERROR = Math.sqrt(LATENCY_BUCKET_RATIO) - 1;

/** Index of the last bucket. */
export const MAX_LATENCY_BUCKET = 160;

const LOG_RATIO = Math.log(LATENCY_BUCKET_RATIO);

/** Bucket index of a latency in milliseconds (negative and NaN count as 0). */
export function latencyBucketOf(latencyInMs: number): number {
  if (!(latencyInMs >= 1)) {
    return 0;
  }
  let bucket = 1 + Math.floor(Math.log(latencyInMs) / LOG_RATIO);
  // Correct floating-point error at exact bucket bounds: bucket k must satisfy R^(k-1) <= x < R^k.
  while (bucket > 1 && LATENCY_BUCKET_RATIO ** (bucket - 1) > latencyInMs) {
    bucket -= 1;
  }
  while (LATENCY_BUCKET_RATIO ** bucket <= latencyInMs) {
    bucket += 1;
  }
  return Math.min(bucket, MAX_LATENCY_BUCKET);
}

/** The value reported for a bucket: its geometric middle (0.5 ms for bucket 0). */
export function latencyOfBucket(bucket: number): number {
  return bucket <= 0 ? 0.5 : LATENCY_BUCKET_RATIO ** (bucket - 0.5);
}

/**
 * Nearest-rank percentile (`quantile` in (0, 1]) of a histogram given as bucket → count; null when empty.
 * The k-th smallest latency (k = ⌈q·n⌉) lies in the bucket where the cumulative count first reaches k.
 */
export function percentileOfHistogram(histogram: ReadonlyMap<number, number>, quantile: number): number | null {
  let total = 0;
  for (const count of histogram.values()) {
    total += count;
  }
  if (total === 0) {
    return null;
  }
  const rank = Math.max(1, Math.ceil(quantile * total));
  let cumulative = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    cumulative += histogram.get(bucket) ?? 0;
    if (cumulative >= rank) {
      return latencyOfBucket(bucket);
    }
  }
  return null;
}
