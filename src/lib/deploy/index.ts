export { createArmClient, ArmRequestError, retryAfterInMs, abortableSleep } from './armClient';
export type {
  ArmClient,
  ArmClientOptions,
  ArmRetryOptions,
  ArmBackendProperties,
  ArmBackendResource,
  ArmCircuitBreakerRule,
  ArmPoolItem,
  PutBackendOptions,
} from './armClient';
export { backendArmId } from './backendArmId';
export { createAzureCredential, createLocalCredential } from './createCredential';
export type { DescribedCredential } from './createCredential';
export { toBackendProperties, toPoolProperties } from './toArmBodies';
export { deployPool } from './deployPool';
export type { DeployPoolOptions } from './deployPool';
export * from './types';
export { readDeployedPool } from './readDeployedPool';
export type { DeployedPool, ReadDeployedPoolOptions } from './readDeployedPool';
export { DeployedPoolError } from './DeployedPoolError';
export { compareDeployed } from './compareDeployed';
export { checkPolicy } from './checkPolicy';
export type { CheckPolicyOptions } from './checkPolicy';
export { exportTemplate } from './exportTemplate';
export type { ExportTemplateOptions } from './exportTemplate';
