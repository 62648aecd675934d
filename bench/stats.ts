import { clopperPearsonInterval } from '../src/lib/stats/binomial';
import { multinomialKl, planSampleSize } from '../src/lib/stats/planSampleSize';
import { createRandom, type RandomSource } from '../src/lib/stats/random';
import { createSequentialTest } from '../src/lib/stats/sequentialTest';

/**
 * `npm run bench -- stats`: seeded simulation of the sequential mixture test (createSequentialTest) against
 * the fixed-N exact test (planSampleSize) and Wald's bound ln(1/alpha)/KL, in the shape of docs/statistics.md's
 * table, plus the false-alarm rate over 10,000 healthy runs checked after every probe. Deterministic (fixed
 * seeds); about a minute on one core.
 */

interface Scenario {
  readonly name: string;
  readonly expected: readonly number[];
  readonly truth: readonly number[];
  readonly runs: number;
  /** Targets from the brief: mean ≤ 1.5× the bound (only where asked) and fewer probes than fixed N. */
  readonly boundTarget: boolean;
}

const TOLERANCE_IN_POINTS = 5;
const MAX_PROBES = 20_000;

function runSequential(random: RandomSource, expected: readonly number[], truth: readonly number[], alpha: number, maxProbes: number): { probes: number; state: string; truncated: boolean } {
  const test = createSequentialTest({ expectedShares: expected, alpha, toleranceInPoints: TOLERANCE_IN_POINTS, maxProbes });
  while (test.decision.state === 'continue') test.observe(random.pick(truth));
  const decision = test.decision;
  return { probes: test.observed, state: decision.state, truncated: decision.state === 'cap' };
}

function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '∞';
  return value.toFixed(digits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function shareText(shares: readonly number[]): string {
  return shares.map((s) => `${(s * 100).toFixed(0)}%`).join('/');
}

function scenarioTable(alpha: number, scenarios: readonly Scenario[], seed: number): string[] {
  const lines = [
    `| pool → true split | KL (nats) | bound ln(1/α)/KL | fixed-N exact test (power 0.95) | fixed N / bound | sequential mean N ± SE | sequential / bound | planner's sequential estimate | drift verdicts | targets |`,
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const random = createRandom(seed);
  for (const s of scenarios) {
    const kl = multinomialKl(s.truth, s.expected);
    const plan = planSampleSize({ expectedShares: s.expected, driftInPoints: 0, alpha, power: 0.95, trueShares: s.truth });
    let total = 0;
    let totalSquares = 0;
    let drifts = 0;
    for (let r = 0; r < s.runs; r++) {
      const result = runSequential(random, s.expected, s.truth, alpha, MAX_PROBES);
      total += result.probes;
      totalSquares += result.probes * result.probes;
      if (result.state === 'drift') drifts++;
    }
    const mean = total / s.runs;
    const se = Math.sqrt(Math.max(0, totalSquares / s.runs - mean * mean) / s.runs);
    const bound = plan.lowerBound;
    const ratio = Number.isFinite(bound) && bound > 0 ? mean / bound : NaN;
    const targets: string[] = [];
    if (s.boundTarget) targets.push(ratio <= 1.5 ? '≤1.5× bound ✓' : '≤1.5× bound ✗');
    targets.push(mean < plan.fixedN ? '< fixed N ✓' : '< fixed N ✗');
    lines.push(
      `| ${s.name} (${shareText(s.expected)} → ${shareText(s.truth)}) | ${Number.isFinite(kl) ? kl.toFixed(4) : '∞ (failover)'} | ${bound > 0 && Number.isFinite(bound) ? formatNumber(bound, 1) : '—'} | ${formatNumber(plan.fixedN)} | ${bound > 0 && Number.isFinite(bound) ? `${(plan.fixedN / bound).toFixed(2)}×` : '—'} | ${formatNumber(mean, 1)} ± ${se.toFixed(1)} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—'} | ${plan.sequentialMeanN === null ? '—' : formatNumber(plan.sequentialMeanN)} | ${((drifts / s.runs) * 100).toFixed(1)}% of ${formatNumber(s.runs)} | ${targets.join(', ')} |`,
    );
  }
  return lines;
}

function falseAlarmLine(name: string, expected: readonly number[], alpha: number, runs: number, maxProbes: number, seed: number): string {
  const random = createRandom(seed);
  let alarms = 0;
  let earlyOk = 0;
  let probes = 0;
  for (let r = 0; r < runs; r++) {
    const result = runSequential(random, expected, expected, alpha, maxProbes);
    probes += result.probes;
    if (result.state === 'drift') alarms++;
    else if (!result.truncated) earlyOk++;
  }
  const ci = clopperPearsonInterval(alarms, runs, 0.95);
  const verdict = ci.high <= alpha ? 'below α (CI)' : alarms / runs <= alpha ? '≤ α' : '> α ✗';
  return `| ${name} | ${alpha} | ${formatNumber(runs)} | ${formatNumber(maxProbes)} | ${alarms} | ${(alarms / runs).toFixed(4)} [${ci.low.toFixed(4)}, ${ci.high.toFixed(4)}] | ${verdict} | ${formatNumber(probes / runs, 0)} | ${((earlyOk / runs) * 100).toFixed(1)}% |`;
}

/** Runs the statistics benchmark and returns its markdown section. */
export async function run(): Promise<string> {
  const started = Date.now();
  const twoToOne = [2 / 3, 1 / 3];
  const scenarios: Scenario[] = [
    { name: '2:1, true 1:1', expected: twoToOne, truth: [0.5, 0.5], runs: 4000, boundTarget: true },
    { name: '2:1, true 3:1', expected: twoToOne, truth: [0.75, 0.25], runs: 2000, boundTarget: true },
    { name: '2:1, weight-1 backend dead', expected: twoToOne, truth: [1, 0], runs: 200, boundTarget: true },
    { name: '2:1, true 0.60/0.40', expected: twoToOne, truth: [0.6, 0.4], runs: 1500, boundTarget: true },
    { name: '2:1, true 0.70/0.30 (3.3 points, below the 5-point tolerance)', expected: twoToOne, truth: [0.7, 0.3], runs: 300, boundTarget: false },
    { name: '3:2:1, weight-1 backend dead', expected: [3 / 6, 2 / 6, 1 / 6], truth: [0.6, 0.4, 0], runs: 2000, boundTarget: false },
    { name: '2:1 + priority-2 backup taking 10%', expected: [2 / 3, 1 / 3, 0], truth: [0.6, 0.3, 0.1], runs: 4000, boundTarget: false },
  ];
  const production = scenarios.filter((s) => s.boundTarget || s.name.startsWith('3:2:1') || s.name.includes('backup'));

  const lines: string[] = [
    '## Statistics: sequential mixture test vs fixed-N exact test',
    '',
    'Seeded simulation (mulberry32), probes drawn independently from the true split. Sequential test: mixture',
    'Bayes factor (dead-backend point alternatives + Dirichlet c = 0.5 and c = 20), drift at BF ≥ 1/α and a share\'s',
    `confidence sequence outside ±${TOLERANCE_IN_POINTS} points (docs/statistics.md: false alarms ≤ α for every split inside the tolerance), early ok`,
    `when every share's always-valid interval is inside ±${TOLERANCE_IN_POINTS} points, cap ${formatNumber(MAX_PROBES)} probes; a`,
    'backup answer is drift at once. Fixed-N: exact two-sided binomial per backend at α/K plus the failover rule,',
    'the smallest N with exact power ≥ 0.95 (planSampleSize). Bound: Wald, ln(1/α)/KL(true ‖ expected) — against the exact',
    'weights, so it understates what a test of "more than the tolerance off" can reach (the band edge is 5 points closer).',
    "The planner's sequential estimate is the N at which the typical path's Bayes factor reaches 1/α.",
    '',
    '### α = 0.01 (docs/statistics.md table)',
    '',
    ...scenarioTable(0.01, scenarios, 1),
    '',
    '### α = 1e-4 (the per-run setting)',
    '',
    ...scenarioTable(1e-4, production.map((s) => ({ ...s, runs: Math.max(200, Math.floor(s.runs / 4)) })), 2),
    '',
    '### False alarms of the sequential test, checked after every probe (healthy pools)',
    '',
    '| pool | α | runs | max probes per run | drift verdicts | rate [95% Clopper–Pearson] | vs α | mean probes per run | early ok |',
    '|---|---|---|---|---|---|---|---|---|',
    falseAlarmLine('2:1', twoToOne, 0.01, 10_000, 2_000, 3),
    falseAlarmLine('3:2:1', [3 / 6, 2 / 6, 1 / 6], 0.01, 2_000, 2_500, 4),
    falseAlarmLine('2:1, short runs', twoToOne, 0.05, 10_000, 200, 5),
    '',
    'Reading the table: a dead backend is nearly deterministic (every answer from the survivor), so the fixed-N',
    'test is already at the SPRT optimum there (13 vs 12 at α = 0.01) and an always-valid test that assumes no',
    'alternative pays ~1.4× the bound; everywhere else the sequential test needs fewer probes than fixed N.',
    '',
    `_(simulation ${((Date.now() - started) / 1000).toFixed(1)} s)_`,
  ];
  return lines.join('\n');
}

if (require.main === module) {
  void run().then((text) => console.log(text));
}
