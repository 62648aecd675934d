import type { ConfigDriftReport, DeployOutcome, PolicyFinding } from '../deploy/types';
import type { ProbeRunInfo, ProbeRunSummary, RunState } from '../probe/types';

/**
 * The state every instance of the verifier must share: run records, the run lock (a lease), the start-up deploy
 * record and config drift. Locally the SQLite store; in Azure, Storage Tables. Methods may answer synchronously
 * (SQLite) or asynchronously (Tables); callers always `await`.
 *
 * Every `pool` argument is a *state key*: the pool name scoped to the gateway and APIM service it is watched
 * through (see `evidenceScope`), so evidence of different gateways never mixes.
 */
export interface SharedState {
  /**
   * Takes the named lease for `owner` until `nowMs + ttlInMs` when nobody holds it or the holder's lease expired
   * (a dead holder cannot keep it). False while another unexpired holder exists. Not re-entrant.
   */
  tryAcquireLock(name: string, owner: string, ttlInMs: number, nowMs: number): boolean | Promise<boolean>;
  /** Extends `owner`'s lease to `nowMs + ttlInMs`; false when the lease was taken over (the holder must stop). */
  renewLock(name: string, owner: string, ttlInMs: number, nowMs: number): boolean | Promise<boolean>;
  /** Releases the lease if `owner` still holds it (no-op otherwise). */
  releaseLock(name: string, owner: string): void | Promise<void>;
  /**
   * Marks runs of `pool` still `running` with no activity for `olderThanMs` as `incomplete` (their process is
   * gone; their probes are kept). With the run lock held and `olderThanMs = 0` this marks every run a dead holder
   * left behind. Returns how many were marked.
   */
  markAbandonedRuns(nowMs: number, olderThanMs: number, pool?: string): number | Promise<number>;
  /** Records that run `runId` is alive at `nowMs` (the heartbeat). */
  touchRun?(runId: string, nowMs: number): void | Promise<void>;

  beginRun(run: ProbeRunInfo): Promise<void>;
  finishRun(summary: ProbeRunSummary): Promise<void>;
  /** Newest first. */
  recentRuns(pool: string, limit: number): readonly StoredRunRecord[] | Promise<readonly StoredRunRecord[]>;

  saveDeployOutcome(pool: string, outcome: DeployOutcome): void | Promise<void>;
  lastDeployOutcome(pool: string): DeployOutcome | null | Promise<DeployOutcome | null>;
  saveConfigDrift(pool: string, report: ConfigDriftReport): void | Promise<void>;
  lastConfigDrift(pool: string): ConfigDriftReport | null | Promise<ConfigDriftReport | null>;
  /** The start-up record (deploy or verify-only read, per definition hash), shared by every instance. */
  saveStartupRecord(pool: string, record: StartupRecord): void | Promise<void>;
  lastStartupRecord(pool: string): StartupRecord | null | Promise<StartupRecord | null>;
}

/** A run as listed by `recentRuns`: summary fields are present once the run finished. */
export type StoredRunRecord = ProbeRunInfo &
  Partial<ProbeRunSummary> & {
    readonly state: RunState;
    /** The run's last sign of life (a probe or the heartbeat), when the store keeps it: a `running` run silent for longer than its lease is dead. */
    readonly lastActivityMs?: number;
  };

/** What the start-up step did for one definition, recorded so no other instance or cold start repeats it. */
export interface StartupRecord {
  /** sha256 of the resolved definition, the deploy mode and the APIM location (see `definitionHash`). */
  readonly definitionHash: string;
  readonly deploy: DeployOutcome;
  readonly policy: readonly PolicyFinding[];
  /** Which instance did it (for the logs; not a secret). */
  readonly by: string;
}
