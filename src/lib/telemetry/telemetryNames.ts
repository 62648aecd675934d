/**
 * Names of the telemetry this verifier writes to Application Insights — the contract between
 * `createAppInsightsSink` (writer) and `queries.ts` (reader). Changing one without the other breaks reports;
 * `SCHEMA_VERSION` lets queries tell generations apart if that ever becomes necessary.
 */
export const telemetryNames = {
  /** One dependency item per probe (`dependencies` / `AppDependencies`). */
  probe: 'PoolProbe',
  /** Zero-duration dependency stamped with the run's start (`dependencies` / `AppDependencies`). */
  runStarted: 'PoolRunStarted',
  /** Zero-duration dependency stamped with the run's end, with its state (`complete` | `incomplete`). */
  runFinished: 'PoolRunFinished',
  /** Custom event once per run with the verdict. */
  verification: 'PoolVerification',
  /** Metrics (`customMetrics` / `AppMetrics`), each with a `pool` dimension. */
  metrics: {
    /** Observed share of a backend in [0, 1]; dimension `backend`. Not sent for a backend with no answers. */
    backendShare: 'PoolBackendShare',
    /** Largest |observed − expected| over backends, in percentage points. */
    worstDeviationInPoints: 'PoolWorstDeviationInPoints',
    /** Probes sent by the run. */
    probesUsed: 'PoolProbesUsed',
    /** Azure OpenAI tokens the run consumed. */
    tokensUsed: 'PoolTokensUsed',
    /** 0 when health is `ok`, 1 otherwise; dimension `health` says which problem. */
    health: 'PoolHealth',
  },
} as const;

/** Version of the custom dimensions layout, sent as `schemaVersion` on every item (2: adds `apimService`). */
export const SCHEMA_VERSION = '2';
