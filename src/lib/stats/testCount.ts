/**
 * K, the number of separate share tests a window runs, which the family-wise alpha is split over (Bonferroni:
 * each backend is tested at alpha / K).
 *
 * Only backends with an expected share strictly between 0 and 1 are tested for their share (a share of 0 is
 * the failover rule, a share of 1 leaves nothing to split). With exactly two such backends their counts are
 * complementary (k₂ = n − k₁ as long as nobody else answers, and anyone else answering is a failover finding
 * anyway), so the two exact tests are the same test and K = 1. This is also how the reference numbers were
 * computed: the 2:1 hourly window (720 answers, alpha 2e-4) flags shares ≤ 60.0% or ≥ 73.2% only with K = 1.
 */
export function weightedBackendTestCount(expectedShares: readonly number[]): number {
  const weighted = expectedShares.filter((share) => share > 0 && share < 1).length;
  return weighted === 2 ? 1 : Math.max(1, weighted);
}
