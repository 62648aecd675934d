import { normalizeRegion } from './normalizeRegion';
import type { ResolvedPool } from './types';

export { normalizeRegion };

/** Lookup tables per pool, built once (pools are immutable). `null` marks a value shared by several backends. */
const lookups = new WeakMap<ResolvedPool, Map<string, string | null>>();

/**
 * Names the pool member that answered, from the value of the identifying response header
 * (`pool.probe.identify.header`).
 *
 * - Region mode (default, `x-ms-region`): the value is matched to each backend's `region`, ignoring case
 *   and whitespace ("West US" matches "westus").
 * - Header mode (any other header): the value is matched exactly to each backend's `identifier`
 *   (surrounding whitespace ignored, as HTTP parsers strip it).
 *
 * @returns the backend name, or null when the header is absent/empty, matches no backend, or matches more
 *   than one (a validated pool never has such ambiguity; a hand-built one might).
 */
export function identifyBackend(pool: ResolvedPool, headerValue: string | null | undefined): string | null {
  if (headerValue === null || headerValue === undefined) {
    return null;
  }
  const key = toKey(pool, headerValue);
  if (key === '') {
    return null;
  }
  return lookupFor(pool).get(key) ?? null;
}

function toKey(pool: ResolvedPool, value: string): string {
  return pool.probe.identify.mode === 'region' ? normalizeRegion(value) : value.trim();
}

function lookupFor(pool: ResolvedPool): Map<string, string | null> {
  const cached = lookups.get(pool);
  if (cached !== undefined) {
    return cached;
  }
  const table = new Map<string, string | null>();
  for (const backend of pool.backends) {
    const raw = pool.probe.identify.mode === 'region' ? backend.region : backend.identifier;
    if (raw === undefined) {
      continue;
    }
    const key = toKey(pool, raw);
    if (key === '') {
      continue;
    }
    table.set(key, table.has(key) ? null : backend.name);
  }
  lookups.set(pool, table);
  return table;
}
