import type { ResolvedBackend } from '../pool/types';

/** Formatting shared by the headline, the findings and the HTML: one place decides how numbers read. */

/** A share in [0, 1] as a percentage with one decimal, e.g. `66.1%`; `n/a` for null. */
export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return 'n/a';
  return `${(share * 100).toFixed(1)}%`;
}

/** A deviation in percentage points with its direction, e.g. `15.3 points below`. */
export function formatPoints(points: number | null | undefined): string {
  if (points === null || points === undefined || !Number.isFinite(points)) return 'deviation n/a';
  const rounded = Math.abs(points).toFixed(1);
  return points < 0 ? `${rounded} points below` : `${rounded} points above`;
}

/** A p-value, e.g. `p = 0.003`, `p = 2.1e-9`. */
export function formatPValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return 'p n/a';
  if (p === 0) return 'p < 1e-300';
  return p < 0.001 ? `p = ${p.toExponential(1)}` : `p = ${p.toPrecision(2)}`;
}

/** An integer count with thousands separators (en-US, fixed so output does not depend on the host locale). */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

/** A count with its noun, singular for exactly one: `1 run`, `4 runs`, `1,200 probes`. */
export function countOf(n: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${formatCount(n)} ${Math.round(n) === 1 ? noun : pluralNoun}`;
}

/** Milliseconds as `812 ms` or `1.4 s`; `n/a` for null. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'n/a';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A window name as a phrase: `run` → "in this run", `hour` → "in the last hour". */
export function describeWindow(name: string): string {
  switch (name) {
    case 'run':
      return 'in this run';
    case 'hour':
      return 'in the last hour';
    case 'day':
      return 'in the last day';
    default:
      return `in the ${name} window`;
  }
}

/**
 * How a person recognises each backend: its region when no other backend shares it (what `x-ms-region` shows),
 * otherwise its backend id.
 */
export function labelBackends(backends: readonly Pick<ResolvedBackend, 'name' | 'region'>[]): ReadonlyMap<string, string> {
  const regionCount = new Map<string, number>();
  for (const b of backends) {
    if (b.region) regionCount.set(b.region.toLowerCase(), (regionCount.get(b.region.toLowerCase()) ?? 0) + 1);
  }
  return new Map(
    backends.map((b) => [b.name, b.region && regionCount.get(b.region.toLowerCase()) === 1 ? b.region : b.name] as const),
  );
}
