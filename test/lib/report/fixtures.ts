import type { BuildReportInput, ReportWindowInput } from '../../../src/lib/report/buildReport';
import type { ResolvedBackend, ResolvedPool } from '../../../src/lib/pool/types';
import type { Assessment, BackendAssessment } from '../../../src/lib/stats/types';
import type { BackendEvidence, WindowEvidence } from '../../../src/lib/store/types';

/** Hand-built inputs for report tests: the lab pool (West US 2 : East US 1) plus an optional priority-2 backup. */

export const HOUR_FROM_MS = Date.UTC(2026, 10, 25, 1, 0, 0);
export const HOUR_TO_MS = HOUR_FROM_MS + 3_600_000;

export function backend(over: Partial<ResolvedBackend> & { name: string }): ResolvedBackend {
  return {
    url: `https://${over.name}.openai.azure.com/openai`,
    region: undefined,
    priority: 1,
    weight: undefined,
    identifier: undefined,
    circuitBreaker: undefined,
    expectedShare: 0,
    isPrimary: true,
    ...over,
  };
}

export function labPool(options: { withBackup?: boolean; names?: [string, string] } = {}): ResolvedPool {
  const [n1, n2] = options.names ?? ['openai-instance1', 'openai-instance2'];
  const backends: ResolvedBackend[] = [
    backend({ name: n1, region: 'West US', priority: 1, weight: 2, expectedShare: 2 / 3 }),
    backend({ name: n2, region: 'East US', priority: 1, weight: 1, expectedShare: 1 / 3 }),
  ];
  if (options.withBackup) {
    backends.push(backend({ name: 'openai-backup', region: 'Central US', priority: 2, weight: 1, expectedShare: 0, isPrimary: false }));
  }
  return {
    name: 'openai-instance-backend-pool',
    description: undefined,
    backends,
    apim: undefined,
    probe: { deployment: 'gpt-4o', apiVersion: '2024-02-01', subscriptionKeyHeader: 'api-key', identify: { mode: 'region', header: 'x-ms-region' } },
  };
}

export interface WindowSpec {
  name: string;
  /** Identified 2xx answers per backend. */
  answered: Record<string, number>;
  status: Assessment['status'];
  flagged?: string[];
  errorsByBackend?: Record<string, Record<string, number>>;
  unidentified?: Record<string, number>;
  timeout?: number;
  network?: number;
  unattributedByStatus?: Record<string, number>;
  probesNeeded?: number | null;
  degraded?: string;
  pool?: ResolvedPool;
  fromMs?: number;
  toMs?: number;
  bins?: WindowEvidence['bins'];
  latency?: Record<string, [number, number]>;
}

/** Builds a window's evidence and assessment consistently from counts (shares, deviations, failover). */
export function windowOf(spec: WindowSpec): ReportWindowInput {
  const pool = spec.pool ?? labPool({ withBackup: Object.keys(spec.answered).includes('openai-backup') });
  const identified = Object.values(spec.answered).reduce((a, b) => a + b, 0);
  const unidentifiedCount = Object.values(spec.unidentified ?? {}).reduce((a, b) => a + b, 0);
  const byStatus: Record<string, number> = { ...(spec.unattributedByStatus ?? {}) };
  for (const errors of Object.values(spec.errorsByBackend ?? {})) {
    for (const [status, count] of Object.entries(errors)) byStatus[status] = (byStatus[status] ?? 0) + count;
  }
  const failed = Object.values(byStatus).reduce((a, b) => a + b, 0) + (spec.timeout ?? 0) + (spec.network ?? 0);
  const backends: BackendEvidence[] = pool.backends.map((b) => ({
    backend: b.name,
    answered: spec.answered[b.name] ?? 0,
    errorsByStatus: spec.errorsByBackend?.[b.name] ?? {},
    latencyP50InMs: spec.latency?.[b.name]?.[0] ?? null,
    latencyP95InMs: spec.latency?.[b.name]?.[1] ?? null,
  }));
  const primaries = pool.backends.filter((b) => b.isPrimary);
  const primaryAnswered = primaries.reduce((sum, b) => sum + (spec.answered[b.name] ?? 0), 0);
  const assessed: BackendAssessment[] = primaries.map((b) => {
    const count = spec.answered[b.name] ?? 0;
    const share = primaryAnswered > 0 ? count / primaryAnswered : null;
    return {
      backend: b.name,
      expectedShare: b.expectedShare,
      observedCount: count,
      observedShare: share,
      interval: share === null ? null : { low: Math.max(0, share - 0.04), high: Math.min(1, share + 0.04), confidence: 0.99 },
      pValue: share === null ? null : (spec.flagged ?? []).includes(b.name) ? 1e-9 : 0.42,
      deviationInPoints: share === null ? null : (share - b.expectedShare) * 100,
      flagged: (spec.flagged ?? []).includes(b.name),
    };
  });
  const backups = pool.backends.filter((b) => !b.isPrimary && (spec.answered[b.name] ?? 0) > 0);
  const failoverCount = backups.reduce((sum, b) => sum + (spec.answered[b.name] ?? 0), 0);
  const fromMs = spec.fromMs ?? HOUR_FROM_MS;
  const toMs = spec.toMs ?? HOUR_TO_MS;
  const evidence: WindowEvidence = {
    window: { fromMs, toMs },
    source: 'probes',
    total: identified + unidentifiedCount + failed,
    answered: identified + unidentifiedCount,
    unidentified: { count: unidentifiedCount, values: spec.unidentified ?? {} },
    backends,
    errors: { byStatus, timeout: spec.timeout ?? 0, network: spec.network ?? 0 },
    bins: spec.bins ?? [],
    binInMs: 300_000,
    runs: [],
    incompleteRuns: 0,
    tokensUsed: identified * 20,
    degraded: spec.degraded,
  };
  const assessment: Assessment = {
    window: spec.name,
    status: spec.status,
    sampleSize: identified,
    alpha: 2e-4,
    toleranceInPoints: 5,
    backends: assessed,
    failover:
      failoverCount > 0
        ? { count: failoverCount, backends: backups.map((b) => ({ backend: b.name, priority: b.priority, count: spec.answered[b.name] ?? 0 })) }
        : null,
    probesNeeded: spec.probesNeeded ?? null,
    explanations: [`${spec.name}: ${identified} identified answers.`],
  };
  return { name: spec.name, evidence, assessment };
}

/** Twelve 5-minute bins whose West US share wanders around 2/3. */
export function labBins(fromMs = HOUR_FROM_MS): WindowEvidence['bins'] {
  const west = [40, 41, 39, 38, 42, 40, 41, 39, 37, 40, 39, 40];
  return west.map((w, i) => ({
    startMs: fromMs + i * 300_000,
    answered: { 'openai-instance1': w, 'openai-instance2': 60 - w },
    unidentified: 0,
    failed: i === 7 ? 2 : 0,
  }));
}

export function inputOf(over: Partial<BuildReportInput> & Pick<BuildReportInput, 'windows'>): BuildReportInput {
  return {
    pool: labPool(),
    generatedAtMs: HOUR_TO_MS,
    primaryWindow: 'hour',
    lastDeploy: null,
    configDrift: null,
    policy: [],
    alerts: { state: null, recent: [] },
    ...over,
  };
}
