export { openSqliteStore, type SqliteStore, type StoredRun } from './sqliteStore';
export { StoreError, StoreInputError } from './errors';
export { LATENCY_RELATIVE_ERROR, latencyBucketOf, percentileOfHistogram } from './latencyHistogram';
export type * from './types';
