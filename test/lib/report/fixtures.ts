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
    probe: { deployment: 'gpt-4o', apiVersion: '2024-02-01', subscriptionKeyHeader: 'api-key', identify: { mode: 'region', header: 'x-ms-region' }, headers: {} },
    gateway: { url: undefined, subscriptionKeySetting: undefined },
    alerts: { webhookUrlSetting: undefined },
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
  /** Default: true from 30 identified answers (about where a 2:1 window rules out a missing backend). */
  deadBackendRuledOut?: boolean;
  /** Default: a short sentence per status. */
  meaning?: string;
  decidedBy?: Assessment['decidedBy'];
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
    decidedBy: spec.decidedBy ?? 'fixed-n',
    resolutionInPoints: identified > 0 ? 4 : null,
    deadBackendRuledOut: spec.deadBackendRuledOut ?? identified >= 30,
    meaning: spec.meaning ?? (spec.status === 'ok' ? 'Every share is within ±5 points of its weight (95% confidence).' : `Verdict ${spec.status}.`),
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

/**
 * A report input with something in every section: someone changed West US's weight from 2 to 3 in the portal at
 * 01:20, so the hour drifts towards 3:1; East US also answered some 429s; a Teams alert went out.
 */
export function richReportInput(): BuildReportInput {
  const west = [40, 40, 40, 40, 46, 46, 46, 46, 46, 46, 46, 46];
  const bins = west.map((w, i) => ({
    startMs: HOUR_FROM_MS + i * 300_000,
    answered: { 'openai-instance1': w, 'openai-instance2': 60 - w },
    unidentified: 0,
    failed: 0,
  }));
  const hour = windowOf({
    name: 'hour',
    status: 'drift',
    answered: { 'openai-instance1': 528, 'openai-instance2': 192 },
    flagged: ['openai-instance1', 'openai-instance2'],
    errorsByBackend: { 'openai-instance2': { '429': 41 } },
    timeout: 2,
    latency: { 'openai-instance1': [412, 1_180], 'openai-instance2': [538, 1_520] },
    bins,
  });
  const run = windowOf({
    name: 'run',
    status: 'inconclusive',
    answered: { 'openai-instance1': 46, 'openai-instance2': 14 },
    probesNeeded: 180,
    fromMs: HOUR_TO_MS - 300_000,
    toMs: HOUR_TO_MS,
  });
  const day = windowOf({
    name: 'day',
    status: 'ok',
    answered: { 'openai-instance1': 11_640, 'openai-instance2': 5_640 },
    fromMs: HOUR_TO_MS - 86_400_000,
    toMs: HOUR_TO_MS,
  });
  return inputOf({
    windows: [run, hour, day],
    configDrift: {
      checkedAt: '2026-11-25T01:58:00.000Z',
      differences: [{ resource: 'openai-instance-backend-pool', field: 'pool.members[openai-instance1].weight', declared: 2, deployed: 3 }],
    },
    lastDeploy: {
      mode: 'deploy',
      status: 'succeeded',
      startedAt: '2026-11-24T22:00:00.000Z',
      finishedAt: '2026-11-24T22:00:03.000Z',
      actions: [
        { resource: 'openai-instance1', kind: 'backend', plan: 'none', result: 'unchanged', changedFields: [] },
        { resource: 'openai-instance2', kind: 'backend', plan: 'none', result: 'unchanged', changedFields: [] },
        { resource: 'openai-instance-backend-pool', kind: 'pool', plan: 'update', result: 'written', changedFields: ['members'] },
      ],
      summary: '2 backends unchanged, pool updated (members)',
    },
    policy: [{ code: 'retry-matches-reason-text', message: 'The retry condition string-matches the pool 503 reason text, which changed in 2026; match on the status code instead.' }],
    alerts: {
      state: { pool: 'openai-instance-backend-pool', health: 'drift', since: '2026-11-25T01:35:00.000Z', lastNotifiedAt: '2026-11-25T01:35:00.000Z', pending: null },
      recent: [
        {
          kind: 'alert',
          pool: 'openai-instance-backend-pool',
          health: 'drift',
          previousHealth: 'ok',
          at: '2026-11-25T01:35:00.000Z',
          message: 'Weight drift: East US answered 24.1%, expected 33.3% (360 answers in the last hour).',
          delivered: true,
          channels: ['webhook (teams)'],
        },
      ],
    },
    dispersion: { phi: 1.08, runs: 12, warnAbove: 1.25 },
    budget: {
      probesPerRun: 60,
      runsPerHour: 12,
      plan: [
        { driftInPoints: 33, window: 'run', probesNeeded: 24, detectable: true },
        { driftInPoints: 17, window: 'hour', probesNeeded: 260, detectable: true },
        { driftInPoints: 10, window: 'hour', probesNeeded: 714, detectable: true },
        { driftInPoints: 5, window: 'day', probesNeeded: 3_460, detectable: true },
        { driftInPoints: 3, window: 'day', probesNeeded: 9_600, detectable: true },
        { driftInPoints: 1, window: 'day', probesNeeded: 86_000, detectable: false },
      ],
    },
  });
}

export const HOSTILE = '<script>alert(1)</script>';
export const HOSTILE_REGION = '<img src=x onerror=alert(2)>';

/** A report whose every name and message tries to inject markup. */
export function hostileReportInput(): BuildReportInput {
  const base = labPool({ names: [HOSTILE, 'east"&\'backend'] });
  const pool = {
    ...base,
    name: 'pool-<b>bold</b>',
    backends: base.backends.map((b, i) => (i === 0 ? { ...b, region: HOSTILE_REGION } : b)),
  };
  const bins = labBins().map((bin) => ({ ...bin, answered: { [HOSTILE]: bin.answered['openai-instance1'] ?? 0, 'east"&\'backend': bin.answered['openai-instance2'] ?? 0 } }));
  return inputOf({
    pool,
    windows: [
      windowOf({
        pool,
        name: 'hour',
        status: 'drift',
        answered: { [HOSTILE]: 590, 'east"&\'backend': 130 },
        flagged: [HOSTILE],
        errorsByBackend: { [HOSTILE]: { '429': 3 } },
        unidentified: { '</td><script>x</script>': 4 },
        bins,
      }),
    ],
    policy: [{ code: '<script>', message: 'policy <script>alert(3)</script>' }],
    configDrift: { checkedAt: '2026-11-25T01:00:00.000Z', differences: [{ resource: HOSTILE, field: 'url', declared: 'https://a.example/<x>', deployed: 'javascript:alert(4)' }] },
    errorsNote: '<iframe src="https://evil.example">',
  });
}

