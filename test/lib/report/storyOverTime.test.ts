import type { AlertLogEntry } from '../../../src/lib/alerts/types';
import { renderReportHtml } from '../../../src/lib/report/renderReportHtml';
import type { Report } from '../../../src/lib/report/types';
import type { RunCounts, WindowEvidence } from '../../../src/lib/store/types';
import { assembleReport } from '../../../src/lib/verifier/assembleReport';
import { labPool } from './fixtures';

/**
 * The demo's story, as the report must tell it: twenty runs of 31 probes in the last hour, runs 8–11 drifting
 * (every answer from West US), the rest healthy (2 : 1). The pooled hour window leaves the four flagged runs out.
 */
const RUN_EVERY_MS = 30_000;
const START_MS = Date.UTC(2026, 10, 25, 1, 40, 0);
const NOW_MS = START_MS + 20 * RUN_EVERY_MS;
const W = 'openai-instance1';
const E = 'openai-instance2';
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

function storyReport(options: { primaryWindow: 'run' | 'hour'; alerts: boolean; lostProbes?: number }): Report {
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

describe('the report tells the story over the last hour whatever the headline window', () => {
  it('charts one point per run of the last hour when the headline window is a single run', () => {
    const report = storyReport({ primaryWindow: 'run', alerts: true });
    expect(report.timeline).toHaveLength(1);
    expect(report.history?.window).toBe('hour');
    expect(report.history?.pointsAre).toBe('run');
    expect(report.history?.points).toHaveLength(20);
    expect(report.history?.points[8]).toMatchObject({ verdict: 'drift', shares: { [W]: 1, [E]: 0 } });
    const html = renderReportHtml(report);
    expect(html).toContain('20 runs, one point each, from 01:40:00 to 01:49:30 UTC, 620 identified answers');
    expect(html).not.toMatch(/\b1 bins\b/);
  });

  it('shades the incident the alert log opened and closed, named in text as well as colour', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: true });
    expect(report.history?.incidents).toEqual([{ health: 'drift', fromMs: START_MS + 8 * RUN_EVERY_MS + 5_000, toMs: START_MS + 13 * RUN_EVERY_MS + 5_000 }]);
    const html = renderReportHtml(report);
    expect(html.match(/<rect class="incident" data-health="drift"/g)).toHaveLength(1);
    expect(html).toContain('Shaded: drift from 01:44:05 to 01:46:35.');
  });

  it('without alerting, shades the runs judged drift on their own', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: false });
    expect(report.history?.incidents).toEqual([{ health: 'drift', fromMs: START_MS + 8 * RUN_EVERY_MS, toMs: START_MS + 12 * RUN_EVERY_MS }]);
  });

  it('counts the runs judged on their own as left out, never as lost probes, and caption and headline agree', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: true });
    const hour = report.windows.find((w) => w.name === 'hour')!;
    expect(hour.leftOut).toEqual({ runs: 4, answers: 124 });
    expect(hour.total).toBe(620);
    expect(hour.sampleSize).toBe(496);
    expect(hour.explanations.join(' ')).not.toMatch(/lost|no recorded outcome/);
    expect(hour.explanations.join(' ')).toContain('124 answers of 4 runs judged on their own (see the run verdicts and alerts) are left out of this window');
    expect(report.headline).toContain('over 496 answers from 620 probes in the last hour; 124 answers of 4 runs judged on their own are left out');
    const html = renderReportHtml(report);
    // 496 judged + 124 left out = the 620 answers the chart shows.
    expect(html).toContain('620 identified answers (including those of 4 runs judged on their own, which the hour verdict leaves out)');
    expect(html).toContain('496 / 620 (124 answers of 4 runs judged on their own left out)');
  });

  it('still calls probes with no recorded outcome lost, and only those', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: true, lostProbes: 5 });
    const hour = report.windows.find((w) => w.name === 'hour')!;
    expect(hour.explanations.join(' ')).toContain('5 probes in the last hour have no recorded outcome (lost).');
  });

  it('says when the data is from: the end of the latest run', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: true });
    expect(report.dataAsOf).toBe(new Date(START_MS + 19 * RUN_EVERY_MS + 5_000).toISOString());
    expect(renderReportHtml(report)).toContain('data as of 2026-11-25 01:49:35 UTC');
  });
});
