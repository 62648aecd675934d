import { ensureError } from '../util/errors';
import type { SharedState } from './types';

/** Thrown into the work's signal when the lease was taken over or could not be renewed. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(readonly lease: string, reason: string) {
    super(`lost the "${lease}" lease: ${reason}`);
  }
}

export interface LeaseOptions {
  readonly state: Pick<SharedState, 'tryAcquireLock' | 'renewLock' | 'releaseLock'>;
  readonly name: string;
  readonly owner: string;
  /** How long the lease outlives its holder's last heartbeat. */
  readonly ttlInMs: number;
  readonly now?: () => number;
  /** Called at every heartbeat after a successful renewal (e.g. to record that the run is alive). */
  readonly onBeat?: (nowMs: number) => void | Promise<void>;
  /** Aborts the work from outside (SIGTERM); the lease is still released. */
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/** The result of {@link withLease}: `held: false` when another unexpired holder has the lease. */
export type LeaseResult<T> = { readonly held: false } | { readonly held: true; readonly value: T };

/**
 * Runs `work` while holding a lease that a dead holder cannot keep: the lease is taken with `ttlInMs`, renewed
 * every third of it (the heartbeat) while `work` runs, and released when `work` settles, whether it succeeded,
 * threw or was aborted. If a renewal fails (another holder took over after a stall, or the store is unreachable
 * for longer than the lease) the work's signal is aborted with a {@link LeaseLostError}, so two holders never go
 * on together. Killed with `kill -9`, the holder simply stops renewing: the lease expires `ttlInMs` after its last
 * heartbeat and the next caller takes it over.
 */
export async function withLease<T>(options: LeaseOptions, work: (signal: AbortSignal) => Promise<T>): Promise<LeaseResult<T>> {
  const now = options.now ?? Date.now;
  if (!(await options.state.tryAcquireLock(options.name, options.owner, options.ttlInMs, now()))) return { held: false };
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  let beating = false;
  const beat = async (): Promise<void> => {
    if (beating || controller.signal.aborted) return;
    beating = true;
    try {
      const at = now();
      if (!(await options.state.renewLock(options.name, options.owner, options.ttlInMs, at))) {
        controller.abort(new LeaseLostError(options.name, 'another holder took it over'));
        return;
      }
      await options.onBeat?.(at);
    } catch (error) {
      controller.abort(new LeaseLostError(options.name, `renewal failed (${ensureError(error).message})`));
    } finally {
      beating = false;
    }
  };
  const timer = setInterval(() => void beat(), Math.max(50, Math.floor(options.ttlInMs / 3)));
  timer.unref();
  try {
    return { held: true, value: await work(controller.signal) };
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
    try {
      await options.state.releaseLock(options.name, options.owner);
    } catch (error) {
      // The lease then expires by itself within ttlInMs.
      options.log?.(`Could not release the "${options.name}" lease (it expires by itself): ${ensureError(error).message}`);
    }
  }
}
