import type { ProbeRecord } from '../../../src/lib/probe/types';
import { inFlightLimit } from '../../../src/lib/probe/runProbes';
import { createRandom } from '../../../src/lib/stats/random';
import { createSequentialStop } from '../../../src/lib/verifier/createSequentialStop';
import { labPool } from '../report/fixtures';

function answer(index: number, backend: string): ProbeRecord {
  return { runId: 'run-1', probeIndex: index, startedAtMs: index, latencyInMs: 1, kind: 'ok', status: 200, backend, identifierValue: backend, totalTokens: 9, errorCode: null };
}

describe('createSequentialStop', () => {
  const pool = labPool();
  const [west, east] = pool.backends.map((b) => b.name) as [string, string];

  it('narrows the probes in flight as a dead-backend drift decision nears, down to 1 just before it', () => {
    const stop = createSequentialStop(pool, { alpha: 1e-4, toleranceInPoints: 5, maxProbes: 1000 });
    const caps: number[] = [];
    let i = 0;
    while (!stop.shouldStop(answer(i++, west))) caps.push(stop.inFlightCap(16));
    expect(stop.verdict).toMatchObject({ state: 'drift', identified: 37 });
    expect(caps[0]).toBe(16);
    expect(caps.at(-1)).toBeLessThanOrEqual(2);
    // Never widens again on the way to the decision.
    expect(caps.every((cap, k) => k === 0 || cap <= (caps[k - 1] as number))).toBe(true);
  });

  it('keeps full concurrency throughout healthy runs (20 seeded runs of 1,000 answers)', () => {
    const random = createRandom(8);
    let smallest = 16;
    for (let run = 0; run < 20; run++) {
      const stop = createSequentialStop(pool, { alpha: 1e-4, toleranceInPoints: 5, maxProbes: 1000 });
      for (let i = 0; i < 1000; i++) {
        if (stop.shouldStop(answer(i, random.next() < 2 / 3 ? west : east))) break;
        smallest = Math.min(smallest, stop.inFlightCap(16));
      }
      expect(stop.verdict?.state).not.toBe('drift');
    }
    expect(smallest).toBe(16);
  });

  it('reports no verdict at the probe cap: the fixed-N tests judge such a run', () => {
    const stop = createSequentialStop(pool, { alpha: 1e-4, toleranceInPoints: 5, maxProbes: 3 });
    [west, east, west].forEach((name, i) => stop.shouldStop(answer(i, name)));
    expect(stop.decision?.state).toBe('cap');
    expect(stop.verdict).toBeUndefined();
  });

  it('ramps probes in flight from 2, one more per 2 answers, up to the concurrency', () => {
    expect([0, 1, 2, 10, 28, 100].map((c) => inFlightLimit(c, 16))).toEqual([2, 2, 3, 7, 16, 16]);
    expect(inFlightLimit(0, 1)).toBe(1);
  });
});
