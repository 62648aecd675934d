/** The fields of a backend that decide its share of traffic. */
export interface ShareInput {
  readonly name: string;
  readonly priority?: number | undefined;
  readonly weight?: number | undefined;
}

/**
 * Expected share of answers per backend, following APIM pool semantics (lower priority number = preferred).
 *
 * - The best (lowest-number) priority group that has at least one available member takes all traffic;
 *   every other backend, and every unavailable backend, expects 0.
 * - Inside that group traffic is split over the available members by weight. An absent priority counts
 *   as 0 (the highest priority); an absent weight counts as 0 next to weighted members.
 * - When the available members of the group weigh 0 in total (all weights absent, or all 0), the split
 *   is equal. All weights absent = equal split is documented; the all-zero case is *unconfirmed* for APIM
 *   (the definition validator rejects it, so it only matters for pools read back from ARM).
 * - Every backend unavailable → every share is 0 (the gateway answers 503).
 *
 * Pure and exact up to floating point: the shares of a non-empty result sum to 1 within 1e-12.
 * Names are expected to be unique; `unavailable` is matched on the exact name.
 *
 * @param backends the pool members (any order).
 * @param unavailable names of members whose circuit breaker is open; default none.
 * @returns a map from every backend name to its share in [0, 1], in input order.
 */
export function computeExpectedShares(
  backends: readonly ShareInput[],
  unavailable: ReadonlySet<string> = new Set<string>(),
): Map<string, number> {
  const shares = new Map<string, number>();
  for (const backend of backends) {
    shares.set(backend.name, 0);
  }
  const available = backends.filter((backend) => !unavailable.has(backend.name));
  if (available.length === 0) {
    return shares;
  }
  const bestPriority = Math.min(...available.map(effectivePriority));
  const group = available.filter((backend) => effectivePriority(backend) === bestPriority);
  const totalWeight = group.reduce((sum, backend) => sum + effectiveWeight(backend), 0);
  for (const backend of group) {
    shares.set(
      backend.name,
      totalWeight > 0 ? effectiveWeight(backend) / totalWeight : 1 / group.length,
    );
  }
  return shares;
}

function effectivePriority(backend: ShareInput): number {
  return backend.priority ?? 0;
}

function effectiveWeight(backend: ShareInput): number {
  return backend.weight ?? 0;
}
