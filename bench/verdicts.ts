import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedEnvironment } from '../src/emulator/startEmbeddedEnvironment';
import { loadPoolDefinition } from '../src/lib/pool';
import { assessWindow, type AssessedBackend } from '../src/lib/stats/assessWindow';
import { clopperPearsonInterval } from '../src/lib/stats/binomial';
import { planEquivalenceSize } from '../src/lib/stats/equivalence';
import { createRandom, type RandomSource } from '../src/lib/stats/random';
import { createSequentialTest } from '../src/lib/stats/sequentialTest';
import type { SequentialVerdict, VerdictStatus } from '../src/lib/stats/types';
import { MISSED_DRIFT_RATE } from '../src/lib/verifier/isDecisive';
import { verifyOnce } from '../src/lib/verifier/verifyOnce';
import { deployLabPool } from '../test/support/deployLabPool';
import { findAppRoot } from './findAppRoot';

/**
 * `npm run bench -- verdicts`: what each verdict means, measured. Seeded, one run.
 *
 * Part 1 simulates the statistics directly (no gateway: probes are independent draws from the true split, exactly
 * the model the tests assume): `verify` (α = 1e-4, ±5 points, sequential stop, the fixed-N tests at the cap) at
 * --requests 60, 200 and 1,000, and the timer's hour window at the default pace (12 runs of ≤ 100 probes, each run
 * judged at α_run = 1e-4 and left out of the hour when it says drift, the hour judged at α_hour = 2e-4). The
 * verdict of a run is the one `verifyOnce` gives: the sequential stop decision when there is one (final), else the
 * fixed-N tests on every answer.
 *
 * Part 2 runs `verifyOnce` against the embedded gateway at concurrency 16 (seeded selection) for the probes sent
 * after the decision (overshoot): probes sent ÷ the probes the sequential test had seen when it decided, with
 * the in-flight ramp (the product) and without it; and the wall time of a healthy 1,000-probe run with and without.
 */

const TOLERANCE = 5;
const ALPHA_VERIFY = 1e-4;
const ALPHA_RUN = 1e-4;
const ALPHA_HOUR = 2e-4;
const RUNS_PER_HOUR = 12;
const PROBES_PER_RUN = 100;

const LAB: readonly AssessedBackend[] = [
  { name: 'west', priority: 1, expectedShare: 2 / 3, isPrimary: true, region: 'West US' },
  { name: 'east', priority: 1, expectedShare: 1 / 3, isPrimary: true, region: 'East US' },
];
const SHARES = LAB.map((b) => b.expectedShare);

interface Split {
  readonly name: string;
  readonly west: number;
  /** At least 5 points off: P(ok) must stay ≤ 0.05. */
  readonly offByTolerance: boolean;
}

const SPLITS: readonly Split[] = [
  { name: 'exact weights (66.7/33.3)', west: 2 / 3, offByTolerance: false },
  { name: '2.7 points off (64.0/36.0)', west: 2 / 3 - 0.027, offByTolerance: false },
  { name: '5 points off (61.7/38.3)', west: 2 / 3 - 0.05, offByTolerance: true },
  { name: '1:1 (50/50)', west: 0.5, offByTolerance: true },
  { name: 'dead backend (East US answers nothing)', west: 1, offByTolerance: true },
];

/** One run as verifyOnce judges it: counts, and the sequential stop decision when there is one. */
function simulateRun(random: RandomSource, westShare: number, maxProbes: number, alpha: number): { west: number; east: number; sequential: SequentialVerdict | undefined } {
  const test = createSequentialTest({ expectedShares: SHARES, alpha, toleranceInPoints: TOLERANCE, maxProbes, missedDriftRate: MISSED_DRIFT_RATE });
  let west = 0;
  let east = 0;
  while (test.decision.state === 'continue') {
    const index = random.next() < westShare ? 0 : 1;
    if (index === 0) west++;
    else east++;
    test.observe(index);
  }
  const d = test.decision;
  return { west, east, sequential: d.state === 'drift' || d.state === 'ok' ? { state: d.state, identified: d.identified, reason: d.reason } : undefined };
}

function judge(label: string, west: number, east: number, alpha: number, sequential?: SequentialVerdict): VerdictStatus {
  return assessWindow({ label, backends: LAB, evidence: evidence(west, east), options: { alpha, toleranceInPoints: TOLERANCE }, ...(sequential ? { sequential } : {}) }).status;
}

function evidence(west: number, east: number) {
  const total = west + east;
  return {
    window: { fromMs: 0, toMs: 1 },
    source: 'probes' as const,
    total,
    answered: total,
    unidentified: { count: 0, values: {} },
    backends: [
      { backend: 'west', answered: west, errorsByStatus: {}, latencyP50InMs: null, latencyP95InMs: null },
      { backend: 'east', answered: east, errorsByStatus: {}, latencyP50InMs: null, latencyP95InMs: null },
    ],
    errors: { byStatus: {}, timeout: 0, network: 0 },
    bins: [],
    binInMs: 1,
    runs: [],
    incompleteRuns: 0,
    tokensUsed: 0,
    degraded: undefined,
  };
}

function simulateVerify(random: RandomSource, westShare: number, requests: number): VerdictStatus {
  const run = simulateRun(random, westShare, requests, ALPHA_VERIFY);
  return judge('run', run.west, run.east, ALPHA_VERIFY, run.sequential);
}

function simulateHour(random: RandomSource, westShare: number): VerdictStatus {
  let west = 0;
  let east = 0;
  for (let r = 0; r < RUNS_PER_HOUR; r++) {
    const run = simulateRun(random, westShare, PROBES_PER_RUN, ALPHA_RUN);
    // A run flagged on its own is an incident of the run window and is left out of the hour (withoutFlaggedRuns).
    if (judge('run', run.west, run.east, ALPHA_RUN, run.sequential) === 'drift') continue;
    west += run.west;
    east += run.east;
  }
  return west + east === 0 ? 'no-data' : judge('hour', west, east, ALPHA_HOUR);
}

function rateText(hits: number, runs: number): string {
  const ci = clopperPearsonInterval(hits, runs, 0.95);
  return `${(hits / runs).toFixed(3)} [${ci.low.toFixed(3)}, ${ci.high.toFixed(3)}]`;
}

interface Cell {
  readonly ok: number;
  readonly drift: number;
  readonly runs: number;
}

function simulateTable(): { lines: string[]; checks: string[] } {
  const configs = [
    { name: 'verify --requests 60', runs: 2000, one: (r: RandomSource, s: number) => simulateVerify(r, s, 60), alpha: ALPHA_VERIFY },
    { name: 'verify --requests 200', runs: 2000, one: (r: RandomSource, s: number) => simulateVerify(r, s, 200), alpha: ALPHA_VERIFY },
    { name: 'verify --requests 1000', runs: 1000, one: (r: RandomSource, s: number) => simulateVerify(r, s, 1000), alpha: ALPHA_VERIFY },
    { name: `timer hour window (${RUNS_PER_HOUR} × ≤ ${PROBES_PER_RUN} probes)`, runs: 400, one: simulateHour, alpha: ALPHA_HOUR },
  ];
  const lines = [
    '| check | true split | runs | P(ok) [95% CP] | P(drift) [95% CP] | P(inconclusive or no data) |',
    '|---|---|---|---|---|---|',
  ];
  const checks: string[] = [];
  configs.forEach((config, c) => {
    SPLITS.forEach((split, s) => {
      const random = createRandom(1000 * (c + 1) + s);
      const cell: Cell = { ok: 0, drift: 0, runs: config.runs };
      let ok = 0;
      let drift = 0;
      for (let r = 0; r < config.runs; r++) {
        const status = config.one(random, split.west);
        if (status === 'ok') ok++;
        else if (status === 'drift') drift++;
      }
      Object.assign(cell, { ok, drift });
      lines.push(`| ${config.name} | ${split.name} | ${config.runs} | ${rateText(ok, config.runs)} | ${rateText(drift, config.runs)} | ${((config.runs - ok - drift) / config.runs).toFixed(3)} |`);
      if (split.offByTolerance) {
        const pass = ok / config.runs <= 0.05;
        checks.push(`P(ok | ${split.name}) for ${config.name} = ${(ok / config.runs).toFixed(3)} ≤ 0.05 ${pass ? '✓' : '✗'}`);
      }
      if (s === 0) {
        const ci = clopperPearsonInterval(drift, config.runs, 0.95);
        checks.push(`P(drift | exact weights) for ${config.name} = ${drift}/${config.runs} (95% CP upper ${ci.high.toFixed(4)}; α = ${config.alpha}: ${drift / config.runs <= config.alpha ? '≤ α ✓' : '> α ✗'})`);
      }
    });
  });
  return { lines, checks };
}

interface OvershootRow {
  readonly scenario: string;
  readonly ramp: boolean;
  readonly ratios: number[];
  readonly sent: number[];
  readonly decided: number[];
  readonly states: string[];
}

async function overshoot(appRoot: string): Promise<string[]> {
  const lab = await loadPoolDefinition(path.join(appRoot, 'examples', 'lab-pool.json'));
  const scenarios = [
    {
      name: 'dead backend (East US down)',
      apply: async (env: Awaited<ReturnType<typeof startEmbeddedEnvironment>>) => {
        await deployLabPool(env, 2, 1);
        env.faults.setFault('East US', { kind: 'down' });
      },
    },
    { name: '1:1 deployed (declared 2:1)', apply: async (env: Awaited<ReturnType<typeof startEmbeddedEnvironment>>) => deployLabPool(env, 1, 1) },
  ];
  const TRIALS = 6;
  const rows: OvershootRow[] = [];
  for (const scenario of scenarios) {
    for (const ramp of [true, false]) {
      const row: OvershootRow = { scenario: scenario.name, ramp, ratios: [], sent: [], decided: [], states: [] };
      for (let t = 0; t < TRIALS; t++) {
        const env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0.05, seed: 500 + t });
        try {
          await scenario.apply(env);
          const result = await verifyOnce({ pool: lab, gatewayUrl: env.gatewayUrl, subscriptionKey: env.subscriptionKey, requests: 1000, concurrency: 16, timeoutInMs: 30_000, alpha: ALPHA_VERIFY, toleranceInPoints: TOLERANCE, sequential: true, rampUp: ramp });
          const d = result.decision;
          if (!(d && (d.state === 'drift' || d.state === 'ok'))) continue;
          const decidedAt = d.observed;
          row.sent.push(result.probesSent);
          row.decided.push(decidedAt);
          row.states.push(result.report.status);
        } finally {
          await env.close();
        }
      }
      rows.push(row);
    }
  }
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const lines = [
    '| scenario (verify, concurrency 16, ≤ 1,000 probes) | in-flight ramp | trials with a sequential stop | verdicts | mean probes sent | mean stopping time of the test (probes it had seen) | sent ÷ stopping time | target ≤ 1.3 |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const ratio = mean(row.sent) / mean(row.decided);
    lines.push(`| ${row.scenario} | ${row.ramp ? 'on (product)' : 'off'} | ${row.sent.length} | ${row.states.join(', ')} | ${mean(row.sent).toFixed(1)} | ${mean(row.decided).toFixed(1)} | ${ratio.toFixed(2)} | ${row.ramp ? (ratio <= 1.3 ? '✓' : '✗') : '—'} |`);
  }
  return lines;
}

async function healthyDuration(appRoot: string): Promise<string[]> {
  const lab = await loadPoolDefinition(path.join(appRoot, 'examples', 'lab-pool.json'));
  const env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0.05, seed: 77 });
  // Time per probe sent: a healthy run may stop on equivalence before the cap, so whole-run times compare runs of
  // different lengths.
  const perProbe: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const sent: Record<'on' | 'off', number[]> = { on: [], off: [] };
  try {
    for (let t = 0; t < 5; t++) {
      for (const ramp of [true, false]) {
        const started = performance.now();
        const result = await verifyOnce({ pool: lab, gatewayUrl: env.gatewayUrl, subscriptionKey: env.subscriptionKey, requests: 1000, concurrency: 16, timeoutInMs: 30_000, alpha: ALPHA_VERIFY, toleranceInPoints: TOLERANCE, sequential: true, rampUp: ramp });
        perProbe[ramp ? 'on' : 'off'].push((performance.now() - started) / Math.max(1, result.probesSent));
        sent[ramp ? 'on' : 'off'].push(result.probesSent);
      }
    }
  } finally {
    await env.close();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const ratio = median(perProbe.on) / median(perProbe.off);
  return [
    `Healthy 2:1 pool, \`verify\` defaults (≤ 1,000 probes, concurrency 16), embedded gateway at 5% of the lab's latency, 5 runs each, alternated (probes sent: ${sent.on.join(', ')} with the ramp; ${sent.off.join(', ')} without): median ${median(perProbe.on).toFixed(2)} ms per probe with the ramp, ${median(perProbe.off).toFixed(2)} ms without: ${ratio.toFixed(2)}× (target ≤ 1.2× ${ratio <= 1.2 ? '✓' : '✗'}). Wall-clock figures on a shared 2-core machine; the ramp's cost is the first ~28 answers at reduced concurrency, a few round trips.`,
  ];
}

/** Runs the verdicts benchmark and returns its markdown section. */
export async function run(): Promise<string> {
  const appRoot = findAppRoot(__dirname);
  const started = Date.now();
  const planned = planEquivalenceSize({ expectedShares: SHARES, toleranceInPoints: TOLERANCE, power: 0.95 });
  const simulated = simulateTable();
  const simulatedSeconds = (Date.now() - started) / 1000;
  const overshootLines = await overshoot(appRoot);
  const durationLines = await healthyDuration(appRoot);
  const lines = [
    '## verdicts',
    '',
    `What \`ok\`, \`drift\` and \`inconclusive\` mean, measured (docs/statistics.md). 2:1 lab pool, ±${TOLERANCE} points, \`ok\` at 95% (β = 0.05), seeded.`,
    `The planner: the hour window needs ${planned.toLocaleString('en-US')} identified answers for a pool on its weights to be shown ok with probability 0.95, i.e. ${Math.ceil(planned / RUNS_PER_HOUR)} probes per run at 12 runs an hour (default PROBE_MAX_REQUESTS ${PROBES_PER_RUN}).`,
    '',
    `### Verdict rates (simulated draws from the true split; verify at α = ${ALPHA_VERIFY}; timer runs at α_run = ${ALPHA_RUN}, hour at α_hour = ${ALPHA_HOUR})`,
    '',
    ...simulated.lines,
    '',
    'Targets:',
    '',
    ...simulated.checks.map((c) => `- ${c}`),
    '',
    `_(simulation ${simulatedSeconds.toFixed(1)} s)_`,
    '',
    'The hour window of a dead backend has no data: every run is flagged on its own (its run window says drift and',
    'pages) and is left out of the pooled windows, which judge the steady state.',
    '',
    '### Probes sent after the decision (embedded gateway, seeded, concurrency 16)',
    '',
    ...overshootLines,
    '',
    ...durationLines,
  ];
  return lines.join('\n');
}

if (require.main === module) {
  void run().then((text) => {
    console.log(text);
    fs.writeSync(1, '');
  });
}
