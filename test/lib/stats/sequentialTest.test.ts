import { createRandom } from '../../../src/lib/stats/random';
import { createSequentialTest, type SequentialDecision } from '../../../src/lib/stats/sequentialTest';
import { StatsInputError } from '../../../src/lib/stats/StatsInputError';

/** Feeds draws from `trueShares` (an index of −1 … means null) until a decision; returns it and the probe count. */
function runOnce(
  random: ReturnType<typeof createRandom>,
  options: { expectedShares: number[]; alpha: number; toleranceInPoints?: number; maxProbes: number; missedDriftRate?: number },
  trueShares: number[],
  nullRate = 0,
): { decision: SequentialDecision; probes: number } {
  const test = createSequentialTest({ toleranceInPoints: 5, ...options });
  while (test.decision.state === 'continue') {
    test.observe(nullRate > 0 && random.next() < nullRate ? null : random.pick(trueShares));
  }
  return { decision: test.decision, probes: test.observed };
}

describe('createSequentialTest', () => {
  it('keeps false alarms at or below alpha = 0.01 when checked after every probe (3,000 healthy 2:1 runs)', () => {
    const random = createRandom(1);
    const runs = 3000;
    let alarms = 0;
    for (let r = 0; r < runs; r++) {
      if (runOnce(random, { expectedShares: [2 / 3, 1 / 3], alpha: 0.01, maxProbes: 400 }, [2 / 3, 1 / 3]).decision.state === 'drift') alarms++;
    }
    expect(alarms / runs).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / runs));
  });

  it('keeps false alarms at or below alpha = 0.01 on a healthy 3:2:1 pool with 10% unidentified probes (2,000 runs)', () => {
    const random = createRandom(2);
    const runs = 2000;
    let alarms = 0;
    for (let r = 0; r < runs; r++) {
      const shares = [3 / 6, 2 / 6, 1 / 6, 0];
      if (runOnce(random, { expectedShares: shares, alpha: 0.01, maxProbes: 300 }, shares, 0.1).decision.state === 'drift') alarms++;
    }
    expect(alarms / runs).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / runs));
  });

  // The drift stop also needs a share's confidence sequence outside expected ± tolerance (false alarms ≤ alpha for every
  // split inside the tolerance): a dead weight-1 backend takes 37 answers at 1e-4 (28 with the point null alone).
  it('catches a dead backend of a 2:1 pool within 40 identified answers at alpha 1e-4 in at least 99% of 1,000 runs', () => {
    const random = createRandom(3);
    const runs = 1000;
    let caught = 0;
    for (let r = 0; r < runs; r++) {
      const test = createSequentialTest({ expectedShares: [2 / 3, 1 / 3], alpha: 1e-4, toleranceInPoints: 5, maxProbes: 200 });
      let identified = 0;
      while (test.decision.state === 'continue' && identified < 40) {
        // 5% of probes fail and are ignored by the test; every answer comes from the surviving backend.
        if (random.next() < 0.05) test.observe(null);
        else {
          test.observe(0);
          identified++;
        }
      }
      if (test.decision.state === 'drift') caught++;
    }
    expect(caught / runs).toBeGreaterThanOrEqual(0.99);
  });

  // Against the band edge (61.7%) rather than the weight: Wald's bound ln(100)/KL(0.5 ‖ 0.617) = 164 answers.
  it('flags a 1:1 split of a 2:1 pool in at most 290 answers on average at alpha 0.01 (Wald bound to the tolerance band 164; 1.75× it)', () => {
    const random = createRandom(4);
    const runs = 500;
    let total = 0;
    let drifts = 0;
    for (let r = 0; r < runs; r++) {
      const result = runOnce(random, { expectedShares: [2 / 3, 1 / 3], alpha: 0.01, maxProbes: 5000 }, [0.5, 0.5]);
      total += result.probes;
      if (result.decision.state === 'drift') drifts++;
    }
    expect(drifts / runs).toBeGreaterThanOrEqual(0.99);
    expect(total / runs).toBeLessThanOrEqual(290);
  });

  it('declares drift on the first answer from a backup backend', () => {
    const test = createSequentialTest({ expectedShares: [0.5, 0.5, 0], alpha: 1e-4, toleranceInPoints: 5, maxProbes: 60 });
    expect(test.observe(0).state).toBe('continue');
    expect(test.observe(null).state).toBe('continue');
    const decision = test.observe(2);
    expect(decision.state).toBe('drift');
    expect(decision.state === 'drift' && decision.reason).toMatch(/failover/);
    expect(test.observed).toBe(3);
    // Final: later probes change nothing.
    expect(test.observe(1)).toBe(decision);
    expect(test.observed).toBe(3);
  });

  it('stops a healthy run early with ok once every share is pinned within the tolerance', () => {
    const random = createRandom(5);
    const result = runOnce(random, { expectedShares: [2 / 3, 1 / 3], alpha: 0.01, maxProbes: 20_000, missedDriftRate: 0.05 }, [2 / 3, 1 / 3]);
    expect(result.decision.state).toBe('ok');
    expect(result.decision.state).not.toBe("cap");
    expect(result.probes).toBeLessThan(2000);
    expect(result.decision.state === 'ok' && result.decision.reason).toMatch(/within ±5\.0 points/);
  });

  it('rarely says ok when a share is really off by the full tolerance (≤ missedDriftRate 0.05 over 300 runs)', () => {
    const random = createRandom(6);
    const runs = 300;
    let wrongOk = 0;
    for (let r = 0; r < runs; r++) {
      const result = runOnce(random, { expectedShares: [2 / 3, 1 / 3], alpha: 0.01, maxProbes: 50_000, missedDriftRate: 0.05 }, [2 / 3 + 0.05, 1 / 3 - 0.05]);
      if (result.decision.state === 'ok') wrongOk++;
    }
    expect(wrongOk / runs).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / runs));
  });

  it('ends with cap at maxProbes when nothing was decided (no ok claimed)', () => {
    const test = createSequentialTest({ expectedShares: [0.5, 0.5], alpha: 1e-4, toleranceInPoints: 5, maxProbes: 4 });
    [0, 1, null].forEach((i) => expect(test.observe(i).state).toBe('continue'));
    const decision = test.observe(0);
    expect(decision).toMatchObject({ state: "cap" });
    expect(test.decision).toBe(decision);
  });

  it('rejects shares that do not sum to one, bad alpha and out-of-range indexes with errors naming the field', () => {
    expect(() => createSequentialTest({ expectedShares: [0.5, 0.6], alpha: 0.01, toleranceInPoints: 5, maxProbes: 10 })).toThrow(/expectedShares/);
    expect(() => createSequentialTest({ expectedShares: [0.5, 0.5], alpha: 1, toleranceInPoints: 5, maxProbes: 10 })).toThrow(/alpha/);
    expect(() => createSequentialTest({ expectedShares: [0.5, 0.5], alpha: 0.01, toleranceInPoints: 5, maxProbes: 0 })).toThrow(/maxProbes/);
    const test = createSequentialTest({ expectedShares: [0.5, 0.5], alpha: 0.01, toleranceInPoints: 5, maxProbes: 10 });
    expect(() => test.observe(2)).toThrow(StatsInputError);
    expect(() => test.observe(0.5)).toThrow(/backendIndex/);
  });
});
