// PLACEHOLDER in branch `lead` only: replaced by hoverview's implementation at merge.
import type { Report } from '../types';
export interface FleetPoolInput {
  readonly pool: string;
  readonly service: string;
  readonly report: Report | null;
  readonly error: string | null;
  readonly poisoned?: { readonly count: number; readonly lastAt: string | null; readonly reason: string | null };
}
export type FleetOverview = { readonly pools: readonly unknown[] };
export function buildFleetOverview(inputs: readonly FleetPoolInput[], _nowMs: number): FleetOverview {
  return { pools: inputs };
}
export function renderFleetOverview(_overview: FleetOverview, _options: { refreshSeconds?: number }): { html: string; contentSecurityPolicy: string } {
  return { html: '', contentSecurityPolicy: '' };
}
