import type { RandomSource } from './random';

/** A pool member as the balancer sees it. */
export interface BalancerMember {
  readonly name: string;
  /** Absent priority counts as 0 (the highest). */
  readonly priority: number | undefined;
  readonly weight: number | undefined;
}

export type SelectionAlgorithm = 'weighted-random' | 'smooth-weighted-round-robin';

/**
 * Picks a pool member the way APIM's documentation describes pools: the best (lowest-number) priority
 * group that still has an available member wins; within it, traffic splits by weight over the available
 * members (an absent weight counts as 0 next to weighted members; all zero/absent = equal split, as in
 * `src/lib/pool/computeExpectedShares`). Which algorithm APIM uses inside a group is *unconfirmed*, so both
 * are offered: independent weighted draws, or nginx's smooth weighted round-robin (deterministic).
 * One balancer per gateway instance: state is never shared between instances.
 */
export class Balancer {
  private readonly currentWeights = new Map<string, number>();

  constructor(
    private readonly algorithm: SelectionAlgorithm,
    private readonly random: RandomSource,
  ) {}

  /**
   * Returns the chosen member, or undefined when no member is available. `scope` (the pool's name) keeps
   * the round-robin state of each pool apart when one backend belongs to several pools.
   */
  select<M extends BalancerMember>(members: readonly M[], isAvailable: (member: M) => boolean, scope = ''): M | undefined {
    const available = members.filter(isAvailable);
    if (available.length === 0) {
      return undefined;
    }
    const best = Math.min(...available.map((member) => member.priority ?? 0));
    const group = available.filter((member) => (member.priority ?? 0) === best);
    const total = group.reduce((sum, member) => sum + (member.weight ?? 0), 0);
    const weightOf = (member: M): number => (total > 0 ? member.weight ?? 0 : 1);
    const candidates = group.filter((member) => weightOf(member) > 0);
    return this.algorithm === 'weighted-random'
      ? this.pickRandom(candidates, weightOf)
      : this.pickSmooth(candidates, weightOf, scope);
  }

  private pickRandom<M extends BalancerMember>(candidates: readonly M[], weightOf: (member: M) => number): M | undefined {
    const total = candidates.reduce((sum, member) => sum + weightOf(member), 0);
    let point = this.random() * total;
    for (const member of candidates) {
      point -= weightOf(member);
      if (point < 0) {
        return member;
      }
    }
    return candidates[candidates.length - 1];
  }

  /** nginx smooth weighted round-robin: add each weight to its current value, take the largest, subtract the total. */
  private pickSmooth<M extends BalancerMember>(candidates: readonly M[], weightOf: (member: M) => number, scope: string): M | undefined {
    let total = 0;
    let chosen: M | undefined;
    let chosenWeight = -Infinity;
    for (const member of candidates) {
      const weight = weightOf(member);
      total += weight;
      const key = `${scope}\u0000${member.name}`;
      const current = (this.currentWeights.get(key) ?? 0) + weight;
      this.currentWeights.set(key, current);
      if (current > chosenWeight) {
        chosen = member;
        chosenWeight = current;
      }
    }
    if (chosen) {
      this.currentWeights.set(`${scope}\u0000${chosen.name}`, chosenWeight - total);
    }
    return chosen;
  }
}
