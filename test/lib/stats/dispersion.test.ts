import type { RunCounts } from '../../../src/lib/store/types';
import { dispersionIndex } from '../../../src/lib/stats/dispersion';
import { createRandom } from '../../../src/lib/stats/random';
import { StatsInputError } from '../../../src/lib/stats/StatsInputError';

const expected = { east: 2 / 3, west: 1 / 3, backup: 0 };

function runsFrom(rows: readonly Record<string, number>[]): RunCounts[] {
  return rows.map((answered, i) => ({ runId: `r${i}`, startedAtMs: i * 300_000, answered }));
}

function multinomialRuns(seed: number, count: number, shareOfRun: (r: number, random: ReturnType<typeof createRandom>) => number): RunCounts[] {
  const random = createRandom(seed);
  const rows: Record<string, number>[] = [];
  for (let r = 0; r < count; r++) {
    const size = 30 + Math.floor(random.next() * 61); // runs of 30–90 answers
    const share = shareOfRun(r, random);
    const east = random.binomial(size, share);
    rows.push({ east, west: size - east });
  }
  return runsFrom(rows);
}

describe('dispersionIndex', () => {
  it('is 1 ± 0.25 for independent draws in runs of different sizes (five seeds, 288 runs each)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = dispersionIndex(multinomialRuns(seed, 288, () => 2 / 3), expected);
      expect(result.runs).toBe(288);
      expect(result.phi).toBeGreaterThan(0.75);
      expect(result.phi).toBeLessThan(1.25);
      expect(result.perBackend.east).toBeCloseTo(result.phi as number, 10);
    }
  });

  it('is far below 1 for deterministic round-robin', () => {
    const rows = Array.from({ length: 50 }, (_, r) => (r % 2 === 0 ? { east: 40, west: 20 } : { east: 41, west: 19 }));
    const result = dispersionIndex(runsFrom(rows), expected);
    expect(result.phi).toBeLessThan(0.1);
  });

  it('is above 1.25 when runs stick to one backend more than independence allows (affinity mixture)', () => {
    const result = dispersionIndex(multinomialRuns(9, 288, (_r, random) => (random.next() < 0.5 ? 0.55 : 0.78)), expected);
    expect(result.phi).toBeGreaterThan(1.25);
  });

  it('does not mistake a drifted mean for over-dispersion', () => {
    const result = dispersionIndex(multinomialRuns(11, 288, () => 0.5), expected);
    expect(result.phi).toBeGreaterThan(0.75);
    expect(result.phi).toBeLessThan(1.25);
  });

  it('accepts a Map of expected shares and ignores failover answers and near-empty runs', () => {
    const rows: Record<string, number>[] = [{ east: 40, west: 20, backup: 9 }, { east: 38, west: 22 }, { east: 1 }, { east: 43, west: 17 }, { east: 39, west: 21 }];
    const result = dispersionIndex(runsFrom(rows), new Map(Object.entries(expected)));
    expect(result.runs).toBe(4);
    expect(result.phi).not.toBeNull();
    expect(Object.keys(result.perBackend).sort()).toEqual(['east', 'west']);
  });

  it('returns null with fewer than 3 usable runs', () => {
    expect(dispersionIndex(runsFrom([{ east: 40, west: 20 }, { east: 38, west: 22 }]), expected)).toEqual({ phi: null, runs: 2, perBackend: {} });
  });

  it('rejects a negative count naming the run and backend', () => {
    expect(() => dispersionIndex(runsFrom([{ east: -1, west: 3 }]), expected)).toThrow(StatsInputError);
    expect(() => dispersionIndex(runsFrom([{ east: -1, west: 3 }]), expected)).toThrow(/runs\[0\]\.answered\.east/);
  });
});
