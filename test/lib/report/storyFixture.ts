import type { AlertLogEntry } from '../../../src/lib/alerts/types';
import type { Report } from '../../../src/lib/report/types';
import type { RunCounts, WindowEvidence } from '../../../src/lib/store/types';
import { assembleReport } from '../../../src/lib/verifier/assembleReport';
import { labPool } from './fixtures';

/**
 * The demo's story, as the report must tell it: twenty runs of 31 probes in the last hour, runs 8–11 drifting
 * (every answer from West US), the rest healthy (2 : 1). The pooled hour window leaves the four flagged runs out.
 */
export const RUN_EVERY_MS = 30_000;
export const START_MS = Date.UTC(2026, 10, 25, 1, 40, 0);
const NOW_MS = START_MS + 20 * RUN_EVERY_MS;
export const W = 'openai-instance1';
export const E = 'openai-instance2';
const DRIFTING = new Set([8, 9, 10, 11]);

function runs(): RunCounts[] {
  return Array.from({ length: 20 }, (_, i) => ({
    runId: `run-${i}`,
    startedAtMs: START_MS + i * RUN_EVERY_MS,
    answered: DRIFTING.has(i) ? { [W]: 31, [E]: 0 } : { [W]: 21, [E]: 10 },
    probes: 31,
    state: 'complete' as const,
  }));
}

function evidenceOf(list: RunCounts[], fromMs: number, toMs: number, binInMs: number): WindowEvidence {
  const w = list.reduce((s, r) => s + (r.answered[W] ?? 0), 0);
  const e = list.reduce((s, r) => s + (r.answered[E] ?? 0), 0);
  return {
    window: { fromMs, toMs },
    source: 'probes',
    total: w + e,
    answered: w + e,
    unidentified: { count: 0, values: {} },
    backends: [
      { backend: W, answered: w, errorsByStatus: {}, latencyP50InMs: 40, latencyP95InMs: 90 },
      { backend: E, answered: e, errorsByStatus: {}, latencyP50InMs: 45, latencyP95InMs: 95 },
    ],
    errors: { byStatus: {}, timeout: 0, network: 0 },
    bins: [{ startMs: fromMs, answered: { [W]: w, [E]: e }, unidentified: 0, failed: 0 }],
    binInMs,
    runs: list,
    incompleteRuns: 0,
    tokensUsed: 0,
    degraded: undefined,
  };
}

function entry(kind: AlertLogEntry['kind'], previousHealth: AlertLogEntry['health'], health: AlertLogEntry['health'], atMs: number): AlertLogEntry {
  return { kind, pool: 'openai-instance-backend-pool', previousHealth, health, at: new Date(atMs).toISOString(), message: `${kind}`, delivered: true, channels: [] };
}

export function storyReport(options: { primaryWindow: 'run' | 'hour'; alerts: boolean; lostProbes?: number }): Report {
  const all = runs();
  const latest = all[all.length - 1]!;
  const verdicts = new Map(all.map((r, i) => [r.runId, DRIFTING.has(i) ? 'drift' : 'ok']));
  const opened = START_MS + 8 * RUN_EVERY_MS + 5_000;
  const recovered = START_MS + 13 * RUN_EVERY_MS + 5_000;
  return assembleReport({
    pool: labPool(),
    windows: [
      { name: 'run', evidence: evidenceOf([latest], latest.startedAtMs, latest.startedAtMs + 5_001, 5_001), alpha: 1e-3, description: 'in the latest run' },
      {
        name: 'hour',
        evidence: ((e) => ({ ...e, total: e.total + (options.lostProbes ?? 0) }))(evidenceOf(all, NOW_MS - 3_600_000, NOW_MS + 1, 300_000)),
        alpha: 2e-4,
        description: 'in the last hour',
      },
    ],
    primaryWindow: options.primaryWindow,
    generatedAtMs: NOW_MS,
    toleranceInPoints: 5,
    dispersionWarn: 1.25,
    probesPerRun: 31,
    runsPerHour: 120,
    lastDeploy: null,
    configDrift: null,
    policy: [],
    alerts: options.alerts
      ? { state: { pool: 'openai-instance-backend-pool', health: 'ok', since: new Date(recovered).toISOString(), lastNotifiedAt: null, pending: null }, recent: [entry('recovery', 'drift', 'ok', recovered), entry('alert', 'ok', 'drift', opened)] }
      : { state: null, recent: [] },
    runVerdicts: verdicts,
  });
}

