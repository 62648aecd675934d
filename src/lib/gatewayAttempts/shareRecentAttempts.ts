import type { ResolvedPool } from '../pool/types';
import type { TimeWindow } from '../store/types';
import type { GatewayAttemptSource, GatewayAttempts } from './types';

/** Most (pool, window length) results kept. */
const MAX_ENTRIES = 16;

/**
 * Serves a result read less than `shareForMs` ago for the same pool and window length again (report pages refresh
 * often, and windows slide with the clock), so a busy page costs one read per interval: one Logs query (Log
 * Analytics allows about 200 per 30 s per user), or one access-log transfer. The result states its own window.
 * A failed read is not kept. `shareForMs` ≤ 0 reads every time.
 */
export function shareRecentAttempts(
  read: (pool: ResolvedPool, window: TimeWindow, signal?: AbortSignal) => Promise<GatewayAttempts>,
  shareForMs: number,
  now: () => number = Date.now,
): GatewayAttemptSource {
  const shared = new Map<string, { readonly atMs: number; readonly result: Promise<GatewayAttempts> }>();
  return {
    readBackendAttempts(pool, window, signal) {
      if (shareForMs <= 0) return read(pool, window, signal);
      const key = JSON.stringify([pool.name, window.toMs - window.fromMs]);
      const hit = shared.get(key);
      if (hit !== undefined && now() - hit.atMs < shareForMs) return hit.result;
      const result = read(pool, window, signal);
      shared.delete(key);
      shared.set(key, { atMs: now(), result });
      result.catch(() => {
        if (shared.get(key)?.result === result) shared.delete(key);
      });
      while (shared.size > MAX_ENTRIES) shared.delete(shared.keys().next().value as string);
      return result;
    },
  };
}
