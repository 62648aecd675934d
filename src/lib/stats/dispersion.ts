import type { RunCounts } from '../store/types';
import { requireCount, StatsInputError } from './StatsInputError';

// Module-local aliases of globals used in hot loops: under jest's vm sandbox every global lookup goes through
// an interceptor (measured 25× slower here); a module constant avoids that and changes nothing in production.
const math = Math;

/** Result of {@link dispersionIndex}. */
export interface DispersionResult {
  /** Pooled dispersion index φ (1 = independent draws); null with fewer than 3 usable runs or < 2 backends. */
  readonly phi: number | null;
  /** Usable runs (at least 2 answers from backends with an expected share > 0). */
  readonly runs: number;
  /** φᵢ per backend name (backends with an expected share > 0 that answered at least once, and not always). */
  readonly perBackend: Record<string, number>;
}

/** Runs with fewer answers carry next to no information about the spread of a share. */
const MINIMUM_ANSWERS_PER_RUN = 2;
const MINIMUM_RUNS = 3;

/**
 * Dispersion index of per-run answer counts: how much more (φ > 1) or less (φ < 1) the per-run counts vary
 * than independent multinomial draws would. Calibrate on a known-good pool: φ ≈ 1 ± 0.25 is independence,
 * φ ≪ 1 is deterministic round-robin (tests are then conservative), φ > 1.25 (the caller's warning
 * threshold) means session affinity, breaker flapping or shared regions — pass φ to assessWindow.
 *
 * Estimator (runs of different sizes Nᵣ, backends i with expected share > 0): the Pearson statistic of the
 * runs × backends table
 *   X² = Σᵣ Σᵢ (kᵣᵢ − Nᵣ·ŵᵢ)² / (Nᵣ·ŵᵢ),  ŵᵢ = Σᵣ kᵣᵢ / Σᵣ Nᵣ,
 * has expectation ≈ (R − 1)(B − 1) under independent draws with common shares, whatever the Nᵣ, because
 * each run's term is scaled by its own variance Nᵣ·wᵢ(1 − wᵢ). So φ = X² / ((R − 1)(B − 1)) (the quasi-
 * likelihood dispersion estimate); per backend φᵢ = Σᵣ (kᵣᵢ − Nᵣŵᵢ)² / (Nᵣŵᵢ(1 − ŵᵢ)) / (R − 1).
 * The pooled share ŵ is used instead of the expected weight on purpose: a pool that drifts (a wrong mean)
 * must not look over-dispersed, or inflating by φ would hide the very drift the verdict should flag.
 * `expected` only selects and names the backends (those with a share > 0; failover answers are left out).
 *
 * @throws StatsInputError naming the field for a negative or non-integer count.
 */
export function dispersionIndex(
  runs: readonly RunCounts[],
  expected: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
): DispersionResult {
  const entries: [string, number][] = expected instanceof Map ? [...expected.entries()] : Object.entries(expected);
  const names = entries.filter(([, share]) => typeof share === 'number' && share > 0).map(([name]) => name);
  if (!Array.isArray(runs)) {
    throw new StatsInputError('runs', runs, 'must be an array of per-run counts');
  }
  const table = runs
    .map((run, r) => names.map((name) => requireCount(`runs[${r}].answered.${name}`, run.answered[name] ?? 0)))
    .filter((row) => row.reduce((s, k) => s + k, 0) >= MINIMUM_ANSWERS_PER_RUN);
  const usable = table.length;
  const grand = table.reduce((s, row) => s + row.reduce((t, k) => t + k, 0), 0);
  const pooled = names.map((_, i) => table.reduce((s, row) => s + (row[i] as number), 0) / math.max(1, grand));
  // A backend that never (or always) answered has no spread to measure.
  const measurable = names.map((_, i) => (pooled[i] as number) > 0 && (pooled[i] as number) < 1);
  const backendCount = measurable.filter(Boolean).length;
  if (usable < MINIMUM_RUNS || backendCount < 2) {
    return { phi: null, runs: usable, perBackend: {} };
  }
  let pearson = 0;
  const perBackend: Record<string, number> = {};
  names.forEach((name, i) => {
    if (!measurable[i]) return;
    const w = pooled[i] as number;
    let sum = 0;
    for (const row of table) {
      const n = row.reduce((s, k) => s + k, 0);
      const deviation = (row[i] as number) - n * w;
      sum += (deviation * deviation) / (n * w);
    }
    pearson += sum;
    perBackend[name] = sum / (1 - w) / (usable - 1);
  });
  return { phi: pearson / ((usable - 1) * (backendCount - 1)), runs: usable, perBackend };
}
