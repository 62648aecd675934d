import type { Report } from '../lib/report/types';
import type { Services } from './createServices';

/**
 * How long a built report is served again. Many clients asking at once (a dashboard wall, a load test) then cost
 * one build per second instead of one each: building reads three windows (and, in Azure, runs Logs queries), and
 * under 50 concurrent clients the builds queued on the event loop (issue 15, bench `load-while-probing`). A report
 * states its own `generatedAt`, so a cached one is never passed off as newer than it is.
 */
export const REPORT_CACHE_TTL_IN_MS = 1_000;

interface Entry {
  readonly key: string;
  readonly builtAtMs: number;
  readonly report: Promise<Report>;
}

const caches = new WeakMap<Services, Map<string, Entry>>();
let generation = 0;

/** Forgets every cached report (a run finished, a deploy outcome or policy findings changed). */
export function invalidateReports(): void {
  generation += 1;
}

/** Counts {@link invalidateReports} calls: a cache built at an older generation is out of date. */
export function reportsGeneration(): number {
  return generation;
}

/**
 * The report for `window` from `services`: built by `build`, shared by concurrent callers (one build in flight per
 * window) and reused for {@link REPORT_CACHE_TTL_IN_MS}; a newly finished run (even on another instance) or
 * {@link invalidateReports} makes the next call build afresh. A failed build is not kept.
 */
export async function cachedReport(services: Services, window: string, build: () => Promise<Report>, nowMs: number = Date.now()): Promise<Report> {
  const latest = (await services.state.recentRuns(services.declaredPool.name, 1))[0];
  let cache = caches.get(services);
  if (cache === undefined) {
    cache = new Map();
    caches.set(services, cache);
  }
  const key = `${generation}|${latest?.runId ?? ''}|${latest?.state ?? ''}`;
  const entry = cache.get(window);
  if (entry !== undefined && entry.key === key && nowMs - entry.builtAtMs < REPORT_CACHE_TTL_IN_MS) {
    return entry.report;
  }
  const report = build();
  const fresh: Entry = { key, builtAtMs: nowMs, report };
  cache.set(window, fresh);
  report.catch(() => {
    if (cache?.get(window) === fresh) cache.delete(window);
  });
  return report;
}
