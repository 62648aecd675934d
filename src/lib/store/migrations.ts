/**
 * Schema of the local store, one entry per version (`PRAGMA user_version` = number of applied entries).
 * Append new entries; never edit an applied one.
 *
 * Rollup tables are keyed by pool and epoch minute and updated in the same transaction as each probe insert, so
 * a report reads rows proportional to backends × minutes, never to stored probes.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'incomplete')),
    last_activity_ms INTEGER NOT NULL,
    probe_count INTEGER NOT NULL DEFAULT 0,
    probe_tokens INTEGER NOT NULL DEFAULT 0,
    finished_at_ms INTEGER,
    probes_sent INTEGER,
    tokens_used INTEGER,
    verdict TEXT,
    stopped_early INTEGER
  );
  CREATE INDEX runs_pool_started ON runs (pool, started_at_ms);
  CREATE INDEX runs_state_activity ON runs (state, last_activity_ms);

  CREATE TABLE probes (
    run_id TEXT NOT NULL,
    probe_index INTEGER NOT NULL,
    pool TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    latency_in_ms REAL NOT NULL,
    kind TEXT NOT NULL,
    status INTEGER,
    backend TEXT,
    identifier_value TEXT,
    total_tokens INTEGER,
    error_code TEXT,
    PRIMARY KEY (run_id, probe_index)
  );
  CREATE INDEX probes_pool_started ON probes (pool, started_at_ms);

  -- backend '' = unidentified, status 0 = no HTTP status (timeout/network).
  CREATE TABLE rollup_counts (
    pool TEXT NOT NULL,
    minute_ms INTEGER NOT NULL,
    backend TEXT NOT NULL,
    kind TEXT NOT NULL,
    status INTEGER NOT NULL,
    n INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    PRIMARY KEY (pool, minute_ms, backend, kind, status)
  ) WITHOUT ROWID;

  -- 2xx answers identified as a backend, by latency bucket (see latencyHistogram.ts).
  CREATE TABLE rollup_latency (
    pool TEXT NOT NULL,
    minute_ms INTEGER NOT NULL,
    backend TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (pool, minute_ms, backend, bucket)
  ) WITHOUT ROWID;

  -- 2xx answers matching no backend, by raw identifier value ('' = header absent).
  CREATE TABLE rollup_unidentified (
    pool TEXT NOT NULL,
    minute_ms INTEGER NOT NULL,
    value TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (pool, minute_ms, value)
  ) WITHOUT ROWID;

  CREATE TABLE run_backend_counts (
    run_id TEXT NOT NULL,
    backend TEXT NOT NULL,
    answered INTEGER NOT NULL,
    PRIMARY KEY (run_id, backend)
  ) WITHOUT ROWID;

  CREATE TABLE run_verdicts (
    run_id TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    status TEXT NOT NULL,
    probes_sent INTEGER NOT NULL,
    tokens_used INTEGER NOT NULL,
    shares_json TEXT NOT NULL,
    worst_deviation_in_points REAL NOT NULL,
    health TEXT NOT NULL
  );

  CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
  );

  CREATE TABLE deploy_outcomes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pool TEXT NOT NULL,
    outcome_json TEXT NOT NULL
  );
  CREATE INDEX deploy_outcomes_pool ON deploy_outcomes (pool, id);

  CREATE TABLE config_drift (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pool TEXT NOT NULL,
    report_json TEXT NOT NULL
  );
  CREATE INDEX config_drift_pool ON config_drift (pool, id);
  `,
  // v2: key/value facts about the store itself, e.g. up to which minute raw probes were pruned.
  `
  CREATE TABLE store_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // v3: the start-up record per pool key (deploy or verify-only read, per definition hash), shared by every
  // process using this file so a restart does not redeploy an unchanged definition.
  `
  CREATE TABLE startup_records (
    pool TEXT PRIMARY KEY,
    record_json TEXT NOT NULL
  );
  `,
  // v4: what the gateway's token limit said (issue 17): Retry-After of a gateway-throttled probe, and the
  // remaining-tokens header of any answer, so a report can show the newest of each.
  `
  ALTER TABLE probes ADD COLUMN retry_after_seconds INTEGER;
  ALTER TABLE probes ADD COLUMN remaining_tokens INTEGER;
  `,
];
