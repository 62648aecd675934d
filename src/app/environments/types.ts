import type { TokenCredential } from '@azure/core-auth';
import type { AlertStateStore } from '../../lib/alerts/stateStore';
import type { Settings } from '../../lib/config/types';
import type { ResolvedPool } from '../../lib/pool/types';
import type { WorkQueue } from '../../lib/queue/types';
import type { EvidenceScope } from '../../lib/state/evidenceScope';
import type { SharedState } from '../../lib/state/types';
import type { SqliteStore } from '../../lib/store/sqliteStore';
import type { EvidenceSource, ProbeSink } from '../../lib/store/types';
import type { TelemetryHealth } from '../../lib/telemetry/createTelemetryHealth';
import type { TelemetryInputs } from './telemetry';

/** What an environment is built from (settings already checked, credential chosen): shared by every pool. */
export interface EnvironmentInputs {
  readonly settings: Settings;
  /** App root for relative paths (the local store). */
  readonly appRoot: string;
  /** For Azure Monitor Logs (and ARM, wired by createFleet). */
  readonly credential: TokenCredential;
  /** What the App Insights sink and the Logs sources need beyond settings and the pool. */
  readonly telemetry: Pick<TelemetryInputs, 'ingestionCredential' | 'log' | 'offlineStorage'>;
}

/** What one pool's adapters are built from. */
export interface PoolEnvironmentInputs {
  readonly declaredPool: ResolvedPool;
  /** Keeps evidence of different gateways / APIM services apart. */
  readonly scope: EvidenceScope;
  /** Records carry the APIM service beside the pool, so verifiers sharing one App Insights never merge evidence. */
  readonly apimService: string;
  /** The API whose gateway logs are read (`ApiId`), when known. */
  readonly apiId: string | undefined;
}

/**
 * One environment, opened once per process: its stores and clients are shared by every pool of the fleet, and
 * `forPool` gives each pool its own scoped adapters. `createFleet` builds the same services from either
 * environment, so the functions never know which they got.
 */
export interface Environment {
  forPool(inputs: PoolEnvironmentInputs): EnvironmentAdapters;
  /** Where the timer's per-pool messages go: an Azure Storage queue in Azure, an in-process queue locally. */
  readonly queue: WorkQueue;
  /** Export outcomes of the App Insights sinks (one health for the process); undefined without App Insights. */
  readonly telemetryHealth: TelemetryHealth | undefined;
  /** The local SQLite store (local environment only; tests and the CLI read it directly). */
  readonly localStore: SqliteStore | undefined;
  /** Closes what every pool shares (after each pool's adapters were closed). */
  close(): Promise<void>;
}

/**
 * The adapters of one pool. Every pool-keyed adapter is already scoped (see `EvidenceScope`).
 */
export interface EnvironmentAdapters {
  /** Run records, the run and start-up leases, deploy/drift/start-up records. */
  readonly state: SharedState;
  /** Where probes and runs are written as they happen. */
  readonly sink: ProbeSink;
  /** Where windows of evidence are read from. */
  readonly evidence: EvidenceSource;
  /** Where the latest run's own window is read from: the local store when there is one (exact, no ingestion delay). */
  readonly runEvidence: EvidenceSource;
  /** APIM's own telemetry of all real traffic (ALL_TRAFFIC_MODE with a Logs source). */
  readonly allTrafficEvidence: EvidenceSource | undefined;
  readonly alertStore: AlertStateStore;
  /** Export outcomes of the App Insights sink; undefined without App Insights. */
  readonly telemetryHealth: TelemetryHealth | undefined;
  /** The local SQLite store (local environment only; tests and the CLI read it directly). */
  readonly localStore: SqliteStore | undefined;
  /** Closes this pool's own clients (its App Insights sink); the environment closes what pools share. */
  close(): Promise<void>;
}
