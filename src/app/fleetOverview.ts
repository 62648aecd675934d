import { buildFleetOverview } from '../lib/report/fleet/buildFleetOverview';
import type { FleetOverview, FleetPoolInput } from '../lib/report/fleet/types';
import { ensureError } from '../lib/util/errors';
import { mapBounded } from '../lib/util/mapBounded';
import { buildServiceReport } from './buildServiceReport';
import type { Fleet } from './createFleet';
import { POISON_PEEK } from './poisonFinding';
import { cachedReport, REPORT_CACHE_TTL_IN_MS, reportsGeneration } from './reportCache';

/** Pool reports built at once for the overview (each reads three windows; in Azure each window is a Logs query). */
const REPORT_CONCURRENCY = 4;

let cached: { readonly fleet: Fleet; readonly generation: number; readonly builtAtMs: number; readonly overview: Promise<FleetOverview> } | undefined;

/**
 * The fleet overview: every pool's report for its headline window, plus the poisoned messages of the probe queue,
 * reduced to one row per pool (worst first). Concurrent viewers share one build per second (a run finished in this
 * process makes the next one fresh), so fifty clients cost
 * what one does; each pool report is itself cached (see `cachedReport`).
 */
export function fleetOverview(fleet: Fleet, log: (line: string) => void, nowMs: number = Date.now()): Promise<FleetOverview> {
  const generation = reportsGeneration();
  // A run finished here (or a deploy changed) since the last build: build afresh, as the pool reports do.
  if (cached !== undefined && cached.fleet === fleet && cached.generation === generation && nowMs - cached.builtAtMs < REPORT_CACHE_TTL_IN_MS) return cached.overview;
  const overview = buildOverview(fleet, log);
  const entry = { fleet, generation, builtAtMs: nowMs, overview };
  cached = entry;
  overview.catch(() => {
    if (cached === entry) cached = undefined;
  });
  return overview;
}

async function buildOverview(fleet: Fleet, log: (line: string) => void): Promise<FleetOverview> {
  const poisonedByPool = await readPoisoned(fleet, log);
  const inputs = await mapBounded(fleet.pools, REPORT_CONCURRENCY, async (services): Promise<FleetPoolInput> => {
    const window = services.settings.report.primaryWindow;
    const poisoned = poisonedByPool.get(`${services.declaredPool.name}\u0000${services.service}`);
    let report = null;
    let error = null;
    try {
      report = await cachedReport(services, window, () => buildServiceReport(services, window, log));
    } catch (failure) {
      error = `the report could not be built: ${ensureError(failure).message}`;
      log(`Fleet overview: pool ${services.declaredPool.name}: ${error}`);
    }
    return { pool: services.declaredPool.name, service: services.service, report, error, ...(poisoned ? { poisoned } : {}) };
  });
  return buildFleetOverview(inputs, Date.now());
}

/** Poisoned messages by pool and service; a queue that cannot be read degrades to none (logged). */
async function readPoisoned(fleet: Fleet, log: (line: string) => void): Promise<Map<string, NonNullable<FleetPoolInput['poisoned']>>> {
  const byPool = new Map<string, NonNullable<FleetPoolInput['poisoned']>>();
  let poisoned;
  try {
    poisoned = await fleet.queue.poisoned(POISON_PEEK);
  } catch (error) {
    log(`Fleet overview: the poison queue cannot be read: ${ensureError(error).message}`);
    return byPool;
  }
  for (const { message, insertedOn, failure } of poisoned) {
    const key = `${message.pool}\u0000${message.service}`;
    const seen = byPool.get(key);
    const lastAt = seen?.lastAt && insertedOn && seen.lastAt > insertedOn ? seen.lastAt : (insertedOn ?? seen?.lastAt ?? null);
    byPool.set(key, {
      count: (seen?.count ?? 0) + 1,
      lastAt,
      // The newest failure's reason, when the queue trigger recorded one (peeked newest first).
      reason: seen?.reason ?? (failure ? failure.reason : null),
    });
  }
  return byPool;
}
