export {
  startEmbeddedEnvironment,
  LAB_RESOURCES,
  EmbeddedEnvironmentOptionsError,
  type EmbeddedEnvironment,
  type EmbeddedEnvironmentOptions,
  type SimulatedResource,
} from './startEmbeddedEnvironment';
export { UnknownFaultTargetError, type Fault, type FaultController, type FaultState } from './fault';
export { AccessLog, type AccessLogEntry, type AccessLogAttempt } from './accessLog';
export type { ArmLogEntry } from './armEndpoint';
export type { RetryPolicy } from './gateway';
export type { SelectionAlgorithm } from './balancer';
export { resourcesFromPool } from './resourcesFromPool';
export { parseFaultSpec, parseFault, FaultSpecError, type FaultSpec } from './parseFaultSpec';
export { playDemoScenario, type DemoScenarioOptions } from './demoScenario';
export { parseIsoDurationInMs, IsoDurationError } from './parseIsoDuration';
export { createLabPolicyXml } from './labPolicy';
export {
  startEmbeddedFleet,
  type EmbeddedFleet,
  type EmbeddedFleetOptions,
  type FleetApi,
  type FleetApiOptions,
  type FleetHeaderRoute,
  type FleetPoolEntry,
} from './startEmbeddedFleet';
export type { GatewayPolicy, HeaderRoute, TokenLimitPolicy } from './readGatewayPolicy';
export { DEMO_FLEET_APIS, demoFleetApisFor } from './demoFleet';
