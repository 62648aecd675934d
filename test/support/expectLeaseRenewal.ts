import { withLease, type LeaseOptions } from '../../src/lib/state/withLease';

/**
 * The lease contract both stores (SQLite locally, Storage Tables in Azure) must keep: while the work runs, the
 * heartbeat renews the lease, so another owner cannot take it even twice the TTL after it was acquired; when the
 * work ends, the lease is released and another owner takes it at once.
 */
export async function expectLeaseRenewedWhileWorkRuns(state: LeaseOptions['state'], startMs: number): Promise<void> {
  let clock = startMs;
  let beats = 0;
  let resolveBeats: () => void = () => undefined;
  const threeBeats = new Promise<void>((resolve) => (resolveBeats = resolve));
  const result = await withLease(
    {
      state,
      name: 'probe-run',
      owner: 'A',
      ttlInMs: 300,
      now: () => clock,
      // Each beat renews at the current clock, then time moves on by 200 ms (less than the 300 ms lease).
      onBeat: () => {
        beats += 1;
        clock += 200;
        if (beats === 3) resolveBeats();
      },
    },
    async () => {
      // 600 ms after the first acquisition (twice the TTL), B still cannot take the lease: A renewed it.
      await threeBeats;
      return state.tryAcquireLock('probe-run', 'B', 300, clock);
    },
  );
  expect(result).toEqual({ held: true, value: false });
  expect(await state.tryAcquireLock('probe-run', 'B', 300, clock)).toBe(true);
}
