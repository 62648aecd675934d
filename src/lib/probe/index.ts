export { runProbes, DEFAULT_MAX_BODY_IN_BYTES, type RunProbesOptions, type ProbeRunResult, type ProbeFatal } from './runProbes';
export { ProbeOptionsError, ProbeSinkError } from './errors';
export type * from './types';
