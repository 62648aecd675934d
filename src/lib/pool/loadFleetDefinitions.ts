// PLACEHOLDER in branch `lead` only: replaced by hdefs's implementation at merge.
import { loadPoolDefinition } from './loadPoolDefinition';
import type { ResolvedPool } from './types';
export interface FleetEntry { readonly file: string; readonly pool: ResolvedPool }
export async function loadFleetDefinitions(path: string): Promise<readonly FleetEntry[]> {
  return [{ file: path, pool: await loadPoolDefinition(path) }];
}
export function serviceOf(pool: ResolvedPool): string {
  const fromGateway = pool.gateway?.url ? new URL(pool.gateway?.url).hostname : undefined;
  return pool.apim?.serviceName ?? fromGateway ?? 'default';
}
