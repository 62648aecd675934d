import { logGamma } from './binomial';

/**
 * Concentration c of the Dirichlet(c · p0) prior of the sequential test (see createSequentialTest for how it
 * was tuned). Larger c bets on small drifts, smaller c on gross ones (a dead backend).
 */
export const DEFAULT_CONCENTRATION = 8;

/**
 * log of the Dirichlet-multinomial Bayes factor of "shares ~ Dirichlet(c · p0)" against "shares = p0" after
 * observing `counts` (one per backend with p0 > 0; counts may be fractional for planning):
 *
 *   log BF = log Γ(c) − log Γ(c + n) + Σᵢ [log Γ(c·p0ᵢ + kᵢ) − log Γ(c·p0ᵢ) − kᵢ log p0ᵢ].
 *
 * Under p0 this is a non-negative martingale with mean 1, so by Ville's inequality it ever reaches 1/alpha
 * with probability ≤ alpha.
 */
export function logMixtureBayesFactor(
  counts: readonly number[],
  expectedShares: readonly number[],
  concentration = DEFAULT_CONCENTRATION,
): number {
  let n = 0;
  let sum = 0;
  counts.forEach((k, i) => {
    const p0 = expectedShares[i] as number;
    n += k;
    if (k > 0) sum += logGamma(concentration * p0 + k) - logGamma(concentration * p0) - k * Math.log(p0);
  });
  return logGamma(concentration) - logGamma(concentration + n) + sum;
}
