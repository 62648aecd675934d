import { runStoppableOnSigterm } from '../../src/app/shutdown';
import { withLease } from '../../src/lib/state/withLease';
import { openSqliteStore } from '../../src/lib/store/sqliteStore';

/** SIGTERM stops a run in flight and releases its lease, rather than leaving it to expire. */
it('aborts the work on SIGTERM and releases its lease before the process would end', async () => {
  const store = openSqliteStore(':memory:');
  // Another SIGTERM listener (as the Functions worker or `npm start` has) keeps the handler from re-raising the
  // signal at this test process once it is done.
  const keepAlive = (): void => undefined;
  process.on('SIGTERM', keepAlive);
  try {
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const outcome = runStoppableOnSigterm((signal) =>
      withLease({ state: store, name: 'probe-run', owner: 'A', ttlInMs: 60_000, signal }, async (leaseSignal) => {
        started();
        await new Promise<void>((resolve) => leaseSignal.addEventListener('abort', () => resolve(), { once: true }));
        return { outer: signal.aborted, reason: String((leaseSignal.reason as Error).message) };
      }),
    );
    await running;
    // Held for a minute: nobody else can take it.
    expect(store.tryAcquireLock('probe-run', 'B', 60_000, Date.now())).toBe(false);
    process.emit('SIGTERM', 'SIGTERM');
    expect(await outcome).toEqual({ held: true, value: { outer: true, reason: 'the instance is shutting down (SIGTERM)' } });
    expect(store.tryAcquireLock('probe-run', 'B', 60_000, Date.now())).toBe(true);
  } finally {
    process.off('SIGTERM', keepAlive);
    store.close();
  }
});
