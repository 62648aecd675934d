import type { EvidenceSource, TimeWindow, WindowEvidence } from '../store/types';

/** Options of {@link createSharedEvidenceSource}. */
export interface SharedEvidenceSourceOptions {
  /** Evidence fetched less than this long ago is served again (REPORT_CACHE_SECONDS × 1000). 0 = only single flight. */
  readonly intervalInMs: number;
  /** Clock (tests, benchmarks). Default `Date.now`. */
  readonly now?: () => number;
  /** Most distinct (pool, window length, bin) keys kept; the oldest is dropped beyond. Default 32. */
  readonly maxEntries?: number;
}

interface Entry {
  readonly fetchedAtMs: number;
  readonly window: TimeWindow;
  readonly promise: Promise<WindowEvidence>;
  settled: boolean;
}

/**
 * Shares Logs evidence between callers so a busy report page stays inside the Log Analytics query limits
 * (about 5 concurrent queries and 200 per 30 s per user; each window costs 3–5 queries, a report 10–13):
 * - **single flight**: callers asking for the same (pool, window length, bin size) while a fetch runs get that
 *   fetch's result;
 * - **interval**: a result fetched less than `intervalInMs` ago is served again. Report windows slide with the
 *   clock ("the last hour"), so the cached window may end up to one interval before now; with the 2–5 minute
 *   ingestion delay of Azure Monitor Logs that costs nothing a fresh query would have seen.
 * A failed fetch is shared with the callers that waited for it but not kept. A caller's abort signal stops
 * only that caller's wait; the shared fetch runs on (bounded by the source's own query timeout) for the others.
 */
export function createSharedEvidenceSource(source: EvidenceSource, options: SharedEvidenceSourceOptions): EvidenceSource & { readonly fetches: () => number } {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 32;
  if (!Number.isFinite(options.intervalInMs) || options.intervalInMs < 0) throw new RangeError('intervalInMs must be ≥ 0');
  const entries = new Map<string, Entry>();
  let fetches = 0;

  const fetch = (key: string, pool: string, window: TimeWindow, binInMs: number): Entry => {
    fetches += 1;
    const entry: Entry = { fetchedAtMs: now(), window, promise: source.readWindow(pool, window, binInMs), settled: false };
    entries.delete(key);
    entries.set(key, entry);
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    entry.promise.then(
      () => {
        entry.settled = true;
      },
      () => {
        entry.settled = true;
        if (entries.get(key) === entry) entries.delete(key);
      },
    );
    return entry;
  };

  return {
    fetches: () => fetches,
    async readWindow(pool, window, binInMs, signal) {
      signal?.throwIfAborted();
      const key = JSON.stringify([pool, window.toMs - window.fromMs, binInMs]);
      const current = entries.get(key);
      const fresh = current !== undefined && (!current.settled || now() - current.fetchedAtMs < options.intervalInMs);
      const entry = fresh ? current : fetch(key, pool, window, binInMs);
      if (signal === undefined) return entry.promise;
      return new Promise<WindowEvidence>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        entry.promise.then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      });
    },
  };
}
