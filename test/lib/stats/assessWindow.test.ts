import { assessWindow, type AssessedBackend } from '../../../src/lib/stats/assessWindow';
import { createRandom } from '../../../src/lib/stats/random';
import { StatsInputError } from '../../../src/lib/stats/StatsInputError';
import { evidenceOf } from './evidence';

const twoToOne: readonly AssessedBackend[] = [
  { name: 'east', priority: 1, expectedShare: 2 / 3, isPrimary: true, region: 'East US' },
  { name: 'west', priority: 1, expectedShare: 1 / 3, isPrimary: true, region: 'West US' },
];

function assess(answered: Record<string, number>, options: { alpha?: number; toleranceInPoints?: number; dispersion?: number } = {}, backends = twoToOne) {
  return assessWindow({
    label: 'hour',
    backends,
    evidence: evidenceOf(answered),
    options: { alpha: options.alpha ?? 2e-4, toleranceInPoints: options.toleranceInPoints ?? 5, ...(options.dispersion ? { dispersion: options.dispersion } : {}) },
    windowDescription: 'in the last hour',
  });
}

/** Draws n answers from `shares` and returns counts per backend name. */
function draw(random: ReturnType<typeof createRandom>, names: readonly string[], shares: readonly number[], n: number): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(names.map((name) => [name, 0]));
  for (let i = 0; i < n; i++) {
    const name = names[random.pick(shares)] as string;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe('assessWindow', () => {
  it('flags drift when the East US share falls to 50% of 720 hourly answers', () => {
    const result = assess({ east: 360, west: 360 });
    expect(result.status).toBe('drift');
    expect(result.backends.map((b) => b.flagged)).toEqual([true, true]);
    expect(result.backends[0]?.deviationInPoints).toBeCloseTo(-16.67, 2);
    expect(result.explanations[0]).toMatch(/^East US answered 50% of 720 probes in the last hour; expected 67% \(flagged beyond ±11\.\d points at this sample size\) — drift, off by 16\.7 points, more than the ±5-point tolerance/);
  });

  it('reports no-data with no identified answer, and still explains the errors', () => {
    const result = assessWindow({
      label: 'run',
      backends: twoToOne,
      evidence: evidenceOf({}, { errorsByBackend: { east: { '429': 41 } }, timeout: 3 }),
      options: { alpha: 1e-4, toleranceInPoints: 5 },
    });
    expect(result.status).toBe('no-data');
    expect(result.sampleSize).toBe(0);
    expect(result.explanations.join(' ')).toMatch(/41 of its probes returned 429/);
    expect(result.explanations.join(' ')).toMatch(/3 timed out/);
  });

  it('reports any answer from a priority-2 backup as failover drift with its count', () => {
    const backends: AssessedBackend[] = [
      { name: 'a', priority: 1, expectedShare: 0.5, isPrimary: true },
      { name: 'b', priority: 1, expectedShare: 0.5, isPrimary: true },
      { name: 'backup', priority: 2, expectedShare: 0, isPrimary: false, region: 'Sweden Central' },
    ];
    const result = assess({ a: 30, b: 29, backup: 1 }, {}, backends);
    expect(result.status).toBe('drift');
    expect(result.failover).toEqual({ count: 1, backends: [{ backend: 'backup', priority: 2, count: 1 }] });
    expect(result.backends[2]?.flagged).toBe(true);
    expect(result.explanations.join(' ')).toMatch(/Sweden Central answered 1.7% of 60 probes in the last hour; expected 0% \(priority 2/);
  });

  it('treats a weight-0 primary member like a backup: any answer from it is failover', () => {
    const backends: AssessedBackend[] = [
      { name: 'a', priority: 1, expectedShare: 1, isPrimary: true },
      { name: 'zero', priority: 1, expectedShare: 0, isPrimary: true },
    ];
    expect(assess({ a: 500, zero: 0 }, {}, backends).status).toBe('ok');
    const result = assess({ a: 500, zero: 2 }, {}, backends);
    expect(result.status).toBe('drift');
    expect(result.failover?.count).toBe(2);
    expect(result.explanations[1]).toMatch(/weight 0/);
  });

  it('handles three priority groups by testing only the first group', () => {
    const backends: AssessedBackend[] = [
      { name: 'p1a', priority: 1, expectedShare: 0.75, isPrimary: true },
      { name: 'p1b', priority: 1, expectedShare: 0.25, isPrimary: true },
      { name: 'p2', priority: 2, expectedShare: 0, isPrimary: false },
      { name: 'p3', priority: 3, expectedShare: 0, isPrimary: false },
    ];
    const healthy = assess({ p1a: 1510, p1b: 490 }, { alpha: 1e-3 }, backends);
    expect(healthy.status).toBe('ok');
    const failover = assess({ p1a: 1510, p1b: 480, p3: 10 }, { alpha: 1e-3 }, backends);
    expect(failover.status).toBe('drift');
    expect(failover.failover?.backends).toEqual([{ backend: 'p3', priority: 3, count: 10 }]);
  });

  it('does not flag a 2-point drift at n = 100,000 but flags a 6-point one (the tolerance gate binds)', () => {
    const small = assess({ east: 64_667, west: 35_333 }, { alpha: 1e-3 });
    expect(small.backends[0]?.pValue).toBeLessThan(1e-20);
    expect(small.backends.some((b) => b.flagged)).toBe(false);
    // Off by 2 points is below the tolerance, so the window is not ok either: it is consistent within 5.
    expect(small.status).toBe('ok');
    const large = assess({ east: 60_667, west: 39_333 }, { alpha: 1e-3 });
    expect(large.status).toBe('drift');
  });

  it('says inconclusive for a healthy 60-answer run, with the resolution reached and the answers still needed, and ok for a healthy day', () => {
    const run = assess({ east: 40, west: 20 }, { alpha: 1e-4 });
    expect(run.status).toBe('inconclusive');
    expect(run.decidedBy).toBe('fixed-n');
    // ~±11 points at 60 answers (each bound at 95%): a missing backend is ruled out, ±5 is not shown.
    expect(run.resolutionInPoints).toBeGreaterThan(9);
    expect(run.resolutionInPoints).toBeLessThan(14);
    expect(run.deadBackendRuledOut).toBe(true);
    expect(run.probesNeeded).toBeGreaterThan(150);
    expect(run.probesNeeded).toBeLessThan(400);
    expect(run.meaning).toMatch(/^No backend is missing: no share is off by more than \d+(\.\d)? points .*; shares not yet pinned within ±5 points: about \d+ more answers needed to confirm\.$/);
    expect(run.explanations.at(-1)).toBe(run.meaning);
    const day = assess({ east: 11_520, west: 5_760 }, { alpha: 1e-3 });
    expect(day.status).toBe('ok');
    expect(day.resolutionInPoints).toBeLessThan(1);
    expect(day.probesNeeded).toBeNull();
    expect(day.meaning).toMatch(/^Every share is within ±5 points of its weight \(95% confidence/);
  });

  it('says ok only when every share interval is inside the tolerance band (equivalence), never for a 1:1 pool at 60 answers', () => {
    const run = (answered: Record<string, number>) => assess(answered, { alpha: 1e-4 });
    // 1:1 at 60 answers: 17 points off, not significant beyond the tolerance at 1e-4, and certainly not shown within it.
    const oneToOne = run({ east: 30, west: 30 });
    expect(oneToOne.status).toBe('inconclusive');
    expect(oneToOne.meaning).not.toMatch(/within ±5 points of its weight/);
    expect(run({ east: 45, west: 15 }).status).toBe('inconclusive');
    // Too few answers to rule out even a missing backend: said so.
    const tiny = run({ east: 4, west: 2 });
    expect(tiny.status).toBe('inconclusive');
    expect(tiny.deadBackendRuledOut).toBe(false);
    expect(tiny.meaning).toMatch(/^Too few answers to rule out a missing backend: shares are pinned only to ±\d+(\.\d)? points; /);
    expect(run({ east: 60, west: 0 }).status).toBe('drift');
    // 1,200 answers exactly on the weights: both one-sided tests reject ±5 at 5%.
    expect(run({ east: 800, west: 400 }).status).toBe('ok');
    // 1,200 answers 3 points off: inside the tolerance, but the interval reaches past it.
    expect(run({ east: 764, west: 436 }).status).toBe('inconclusive');
  });

  it('with over-dispersion φ = 4 no longer flags what is significant only under independence', () => {
    const counts = { east: 390, west: 330 };
    expect(assess(counts).status).toBe('drift');
    const inflated = assess(counts, { dispersion: 4 });
    expect(inflated.status).not.toBe('drift');
    expect(inflated.explanations.join(' ')).toMatch(/φ = 4\.00/);
  });

  it('keeps the false-alarm rate of healthy 2:1 windows at or below alpha = 0.01 over 2,000 seeded runs', () => {
    const random = createRandom(20261125);
    const runs = 2000;
    let alarms = 0;
    for (let r = 0; r < runs; r++) {
      const counts = draw(random, ['east', 'west'], [2 / 3, 1 / 3], 300);
      if (assess(counts, { alpha: 0.01 }).status === 'drift') alarms++;
    }
    const rate = alarms / runs;
    expect(rate).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / runs));
  });

  it('keeps the false-alarm rate of a healthy 3:2:1 pool at or below alpha = 0.01 over 2,000 seeded runs', () => {
    const random = createRandom(7);
    const backends: AssessedBackend[] = ['a', 'b', 'c'].map((name, i) => ({ name, priority: 1, expectedShare: [3 / 6, 2 / 6, 1 / 6][i] as number, isPrimary: true }));
    const runs = 2000;
    let alarms = 0;
    for (let r = 0; r < runs; r++) {
      if (assess(draw(random, ['a', 'b', 'c'], [3 / 6, 2 / 6, 1 / 6], 200), { alpha: 0.01 }, backends).status === 'drift') alarms++;
    }
    expect(alarms / runs).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / runs));
  });

  it('detects a 1:1 split of a 2:1 pool at N = 600 in at least 95% of 1,000 seeded runs (alpha 0.01)', () => {
    const random = createRandom(99);
    const runs = 1000;
    let detected = 0;
    for (let r = 0; r < runs; r++) {
      if (assess(draw(random, ['east', 'west'], [0.5, 0.5], 600), { alpha: 0.01 }).status === 'drift') detected++;
    }
    expect(detected / runs).toBeGreaterThanOrEqual(0.95);
  });

  it('explains errors, unidentified answers and lost probes with numbers', () => {
    const result = assessWindow({
      label: 'hour',
      backends: twoToOne,
      evidence: evidenceOf({ east: 130, west: 590 }, { errorsByBackend: { east: { '429': 41 } }, unidentified: { '': 3, 'Norway East': 2 }, network: 4, lost: 5 }),
      options: { alpha: 2e-4, toleranceInPoints: 5 },
      windowDescription: 'in the last hour',
    });
    expect(result.explanations[0]).toMatch(/^East US answered 18% of 720 probes in the last hour; expected 67% .*; 41 of its probes returned 429\.$/);
    const text = result.explanations.join(' ');
    expect(text).toMatch(/5 successful answers could not be attributed to a backend \(header absent ×3 and "Norway East" ×2\)/);
    expect(text).toMatch(/4 failed with a network error/);
    expect(text).toMatch(/5 probes in the last hour have no recorded outcome/);
  });

  it('rounds weighted (sampled) counts and rejects negative ones naming the backend', () => {
    expect(assess({ east: 479.6, west: 240.4 }).sampleSize).toBe(720);
    expect(() => assess({ east: -3, west: 10 })).toThrow(/evidence\.backends\[east\]\.answered/);
  });

  it('rejects an alpha outside (0, 1) and duplicate names with an error naming the field', () => {
    expect(() => assess({ east: 1 }, { alpha: 0 })).toThrow(StatsInputError);
    expect(() => assess({ east: 1 }, { alpha: 1.5 })).toThrow(/options\.alpha/);
    expect(() => assess({ east: 1 }, {}, [twoToOne[0] as AssessedBackend, twoToOne[0] as AssessedBackend])).toThrow(/backends\[1\]\.name/);
  });
});
