/** Public surface of the statistics module: pure functions, no I/O, no clock. */
export * from './types';
export { assessWindow, type AssessWindowInput, type AssessedBackend } from './assessWindow';
export {
  binomialAcceptanceRegion,
  binomialCdf,
  binomialPmf,
  binomialTestPValue,
  clopperPearsonInterval,
  logBinomialCdf,
  logBinomialPmf,
  logBinomialSurvival,
  logGamma,
} from './binomial';
export { planSampleSize, type PlanSampleSizeOptions, type SampleSizePlan } from './planSampleSize';
export { createRandom, type RandomSource } from './random';
export { StatsInputError } from './StatsInputError';
export { weightedBackendTestCount } from './testCount';
