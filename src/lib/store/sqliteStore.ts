import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { ConfigDriftReport, DeployOutcome } from '../deploy/types';
import type { StartupRecord } from '../state/types';
import type { ProbeKind, ProbeRecord, ProbeRunInfo, ProbeRunSummary, RunState } from '../probe/types';
import { boundCounts, MAX_DISTINCT_VALUES, toUnidentifiedEvidence, truncateValue } from '../util/boundedCounts';
import { ensureError } from '../util/errors';
import { StoreError, StoreInputError } from './errors';
import { latencyBucketOf, percentileOfHistogram } from './latencyHistogram';
import { MIGRATIONS } from './migrations';
import type {
  BackendEvidence,
  EvidenceBin,
  EvidenceSource,
  ProbeSink,
  RunCounts,
  RunVerdictTelemetry,
  TimeWindow,
  WindowEvidence,
} from './types';

/** A run as listed by {@link SqliteStore.recentRuns}: summary fields are present once the run finished. */
export type StoredRun = ProbeRunInfo & Partial<ProbeRunSummary> & { readonly state: RunState; readonly lastActivityMs?: number };

/**
 * The local store: probe sink, evidence source, run lock and the last deploy/config-drift outcomes, in one SQLite
 * file (WAL mode). Probes are written in small batches, each in one transaction with its rollup rows, so a report
 * never scans raw probes and a killed process keeps what it recorded — except the last batch: probes wait at most
 * {@link PROBE_BATCH_DELAY_IN_MS} ms (never more than {@link PROBE_BATCH_MAX} of them) before they are committed, and
 * every other call (reads, `finishRun`, `flush`, `close`) commits them first. One transaction per probe made the
 * report answer 5× slower while a run probed at full rate (issue 15, bench `load-while-probing`).
 *
 * `readWindow` semantics (see `WindowEvidence`):
 * - counts are exact for any window: whole minutes come from per-minute rollups, the partial minutes at either
 *   edge from raw probes (at most two minutes of rows, via the (pool, startedAtMs) index) — except edges inside
 *   minutes whose raw rows were pruned (`pruneRawProbes`), which count the whole minute;
 * - cost grows with minutes × backends (× latency buckets) in the window and with runs started in it, never with
 *   the stored history (see bench/store.ts);
 * - `backends` lists backends with a 2xx or non-2xx answer in the window, by name; a pool member that never
 *   answered is absent (merge with the pool definition);
 * - a probe belongs to the window and bin of its `startedAtMs`;
 * - `backends[].latencyP50InMs/P95` are nearest-rank percentiles of the 2xx answers identified as that backend,
 *   from a log-spaced histogram: within 4.9% of the exact value (0.5 ms below 1 ms), see latencyHistogram.ts;
 * - `errorsByStatus` / `errors.byStatus` count probes of kind `http` by status — including a 2xx whose body was
 *   not a chat completion (`invalid-body`, `body-too-large` …), which appears under its 2xx status;
 * - bins are aligned to multiples of `binInMs` since the epoch; `binInMs` is rounded up to whole minutes (the
 *   rollup granularity) and grown so a window has at most 10,000 bins — the effective value is returned;
 * - `runs` and `incompleteRuns` cover runs *started* in the window (a run's counts include all its probes).
 */
export interface SqliteStore extends ProbeSink, EvidenceSource {
  /** The open database; other modules may create their own tables on it. */
  readonly db: Database.Database;
  /**
   * Takes the named lock for `owner` until `nowMs + ttlInMs`, atomically (BEGIN IMMEDIATE, so it also holds across
   * processes sharing the file): two overlapping timer runs never both probe. An expired lock is taken over.
   * Returns false while any unexpired holder exists — including `owner` itself: the lock is not re-entrant, so two
   * invocations that happen to share an owner id still exclude each other. Use `renewLock` to extend a held lock.
   */
  tryAcquireLock(name: string, owner: string, ttlInMs: number, nowMs: number): boolean;
  /** Extends the lock to `nowMs + ttlInMs` if `owner` still holds it (expired but not taken over counts); else false. */
  renewLock(name: string, owner: string, ttlInMs: number, nowMs: number): boolean;
  /** Releases the lock if `owner` holds it (no-op otherwise). */
  releaseLock(name: string, owner: string): void;
  /**
   * Marks runs still `running` with no activity (start or probe) for `olderThanMs` as `incomplete` (their process
   * is gone); their probes are kept and counted. Returns how many runs were marked.
   */
  markAbandonedRuns(nowMs: number, olderThanMs: number, pool?: string): number;
  /** Records that run `runId` is alive at `nowMs` (the heartbeat of a run waiting on slow probes). */
  touchRun(runId: string, nowMs: number): void;
  saveStartupRecord(pool: string, record: StartupRecord): void;
  lastStartupRecord(pool: string): StartupRecord | null;
  saveDeployOutcome(pool: string, outcome: DeployOutcome): void;
  lastDeployOutcome(pool: string): DeployOutcome | null;
  saveConfigDrift(pool: string, report: ConfigDriftReport): void;
  lastConfigDrift(pool: string): ConfigDriftReport | null;
  /** Newest first. */
  recentRuns(pool: string, limit: number): StoredRun[];
  /** The verdict telemetry recorded for a run, or null. */
  runVerdict(runId: string): RunVerdictTelemetry | null;
  /**
   * Deletes raw probe rows that started before `beforeMs` (rounded down to the minute) to bound the file size;
   * rollups, runs and per-run counts are kept, so every report still works. Afterwards, a window edge that falls
   * inside a pruned minute counts that whole minute (at most one minute of extra evidence per edge).
   * Returns the number of rows deleted.
   */
  pruneRawProbes(beforeMs: number): number;
  /** Inserts many probes in one transaction (bulk import, benchmarks); same checks as `recordProbe`. */
  insertProbes(records: readonly ProbeRecord[]): void;
  /** Synchronous `readWindow`. */
  readWindowSync(pool: string, window: TimeWindow, binInMs: number): WindowEvidence;
  close(): void;
}

const MINUTE_IN_MS = 60_000;
/** Longest a recorded probe waits before its batch is committed: what a kill can lose (bounded). */
export const PROBE_BATCH_DELAY_IN_MS = 20;
/** A batch this large is committed at once. */
export const PROBE_BATCH_MAX = 200;
/**
 * The rollup value that counts unidentified answers beyond MAX_DISTINCT_VALUES in one minute. A NUL can never be in
 * an HTTP header value (RFC 9110 §5.5; Node refuses it), so no real value collides with it.
 */
const OTHER_VALUES = '\u0000other';
const MAX_BINS = 10_000;
const PRUNED_BEFORE_KEY = 'raw_probes_pruned_before_ms';
const PROBE_KINDS: ReadonlySet<string> = new Set<ProbeKind>(['ok', 'http', 'timeout', 'network', 'gateway-throttled']);
const RUN_STATES: ReadonlySet<string> = new Set<RunState>(['running', 'complete', 'incomplete']);

interface CountRow {
  bin: number;
  backend: string;
  kind: string;
  status: number;
  n: number;
  tokens: number;
}

interface RunRow {
  run_id: string;
  pool: string;
  started_at_ms: number;
  trigger: string;
  state: RunState;
  probe_count: number;
  finished_at_ms: number | null;
  probes_sent: number | null;
  tokens_used: number | null;
  verdict: string | null;
  stopped_early: number | null;
  last_activity_ms: number | null;
}

/**
 * Opens (creating if needed, with parent directories) the SQLite store at `filePath`; `':memory:'` gives a
 * private in-memory store. Applies schema migrations (`PRAGMA user_version`).
 *
 * @throws StoreError when the file cannot be opened or its schema is newer than this build.
 */
export function openSqliteStore(filePath: string): SqliteStore {
  if (typeof filePath !== 'string' || filePath === '') {
    throw new StoreInputError('path', `must be a file path or ':memory:', got ${JSON.stringify(filePath)}`);
  }
  let db: Database.Database;
  try {
    if (filePath !== ':memory:') {
      fs.mkdirSync(path.dirname(path.resolve(filePath)), { recursive: true });
    }
    db = new Database(filePath);
  } catch (error) {
    throw new StoreError('open', `cannot open ${filePath}: ${ensureError(error).message}`, { cause: ensureError(error) });
  }
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a killed process (only an OS crash can lose the last commits).
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // 16 MiB page cache: a week of rollups for a few backends stays in memory between reports.
    db.pragma('cache_size = -16384');
    db.pragma('temp_store = MEMORY');
    migrate(db);
  } catch (error) {
    db.close();
    if (error instanceof StoreError) {
      throw error;
    }
    throw new StoreError('open', `cannot prepare ${filePath}: ${ensureError(error).message}`, { cause: ensureError(error) });
  }
  return createStore(db);
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new StoreError('open', `database schema version ${version} is newer than this build (${MIGRATIONS.length}); upgrade the verifier`);
  }
  for (let next = version; next < MIGRATIONS.length; next += 1) {
    db.transaction(() => {
      db.exec(MIGRATIONS[next] ?? '');
      db.pragma(`user_version = ${next + 1}`);
    }).immediate();
  }
}

function createStore(db: Database.Database): SqliteStore {
  const statements = {
    insertRun: db.prepare(
      `INSERT INTO runs (run_id, pool, started_at_ms, trigger, state, last_activity_ms) VALUES (?, ?, ?, ?, 'running', ?)`,
    ),
    poolOfRun: db.prepare(`SELECT pool FROM runs WHERE run_id = ?`).pluck(),
    insertProbe: db.prepare(
      `INSERT INTO probes (run_id, probe_index, pool, started_at_ms, latency_in_ms, kind, status, backend, identifier_value, total_tokens, error_code,
         retry_after_seconds, remaining_tokens)
       VALUES (@runId, @probeIndex, @pool, @startedAtMs, @latencyInMs, @kind, @status, @backend, @identifierValue, @totalTokens, @errorCode,
         @retryAfterSeconds, @remainingTokens)`,
    ),
    upsertCount: db.prepare(
      `INSERT INTO rollup_counts (pool, minute_ms, backend, kind, status, n, tokens) VALUES (?, ?, ?, ?, ?, 1, ?)
       ON CONFLICT (pool, minute_ms, backend, kind, status) DO UPDATE SET n = n + 1, tokens = tokens + excluded.tokens`,
    ),
    upsertLatency: db.prepare(
      `INSERT INTO rollup_latency (pool, minute_ms, backend, bucket, n) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (pool, minute_ms, backend, bucket) DO UPDATE SET n = n + 1`,
    ),
    upsertUnidentified: db.prepare(
      `INSERT INTO rollup_unidentified (pool, minute_ms, value, n) VALUES (?, ?, ?, 1)
       ON CONFLICT (pool, minute_ms, value) DO UPDATE SET n = n + 1`,
    ),
    // At most MAX_DISTINCT_VALUES values per pool and minute; later new values count under OTHER_VALUES.
    bumpUnidentified: db.prepare(`UPDATE rollup_unidentified SET n = n + 1 WHERE pool = ? AND minute_ms = ? AND value = ?`),
    distinctUnidentified: db.prepare(`SELECT COUNT(*) FROM rollup_unidentified WHERE pool = ? AND minute_ms = ?`).pluck(),
    upsertRunCount: db.prepare(
      `INSERT INTO run_backend_counts (run_id, backend, answered) VALUES (?, ?, 1)
       ON CONFLICT (run_id, backend) DO UPDATE SET answered = answered + 1`,
    ),
    touchRun: db.prepare(
      `UPDATE runs SET probe_count = probe_count + 1, probe_tokens = probe_tokens + ?, last_activity_ms = MAX(last_activity_ms, ?) WHERE run_id = ?`,
    ),
    finishRun: db.prepare(
      `UPDATE runs SET state = @state, finished_at_ms = @finishedAtMs, probes_sent = @probesSent, tokens_used = @tokensUsed,
         verdict = @verdict, stopped_early = @stoppedEarly, last_activity_ms = MAX(last_activity_ms, @finishedAtMs)
       WHERE run_id = @runId`,
    ),
    upsertVerdict: db.prepare(
      `INSERT OR REPLACE INTO run_verdicts (run_id, pool, status, probes_sent, tokens_used, shares_json, worst_deviation_in_points, health)
       VALUES (@runId, @pool, @status, @probesSent, @tokensUsed, @sharesJson, @worstDeviationInPoints, @health)`,
    ),
    selectVerdict: db.prepare(`SELECT * FROM run_verdicts WHERE run_id = ?`),
    selectLock: db.prepare(`SELECT owner, expires_at_ms FROM locks WHERE name = ?`),
    upsertLock: db.prepare(
      `INSERT INTO locks (name, owner, expires_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at_ms = excluded.expires_at_ms`,
    ),
    deleteLock: db.prepare(`DELETE FROM locks WHERE name = ? AND owner = ?`),
    probeExists: db.prepare(`SELECT 1 FROM probes WHERE run_id = ? AND probe_index = ?`).pluck(),
    markAbandoned: db.prepare(
      `UPDATE runs SET state = 'incomplete', finished_at_ms = last_activity_ms, probes_sent = probe_count, tokens_used = probe_tokens
       WHERE state = 'running' AND last_activity_ms <= ?`,
    ),
    markAbandonedOfPool: db.prepare(
      `UPDATE runs SET state = 'incomplete', finished_at_ms = last_activity_ms, probes_sent = probe_count, tokens_used = probe_tokens
       WHERE state = 'running' AND last_activity_ms <= ? AND pool = ?`,
    ),
    touchRunActivity: db.prepare(`UPDATE runs SET last_activity_ms = MAX(last_activity_ms, ?) WHERE run_id = ?`),
    upsertStartup: db.prepare(
      `INSERT INTO startup_records (pool, record_json) VALUES (?, ?) ON CONFLICT (pool) DO UPDATE SET record_json = excluded.record_json`,
    ),
    selectStartup: db.prepare(`SELECT record_json FROM startup_records WHERE pool = ?`).pluck(),
    insertDeploy: db.prepare(`INSERT INTO deploy_outcomes (pool, outcome_json) VALUES (?, ?)`),
    lastDeploy: db.prepare(`SELECT outcome_json FROM deploy_outcomes WHERE pool = ? ORDER BY id DESC LIMIT 1`).pluck(),
    insertDrift: db.prepare(`INSERT INTO config_drift (pool, report_json) VALUES (?, ?)`),
    lastDrift: db.prepare(`SELECT report_json FROM config_drift WHERE pool = ? ORDER BY id DESC LIMIT 1`).pluck(),
    recentRuns: db.prepare(`SELECT * FROM runs WHERE pool = ? ORDER BY started_at_ms DESC, run_id DESC LIMIT ?`),
    selectMeta: db.prepare(`SELECT value FROM store_meta WHERE key = ?`).pluck(),
    upsertMeta: db.prepare(`INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    pruneProbes: db.prepare(`DELETE FROM probes WHERE started_at_ms < ?`),
    // readWindow: whole minutes from rollups …
    rollupCounts: db.prepare(
      `SELECT (minute_ms / CAST(@bin AS INTEGER)) * CAST(@bin AS INTEGER) AS bin, backend, kind, status, SUM(n) AS n, SUM(tokens) AS tokens
       FROM rollup_counts WHERE pool = @pool AND minute_ms >= @from AND minute_ms < @to
       GROUP BY bin, backend, kind, status`,
    ),
    rollupLatency: db.prepare(
      `SELECT backend, bucket, SUM(n) AS n FROM rollup_latency
       WHERE pool = @pool AND minute_ms >= @from AND minute_ms < @to GROUP BY backend, bucket`,
    ),
    rollupUnidentified: db.prepare(
      `SELECT value, SUM(n) AS n FROM rollup_unidentified
       WHERE pool = @pool AND minute_ms >= @from AND minute_ms < @to AND value <> @other
       GROUP BY value ORDER BY n DESC, value LIMIT @limit`,
    ),
    // … and partial edge minutes from raw probes.
    rawCounts: db.prepare(
      `SELECT (CAST(started_at_ms AS INTEGER) / CAST(@bin AS INTEGER)) * CAST(@bin AS INTEGER) AS bin, COALESCE(backend, '') AS backend, kind,
              COALESCE(status, 0) AS status, COUNT(*) AS n, SUM(COALESCE(total_tokens, 0)) AS tokens
       FROM probes WHERE pool = @pool AND started_at_ms >= @from AND started_at_ms < @to
       GROUP BY bin, backend, kind, status`,
    ),
    rawLatency: db.prepare(
      `SELECT backend, latency_in_ms AS latency FROM probes
       WHERE pool = @pool AND started_at_ms >= @from AND started_at_ms < @to AND kind = 'ok' AND backend IS NOT NULL`,
    ),
    rawUnidentified: db.prepare(
      `SELECT COALESCE(identifier_value, '') AS value, COUNT(*) AS n FROM probes
       WHERE pool = @pool AND started_at_ms >= @from AND started_at_ms < @to AND kind = 'ok' AND backend IS NULL
       GROUP BY value ORDER BY n DESC, value LIMIT @limit`,
    ),
    // The newest gateway-throttled probe and the newest remaining-tokens value (raw probes only: pruned minutes say null).
    lastThrottled: db.prepare(
      `SELECT retry_after_seconds AS retryAfterSeconds FROM probes
       WHERE pool = @pool AND started_at_ms >= @from AND started_at_ms < @to AND kind = 'gateway-throttled'
       ORDER BY started_at_ms DESC LIMIT 1`,
    ),
    lastRemainingTokens: db.prepare(
      `SELECT remaining_tokens FROM probes
       WHERE pool = @pool AND started_at_ms >= @from AND started_at_ms < @to AND remaining_tokens IS NOT NULL
       ORDER BY started_at_ms DESC LIMIT 1`,
    ).pluck(),
    windowRuns: db.prepare(
      `SELECT run_id, started_at_ms, state, probe_count FROM runs
       WHERE pool = @pool AND started_at_ms >= @from AND started_at_ms < @to ORDER BY started_at_ms, run_id`,
    ),
    windowRunCounts: db.prepare(
      `SELECT c.run_id AS run_id, c.backend AS backend, c.answered AS answered
       FROM runs r JOIN run_backend_counts c ON c.run_id = r.run_id
       WHERE r.pool = @pool AND r.started_at_ms >= @from AND r.started_at_ms < @to`,
    ),
  };

  const poolByRun = new Map<string, string>();
  const poolOf = (runId: string): string => {
    const cached = poolByRun.get(runId);
    if (cached !== undefined) {
      return cached;
    }
    const pool = statements.poolOfRun.get(runId) as string | undefined;
    if (pool === undefined) {
      throw new StoreError('recordProbe', `run ${JSON.stringify(runId)} was never begun (call beginRun first)`);
    }
    if (poolByRun.size >= 1_000) {
      // A long-lived host begins ~288 runs a day: keep the cache small, the table is the truth.
      poolByRun.clear();
    }
    poolByRun.set(runId, pool);
    return pool;
  };

  const insertOne = (record: ProbeRecord): void => {
    validateRecord(record);
    const pool = poolOf(record.runId);
    const minute = Math.floor(record.startedAtMs / MINUTE_IN_MS) * MINUTE_IN_MS;
    const backend = record.backend ?? '';
    const tokens = record.totalTokens ?? 0;
    try {
      statements.insertProbe.run({
        runId: record.runId,
        probeIndex: record.probeIndex,
        pool,
        startedAtMs: record.startedAtMs,
        latencyInMs: record.latencyInMs,
        kind: record.kind,
        status: record.status,
        backend: record.backend,
        identifierValue: record.identifierValue === null ? null : truncateValue(record.identifierValue),
        totalTokens: record.totalTokens,
        errorCode: record.errorCode,
        retryAfterSeconds: record.retryAfterSeconds ?? null,
        remainingTokens: record.remainingTokens ?? null,
      });
    } catch (error) {
      // Read `code` from the raw value: a native-addon error may come from another realm (jest), where
      // `instanceof Error` fails and ensureError would re-wrap it.
      const duplicate = (error as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
      const cause = ensureError(error);
      throw new StoreError(
        'recordProbe',
        duplicate ? `probe ${record.probeIndex} of run ${record.runId} is already recorded` : cause.message,
        { cause },
      );
    }
    statements.upsertCount.run(pool, minute, backend, record.kind, record.status ?? 0, tokens);
    if (record.kind === 'ok') {
      if (record.backend === null) {
        const value = truncateValue(record.identifierValue ?? '');
        if (statements.bumpUnidentified.run(pool, minute, value).changes === 0) {
          const full = (statements.distinctUnidentified.get(pool, minute) as number) >= MAX_DISTINCT_VALUES;
          statements.upsertUnidentified.run(pool, minute, full ? OTHER_VALUES : value);
        }
      } else {
        statements.upsertLatency.run(pool, minute, backend, latencyBucketOf(record.latencyInMs));
        statements.upsertRunCount.run(record.runId, backend);
      }
    }
    statements.touchRun.run(tokens, Math.ceil(record.startedAtMs + record.latencyInMs), record.runId);
  };
  const insertManyTransaction = db.transaction((records: readonly ProbeRecord[]) => {
    for (const record of records) {
      insertOne(record);
    }
  });

  const lockTransaction = db.transaction((name: string, owner: string, expiresAtMs: number, nowMs: number): boolean => {
    const row = statements.selectLock.get(name) as { owner: string; expires_at_ms: number } | undefined;
    if (row !== undefined && row.expires_at_ms > nowMs) {
      return false;
    }
    statements.upsertLock.run(name, owner, expiresAtMs);
    return true;
  });
  const renewTransaction = db.transaction((name: string, owner: string, expiresAtMs: number): boolean => {
    const row = statements.selectLock.get(name) as { owner: string; expires_at_ms: number } | undefined;
    if (row === undefined || row.owner !== owner) {
      return false;
    }
    statements.upsertLock.run(name, owner, expiresAtMs);
    return true;
  });
  const validateLockArguments = (name: string, owner: string, ttlInMs: number, nowMs: number): void => {
    requireString('name', name);
    requireString('owner', owner);
    requireFinite('ttlInMs', ttlInMs);
    requireFinite('nowMs', nowMs);
    if (ttlInMs <= 0) {
      throw new StoreInputError('ttlInMs', `must be positive, got ${ttlInMs}`);
    }
  };

  const prunedBeforeMs = (): number => {
    const value = statements.selectMeta.get(PRUNED_BEFORE_KEY) as string | undefined;
    return value === undefined ? Number.NEGATIVE_INFINITY : Number(value);
  };

  const pruneTransaction = db.transaction((cutoffMs: number): number => {
    const deleted = statements.pruneProbes.run(cutoffMs).changes;
    statements.upsertMeta.run(PRUNED_BEFORE_KEY, String(Math.max(cutoffMs, prunedBeforeMs())));
    return deleted;
  });

  const readWindowSync = (pool: string, window: TimeWindow, binInMs: number): WindowEvidence => {
    requireString('pool', pool);
    validateWindow(window);
    const bin = effectiveBin(window, binInMs);
    // Edges inside minutes whose raw rows were pruned widen to the whole minute (read from the rollups).
    const pruned = prunedBeforeMs();
    const lowMs = window.fromMs < pruned ? Math.floor(window.fromMs / MINUTE_IN_MS) * MINUTE_IN_MS : window.fromMs;
    const highMs = window.toMs <= pruned && window.toMs > window.fromMs ? Math.ceil(window.toMs / MINUTE_IN_MS) * MINUTE_IN_MS : window.toMs;
    const fullFrom = Math.ceil(lowMs / MINUTE_IN_MS) * MINUTE_IN_MS;
    const fullTo = Math.floor(highMs / MINUTE_IN_MS) * MINUTE_IN_MS;
    const rawRanges: Array<[number, number]> = [];
    let rollupRange: [number, number] | null = null;
    if (window.toMs <= window.fromMs) {
      // Empty window: nothing to read.
    } else if (fullFrom < fullTo) {
      rollupRange = [fullFrom, fullTo];
      if (lowMs < fullFrom) rawRanges.push([lowMs, fullFrom]);
      if (fullTo < highMs) rawRanges.push([fullTo, highMs]);
    } else if (lowMs < highMs) {
      rawRanges.push([lowMs, highMs]);
    }

    const countRows: CountRow[] = [];
    const latency = new Map<string, Map<number, number>>();
    const unidentifiedValues = new Map<string, number>();
    const addValues = (rows: Array<{ value: string; n: number }>): void => {
      for (const row of rows) unidentifiedValues.set(row.value, (unidentifiedValues.get(row.value) ?? 0) + row.n);
    };
    const addLatency = (backend: string, bucket: number, n: number): void => {
      let histogram = latency.get(backend);
      if (histogram === undefined) {
        histogram = new Map();
        latency.set(backend, histogram);
      }
      histogram.set(bucket, (histogram.get(bucket) ?? 0) + n);
    };
    if (rollupRange !== null) {
      const params = { pool, from: rollupRange[0], to: rollupRange[1], bin };
      countRows.push(...(statements.rollupCounts.all(params) as CountRow[]));
      for (const row of statements.rollupLatency.all({ pool, from: params.from, to: params.to }) as Array<{ backend: string; bucket: number; n: number }>) {
        addLatency(row.backend, row.bucket, row.n);
      }
      addValues(statements.rollupUnidentified.all({ pool, from: params.from, to: params.to, other: OTHER_VALUES, limit: MAX_DISTINCT_VALUES }) as Array<{ value: string; n: number }>);
    }
    for (const [from, to] of rawRanges) {
      countRows.push(...(statements.rawCounts.all({ pool, from, to, bin }) as CountRow[]));
      for (const row of statements.rawLatency.all({ pool, from, to }) as Array<{ backend: string; latency: number }>) {
        addLatency(row.backend, latencyBucketOf(row.latency), 1);
      }
      addValues(statements.rawUnidentified.all({ pool, from, to, limit: MAX_DISTINCT_VALUES }) as Array<{ value: string; n: number }>);
    }

    const firstBin = Math.floor(window.fromMs / bin) * bin;
    const binCount = window.toMs > window.fromMs ? Math.ceil((window.toMs - firstBin) / bin) : 0;
    const bins = Array.from({ length: binCount }, (_, index) => ({
      startMs: firstBin + index * bin,
      answered: {} as Record<string, number>,
      unidentified: 0,
      failed: 0,
    }));
    const backends = new Map<string, { answered: number; errorsByStatus: Record<string, number> }>();
    const backendOf = (name: string): { answered: number; errorsByStatus: Record<string, number> } => {
      let entry = backends.get(name);
      if (entry === undefined) {
        entry = { answered: 0, errorsByStatus: {} };
        backends.set(name, entry);
      }
      return entry;
    };
    let total = 0;
    let answered = 0;
    let unidentified = 0;
    let timeout = 0;
    let network = 0;
    let tokensUsed = 0;
    let throttled = 0;
    const errorsByStatus: Record<string, number> = {};
    for (const row of countRows) {
      total += row.n;
      tokensUsed += row.tokens;
      if (row.kind === 'gateway-throttled') {
        // The gateway's token limit refused the verifier: not a failure of the pool (see probe/gatewayThrottle.ts).
        throttled += row.n;
        continue;
      }
      const binEntry = bins[Math.floor((row.bin - firstBin) / bin)];
      if (row.kind === 'ok') {
        answered += row.n;
        if (row.backend === '') {
          unidentified += row.n;
          if (binEntry !== undefined) binEntry.unidentified += row.n;
        } else {
          backendOf(row.backend).answered += row.n;
          if (binEntry !== undefined) binEntry.answered[row.backend] = (binEntry.answered[row.backend] ?? 0) + row.n;
        }
        continue;
      }
      if (binEntry !== undefined) binEntry.failed += row.n;
      if (row.kind === 'timeout') {
        timeout += row.n;
      } else if (row.kind === 'network') {
        network += row.n;
      } else {
        const status = String(row.status);
        errorsByStatus[status] = (errorsByStatus[status] ?? 0) + row.n;
        if (row.backend !== '') {
          const entry = backendOf(row.backend);
          entry.errorsByStatus[status] = (entry.errorsByStatus[status] ?? 0) + row.n;
        }
      }
    }
    for (const name of latency.keys()) {
      backendOf(name);
    }
    const backendEvidence: BackendEvidence[] = [...backends.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, entry]) => {
        const histogram = latency.get(name) ?? new Map<number, number>();
        return {
          backend: name,
          answered: entry.answered,
          errorsByStatus: entry.errorsByStatus,
          latencyP50InMs: percentileOfHistogram(histogram, 0.5),
          latencyP95InMs: percentileOfHistogram(histogram, 0.95),
        };
      });

    const runParams = { pool, from: window.fromMs, to: window.toMs };
    const runRows = statements.windowRuns.all(runParams) as Array<{ run_id: string; started_at_ms: number; state: RunState; probe_count: number }>;
    const runAnswers = new Map<string, Record<string, number>>();
    for (const row of statements.windowRunCounts.all(runParams) as Array<{ run_id: string; backend: string; answered: number }>) {
      const counts = runAnswers.get(row.run_id) ?? {};
      counts[row.backend] = row.answered;
      runAnswers.set(row.run_id, counts);
    }
    const runs: RunCounts[] = runRows.map((row) => ({
      runId: row.run_id,
      startedAtMs: row.started_at_ms,
      answered: runAnswers.get(row.run_id) ?? {},
      probes: row.probe_count,
      state: row.state,
    }));

    return {
      window: { fromMs: window.fromMs, toMs: window.toMs },
      source: 'probes',
      total,
      answered,
      // Both sources are capped by LIMIT: a value just below the cut in each may miss the top list; its answers are
      // still counted in otherAnswers (count − kept), so the total stays exact.
      unidentified: toUnidentifiedEvidence(unidentified, boundCounts(unidentifiedValues, MAX_DISTINCT_VALUES)),
      backends: backendEvidence,
      errors: { byStatus: errorsByStatus, timeout, network },
      bins: bins as EvidenceBin[],
      binInMs: bin,
      runs,
      incompleteRuns: runRows.filter((row) => row.state === 'incomplete').length,
      tokensUsed,
      degraded: undefined,
      ...gatewayThrottledOf(throttled, { pool, from: window.fromMs, to: window.toMs }),
    };
  };

  const gatewayThrottledOf = (count: number, params: { pool: string; from: number; to: number }): Pick<WindowEvidence, 'gatewayThrottled'> => {
    const remaining = statements.lastRemainingTokens.get(params) as number | undefined;
    if (count === 0 && remaining === undefined) return {};
    const last = count > 0 ? (statements.lastThrottled.get(params) as { retryAfterSeconds: number | null } | undefined) : undefined;
    return { gatewayThrottled: { count, lastRetryAfterSeconds: last?.retryAfterSeconds ?? null, remainingTokens: remaining ?? null } };
  };

  let closed = false;
  // Probes recorded but not yet committed (see PROBE_BATCH_DELAY_IN_MS): checked when recorded, committed together.
  let pending: ProbeRecord[] = [];
  const pendingKeys = new Set<string>();
  let batchTimer: NodeJS.Timeout | undefined;
  let batchError: StoreError | undefined;
  const commitPending = (): void => {
    if (batchTimer !== undefined) {
      clearTimeout(batchTimer);
      batchTimer = undefined;
    }
    if (pending.length === 0) {
      return;
    }
    const batch = pending;
    pending = [];
    pendingKeys.clear();
    try {
      insertManyTransaction(batch);
    } catch (error) {
      // Reported by the next recordProbe/finishRun/flush: the caller learns its probes were not kept.
      const cause = ensureError(error);
      batchError ??= new StoreError('recordProbe', `${batch.length} probe(s) could not be written: ${cause.message}`, { cause });
    }
  };
  const throwBatchError = (): void => {
    const error = batchError;
    if (error !== undefined) {
      batchError = undefined;
      throw error;
    }
  };
  const assertOpen = (operation: string): void => {
    if (closed) {
      throw new StoreError(operation, 'the store is closed');
    }
  };
  // Every operation but recordProbe sees (and commits) the probes recorded before it.
  const guard = (operation: string): void => {
    assertOpen(operation);
    commitPending();
  };

  return {
    db,

    async beginRun(run: ProbeRunInfo): Promise<void> {
      guard('beginRun');
      requireString('run.runId', run.runId);
      requireString('run.pool', run.pool);
      requireFinite('run.startedAtMs', run.startedAtMs);
      requireString('run.trigger', run.trigger);
      try {
        statements.insertRun.run(run.runId, run.pool, run.startedAtMs, run.trigger, run.startedAtMs);
      } catch (error) {
        throw new StoreError('beginRun', `run ${JSON.stringify(run.runId)}: ${ensureError(error).message}`, { cause: ensureError(error) });
      }
    },

    async recordProbe(record: ProbeRecord): Promise<void> {
      assertOpen('recordProbe');
      throwBatchError();
      // Everything that can be wrong with one record is checked now, so a batch fails only when the disk does.
      validateRecord(record);
      poolOf(record.runId);
      const key = `${record.runId}\u0000${record.probeIndex}`;
      if (pendingKeys.has(key) || statements.probeExists.get(record.runId, record.probeIndex) !== undefined) {
        throw new StoreError('recordProbe', `probe ${record.probeIndex} of run ${record.runId} is already recorded`);
      }
      pending.push(record);
      pendingKeys.add(key);
      if (pending.length >= PROBE_BATCH_MAX) {
        commitPending();
        throwBatchError();
      } else if (batchTimer === undefined) {
        batchTimer = setTimeout(commitPending, PROBE_BATCH_DELAY_IN_MS);
      }
    },

    pruneRawProbes(beforeMs: number): number {
      guard('pruneRawProbes');
      requireFinite('beforeMs', beforeMs);
      return pruneTransaction.immediate(Math.floor(beforeMs / MINUTE_IN_MS) * MINUTE_IN_MS);
    },

    insertProbes(records: readonly ProbeRecord[]): void {
      guard('insertProbes');
      insertManyTransaction(records);
    },

    async finishRun(summary: ProbeRunSummary): Promise<void> {
      guard('finishRun');
      throwBatchError();
      requireString('summary.runId', summary.runId);
      requireFinite('summary.finishedAtMs', summary.finishedAtMs);
      if (!RUN_STATES.has(summary.state)) {
        throw new StoreInputError('summary.state', `must be running, complete or incomplete, got ${JSON.stringify(summary.state)}`);
      }
      const result = statements.finishRun.run({
        runId: summary.runId,
        state: summary.state,
        finishedAtMs: summary.finishedAtMs,
        probesSent: summary.probesSent,
        tokensUsed: summary.tokensUsed,
        verdict: summary.verdict,
        stoppedEarly: summary.stoppedEarly ? 1 : 0,
      });
      if (result.changes === 0) {
        throw new StoreError('finishRun', `run ${JSON.stringify(summary.runId)} was never begun`);
      }
    },

    async recordVerdict(verdict: RunVerdictTelemetry): Promise<void> {
      guard('recordVerdict');
      requireString('verdict.runId', verdict.runId);
      requireString('verdict.pool', verdict.pool);
      statements.upsertVerdict.run({
        runId: verdict.runId,
        pool: verdict.pool,
        status: verdict.status,
        probesSent: verdict.probesSent,
        tokensUsed: verdict.tokensUsed,
        sharesJson: JSON.stringify(verdict.shares),
        worstDeviationInPoints: verdict.worstDeviationInPoints,
        health: verdict.health,
      });
    },

    runVerdict(runId: string): RunVerdictTelemetry | null {
      guard('runVerdict');
      const row = statements.selectVerdict.get(runId) as
        | { run_id: string; pool: string; status: string; probes_sent: number; tokens_used: number; shares_json: string; worst_deviation_in_points: number; health: string }
        | undefined;
      if (row === undefined) {
        return null;
      }
      return {
        runId: row.run_id,
        pool: row.pool,
        status: row.status,
        probesSent: row.probes_sent,
        tokensUsed: row.tokens_used,
        shares: JSON.parse(row.shares_json) as Record<string, number | null>,
        worstDeviationInPoints: row.worst_deviation_in_points,
        health: row.health,
      };
    },

    async flush(): Promise<void> {
      guard('flush');
      throwBatchError();
    },

    async readWindow(pool: string, window: TimeWindow, binInMs: number, signal?: AbortSignal): Promise<WindowEvidence> {
      guard('readWindow');
      signal?.throwIfAborted();
      return readWindowSync(pool, window, binInMs);
    },

    readWindowSync(pool: string, window: TimeWindow, binInMs: number): WindowEvidence {
      guard('readWindow');
      return readWindowSync(pool, window, binInMs);
    },

    tryAcquireLock(name: string, owner: string, ttlInMs: number, nowMs: number): boolean {
      guard('tryAcquireLock');
      validateLockArguments(name, owner, ttlInMs, nowMs);
      return lockTransaction.immediate(name, owner, nowMs + ttlInMs, nowMs);
    },

    renewLock(name: string, owner: string, ttlInMs: number, nowMs: number): boolean {
      guard('renewLock');
      validateLockArguments(name, owner, ttlInMs, nowMs);
      return renewTransaction.immediate(name, owner, nowMs + ttlInMs);
    },

    releaseLock(name: string, owner: string): void {
      guard('releaseLock');
      statements.deleteLock.run(name, owner);
    },

    markAbandonedRuns(nowMs: number, olderThanMs: number, pool?: string): number {
      guard('markAbandonedRuns');
      requireFinite('nowMs', nowMs);
      requireFinite('olderThanMs', olderThanMs);
      if (pool !== undefined) return statements.markAbandonedOfPool.run(nowMs - olderThanMs, pool).changes;
      return statements.markAbandoned.run(nowMs - olderThanMs).changes;
    },

    touchRun(runId: string, nowMs: number): void {
      guard('touchRun');
      requireString('runId', runId);
      requireFinite('nowMs', nowMs);
      statements.touchRunActivity.run(Math.ceil(nowMs), runId);
    },

    saveStartupRecord(pool: string, record: StartupRecord): void {
      guard('saveStartupRecord');
      requireString('pool', pool);
      statements.upsertStartup.run(pool, JSON.stringify(record));
    },

    lastStartupRecord(pool: string): StartupRecord | null {
      guard('lastStartupRecord');
      const json = statements.selectStartup.get(pool) as string | undefined;
      return json === undefined ? null : (JSON.parse(json) as StartupRecord);
    },

    saveDeployOutcome(pool: string, outcome: DeployOutcome): void {
      guard('saveDeployOutcome');
      requireString('pool', pool);
      statements.insertDeploy.run(pool, JSON.stringify(outcome));
    },

    lastDeployOutcome(pool: string): DeployOutcome | null {
      guard('lastDeployOutcome');
      const json = statements.lastDeploy.get(pool) as string | undefined;
      return json === undefined ? null : (JSON.parse(json) as DeployOutcome);
    },

    saveConfigDrift(pool: string, report: ConfigDriftReport): void {
      guard('saveConfigDrift');
      requireString('pool', pool);
      statements.insertDrift.run(pool, JSON.stringify(report));
    },

    lastConfigDrift(pool: string): ConfigDriftReport | null {
      guard('lastConfigDrift');
      const json = statements.lastDrift.get(pool) as string | undefined;
      return json === undefined ? null : (JSON.parse(json) as ConfigDriftReport);
    },

    recentRuns(pool: string, limit: number): StoredRun[] {
      guard('recentRuns');
      if (!Number.isInteger(limit) || limit < 0) {
        throw new StoreInputError('limit', `must be a non-negative integer, got ${String(limit)}`);
      }
      return (statements.recentRuns.all(pool, limit) as RunRow[]).map(toStoredRun);
    },

    close(): void {
      if (!closed) {
        commitPending();
        closed = true;
        db.close();
      }
    },
  };
}

function toStoredRun(row: RunRow): StoredRun {
  return {
    runId: row.run_id,
    pool: row.pool,
    startedAtMs: row.started_at_ms,
    trigger: row.trigger,
    state: row.state,
    ...(row.finished_at_ms === null ? {} : { finishedAtMs: row.finished_at_ms }),
    ...(row.probes_sent === null ? {} : { probesSent: row.probes_sent }),
    ...(row.tokens_used === null ? {} : { tokensUsed: row.tokens_used }),
    ...(row.verdict === null ? {} : { verdict: row.verdict }),
    ...(row.stopped_early === null ? {} : { stoppedEarly: row.stopped_early === 1 }),
    ...(row.last_activity_ms === null || row.last_activity_ms === undefined ? {} : { lastActivityMs: row.last_activity_ms }),
  };
}

function effectiveBin(window: TimeWindow, binInMs: number): number {
  if (typeof binInMs !== 'number' || !Number.isFinite(binInMs) || binInMs <= 0) {
    throw new StoreInputError('binInMs', `must be a positive number of milliseconds, got ${String(binInMs)}`);
  }
  let bin = Math.ceil(binInMs / MINUTE_IN_MS) * MINUTE_IN_MS;
  const span = window.toMs - window.fromMs;
  if (span / bin > MAX_BINS) {
    bin = Math.ceil(span / MAX_BINS / MINUTE_IN_MS) * MINUTE_IN_MS;
  }
  return bin;
}

function validateWindow(window: TimeWindow): void {
  if (typeof window !== 'object' || window === null) {
    throw new StoreInputError('window', 'must be { fromMs, toMs }');
  }
  requireFinite('window.fromMs', window.fromMs);
  requireFinite('window.toMs', window.toMs);
  if (window.toMs < window.fromMs) {
    throw new StoreInputError('window', `toMs (${window.toMs}) is before fromMs (${window.fromMs})`);
  }
}

function validateRecord(record: ProbeRecord): void {
  requireString('record.runId', record.runId);
  if (!Number.isInteger(record.probeIndex) || record.probeIndex < 0) {
    throw new StoreInputError('record.probeIndex', `must be a non-negative integer, got ${String(record.probeIndex)}`);
  }
  requireFinite('record.startedAtMs', record.startedAtMs);
  requireFinite('record.latencyInMs', record.latencyInMs);
  if (!PROBE_KINDS.has(record.kind)) {
    throw new StoreInputError('record.kind', `must be ok, http, timeout, network or gateway-throttled, got ${JSON.stringify(record.kind)}`);
  }
  for (const field of ['retryAfterSeconds', 'remainingTokens'] as const) {
    const value = record[field];
    if (value !== undefined && value !== null && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new StoreInputError(`record.${field}`, `must be a non-negative integer or null, got ${String(value)}`);
    }
  }
  if (record.status !== null && !Number.isInteger(record.status)) {
    throw new StoreInputError('record.status', `must be an integer or null, got ${String(record.status)}`);
  }
  if (record.totalTokens !== null && !(Number.isFinite(record.totalTokens) && record.totalTokens >= 0)) {
    throw new StoreInputError('record.totalTokens', `must be a non-negative number or null, got ${String(record.totalTokens)}`);
  }
  if (record.backend !== null && (typeof record.backend !== 'string' || record.backend === '')) {
    throw new StoreInputError('record.backend', 'must be a non-empty string or null');
  }
}

function requireString(field: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') {
    throw new StoreInputError(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}

function requireFinite(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new StoreInputError(field, `must be a finite number, got ${String(value)}`);
  }
}
