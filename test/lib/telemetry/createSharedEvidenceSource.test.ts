import type { EvidenceSource, TimeWindow, WindowEvidence } from '../../../src/lib/store/types';
import { createSharedEvidenceSource } from '../../../src/lib/telemetry/createSharedEvidenceSource';
import { emptyEvidence } from '../../../src/lib/verifier/runVerificationCycle';

/** A source whose answers the test releases by hand, counting reads. */
function controlledSource(): EvidenceSource & { reads: number; release(): void; fail(error: Error): void } {
  let pending: { resolve: (value: WindowEvidence) => void; reject: (error: Error) => void; window: TimeWindow }[] = [];
  const source = {
    reads: 0,
    readWindow(_pool: string, window: TimeWindow, binInMs: number): Promise<WindowEvidence> {
      source.reads += 1;
      return new Promise<WindowEvidence>((resolve, reject) => {
        pending.push({ resolve: (value) => resolve({ ...value, binInMs }), reject, window });
      });
    },
    release(): void {
      for (const p of pending) p.resolve(emptyEvidence(p.window, 1, 'x'));
      pending = [];
    },
    fail(error: Error): void {
      for (const p of pending) p.reject(error);
      pending = [];
    },
  };
  return source;
}

const HOUR = 3_600_000;
const windowAt = (nowMs: number): TimeWindow => ({ fromMs: nowMs - HOUR, toMs: nowMs });

describe('createSharedEvidenceSource', () => {
  it('gives 50 concurrent readers of the same window one fetch', async () => {
    const source = controlledSource();
    const shared = createSharedEvidenceSource(source, { intervalInMs: 60_000, now: () => 1000 });
    const readers = Array.from({ length: 50 }, (_, i) => shared.readWindow('pool', windowAt(1000 + i), 300_000));
    source.release();
    const results = await Promise.all(readers);
    expect(source.reads).toBe(1);
    expect(new Set(results).size).toBe(1);
  });

  it('serves a result again within the interval and fetches anew after it', async () => {
    let clock = 0;
    const source = controlledSource();
    const shared = createSharedEvidenceSource(source, { intervalInMs: 60_000, now: () => clock });
    const first = shared.readWindow('pool', windowAt(clock), 300_000);
    source.release();
    await first;
    clock = 59_999;
    await shared.readWindow('pool', windowAt(clock), 300_000);
    expect(source.reads).toBe(1);
    clock = 60_000;
    const third = shared.readWindow('pool', windowAt(clock), 300_000);
    source.release();
    await third;
    expect(source.reads).toBe(2);
    // Another window length or bin is another key.
    const day = shared.readWindow('pool', { fromMs: 0, toMs: 24 * HOUR }, 300_000);
    source.release();
    await day;
    expect(source.reads).toBe(3);
  });

  it('shares a failure with those who waited, then tries again', async () => {
    const source = controlledSource();
    const shared = createSharedEvidenceSource(source, { intervalInMs: 60_000, now: () => 0 });
    const a = shared.readWindow('pool', windowAt(0), 1);
    const b = shared.readWindow('pool', windowAt(0), 1);
    source.fail(new Error('403 InsufficientAccessError'));
    await expect(a).rejects.toThrow(/403/);
    await expect(b).rejects.toThrow(/403/);
    const c = shared.readWindow('pool', windowAt(0), 1);
    source.release();
    await expect(c).resolves.toBeDefined();
    expect(source.reads).toBe(2);
  });

  it("stops only the aborting caller's wait; the others still get the shared result", async () => {
    const source = controlledSource();
    const shared = createSharedEvidenceSource(source, { intervalInMs: 60_000, now: () => 0 });
    const controller = new AbortController();
    const leaving = shared.readWindow('pool', windowAt(0), 1, controller.signal);
    const staying = shared.readWindow('pool', windowAt(0), 1);
    controller.abort(new Error('viewer left'));
    await expect(leaving).rejects.toThrow('viewer left');
    source.release();
    await expect(staying).resolves.toBeDefined();
    expect(source.reads).toBe(1);
  });
});
