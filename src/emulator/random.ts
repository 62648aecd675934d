/**
 * A small seeded pseudo-random generator (mulberry32), so that selection and simulated latency are
 * reproducible in tests. Not for anything secret.
 */
export type RandomSource = () => number;

/** Creates a generator of numbers in [0, 1) from a 32-bit seed; without a seed, uses `Math.random`. */
export function createRandom(seed?: number): RandomSource {
  if (seed === undefined) {
    return Math.random;
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Draws from a lognormal distribution given its median and 95th percentile (both in the same unit):
 * mu = ln(median), sigma = ln(p95 / median) / 1.645.
 */
export function sampleLognormal(random: RandomSource, median: number, p95: number): number {
  if (median <= 0) {
    return 0;
  }
  const sigma = p95 > median ? Math.log(p95 / median) / 1.6448536 : 0;
  // Box–Muller; 1 - u keeps the logarithm finite.
  const u1 = 1 - random();
  const u2 = random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(Math.log(median) + sigma * z);
}
