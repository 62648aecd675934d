import type { TokenCredential } from '@azure/core-auth';
import type { AlertStateStore } from '../../lib/alerts/stateStore';
import type { Settings } from '../../lib/config/types';
import type { ResolvedPool } from '../../lib/pool/types';
import type { EvidenceScope } from '../../lib/state/evidenceScope';
import type { SharedState } from '../../lib/state/types';
import type { SqliteStore } from '../../lib/store/sqliteStore';
import type { EvidenceSource, ProbeSink } from '../../lib/store/types';
import type { TelemetryHealth } from '../../lib/telemetry/createTelemetryHealth';
import type { TelemetryInputs } from './telemetry';

/** What an environment is built from (settings already checked, definition loaded, credential chosen). */
export interface EnvironmentInputs {
  readonly settings: Settings;
  readonly declaredPool: ResolvedPool;
  /** App root for relative paths (the local store). */
  readonly appRoot: string;
  /** For Azure Monitor Logs (and ARM, wired by createServices). */
  readonly credential: TokenCredential;
  /** Keeps evidence of different gateways / APIM services apart. */
  readonly scope: EvidenceScope;
  /** What the App Insights sink and the Logs sources need beyond settings. */
  readonly telemetry: Omit<TelemetryInputs, 'settings' | 'credential' | 'pool'>;
}

/**
 * The adapters one environment provides; `createServices` builds the same `Services` from either, so the functions
 * never know which they got. Every pool-keyed adapter is already scoped (see `EvidenceScope`).
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
  close(): Promise<void>;
}
