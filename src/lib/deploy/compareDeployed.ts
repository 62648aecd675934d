import type { ApimLocation, ResolvedPool } from '../pool/types';
import { diffBackendProperties, diffPoolProperties } from './diffArmProperties';
import type { DeployedPool } from './readDeployedPool';
import { toBackendProperties, toPoolProperties } from './toArmBodies';
import type { ConfigDifference, ConfigDriftReport } from './types';

/** Any location works for comparing: both sides are rendered with the same one, so members match by name. */
const COMPARISON_LOCATION: ApimLocation = {
  subscriptionId: 'compare',
  resourceGroup: 'compare',
  serviceName: 'compare',
  armApiVersion: '2024-05-01',
};

/**
 * Field by field, what is deployed against what is declared (pure). Differences, in order: the pool
 * (`name`, `description` when declared, `pool.members[<name>]` added/removed, `pool.members[<name>].priority`,
 * `pool.members[<name>].weight`), then each member present on both sides (`exists` for a member the pool
 * references but that does not exist, `url`, `circuitBreaker`, `circuitBreaker.<field>` …). Member names
 * match case-insensitively; normalisation as in deployment (durations by value, null ≡ absent, …).
 * Identical → `differences: []`.
 */
export function compareDeployed(declared: ResolvedPool, deployed: DeployedPool | ResolvedPool, checkedAt: string): ConfigDriftReport {
  const deployedPool = isDeployedPool(deployed) ? deployed.pool : deployed;
  const missing = new Set((isDeployedPool(deployed) ? deployed.raw.missingMembers : []).map((name) => name.toLowerCase()));
  const differences: ConfigDifference[] = [];

  if (declared.name.toLowerCase() !== deployedPool.name.toLowerCase()) {
    differences.push({ resource: declared.name, field: 'name', declared: declared.name, deployed: deployedPool.name });
  }
  differences.push(
    ...diffPoolProperties(
      declared.name,
      toPoolProperties(declared, COMPARISON_LOCATION),
      toPoolProperties(deployedPool, COMPARISON_LOCATION),
      COMPARISON_LOCATION,
    ),
  );

  const deployedByName = new Map(deployedPool.backends.map((backend) => [backend.name.toLowerCase(), backend]));
  for (const backend of declared.backends) {
    const other = deployedByName.get(backend.name.toLowerCase());
    if (other === undefined) {
      continue;
    }
    if (missing.has(backend.name.toLowerCase())) {
      differences.push({ resource: backend.name, field: 'exists', declared: true, deployed: false });
      continue;
    }
    differences.push(...diffBackendProperties(backend.name, toBackendProperties(backend), toBackendProperties(other)));
  }
  return { checkedAt, differences };
}

function isDeployedPool(value: DeployedPool | ResolvedPool): value is DeployedPool {
  return 'raw' in value && 'pool' in value && typeof (value as DeployedPool).pool === 'object';
}
