import { ensureError } from '../lib/util/errors';

/** Runs in flight that SIGTERM must stop (so their leases are released rather than left to expire). */
const active = new Set<AbortController>();
const settledWaiters = new Set<() => void>();
let installed = false;
/** How long SIGTERM waits for runs to release their leases before letting the process end. */
const RELEASE_WAIT_IN_MS = 5_000;

/**
 * Runs `work` with a signal that SIGTERM aborts. On SIGTERM every such run is aborted, which makes it finish as
 * `incomplete` and release its lease; once they settled (at most 5 s), the signal is raised again so the
 * process ends as it would have without this handler.
 */
export async function runStoppableOnSigterm<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  install();
  const controller = new AbortController();
  active.add(controller);
  try {
    return await work(controller.signal);
  } finally {
    active.delete(controller);
    if (active.size === 0) for (const resolve of settledWaiters) resolve();
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('SIGTERM', () => {
    void onSigterm().catch((error: unknown) => console.error(`SIGTERM handling failed: ${ensureError(error).message}`));
  });
}

async function onSigterm(): Promise<void> {
  const reason = new Error('the instance is shutting down (SIGTERM)');
  for (const controller of active) controller.abort(reason);
  if (active.size > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, RELEASE_WAIT_IN_MS);
      timer.unref();
      settledWaiters.add(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  // Someone else (the Functions worker, `npm start`) handles SIGTERM: leave it to them. Else end as SIGTERM would.
  if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
}
