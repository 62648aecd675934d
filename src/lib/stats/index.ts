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
export { normalQuantileUpper } from './normalQuantileUpper';
export { createSequentialTest, type SequentialDecision, type SequentialTest, type SequentialTestOptions } from './sequentialTest';
export { dispersionIndex, type DispersionResult } from './dispersion';
export {
  DEFAULT_WINDOWS,
  EVALUATIONS_PER_DAY,
  expectedFalsePagesPerDay,
  windowBounds,
  type VerdictWindow,
  type WindowName,
} from './windows';
