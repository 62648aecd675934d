import type { PoolRunMessage } from '../lib/queue/types';
import { ensureError } from '../lib/util/errors';
import { mapBounded } from '../lib/util/mapBounded';
import { runLeaseTtlInMs, runVerificationCycle, type CycleResult } from '../lib/verifier/runVerificationCycle';
import { ensureStartupOnce } from './appState';
import type { Fleet } from './createFleet';
import { invalidateReports } from './reportCache';
import { longestIntervalInMsOf } from './runsPerHourOf';
import { runStoppableOnSigterm } from './shutdown';

/** What one timer tick did. */
export interface TickOutcome {
  readonly queued: number;
  /** Pools whose run was still going (not queued twice). */
  readonly skipped: number;
  /** Pools whose message could not be queued (the queue service failed); the next tick tries again. */
  readonly failed: number;
}

/** Messages queued at once (a fleet of hundreds of pools must not open hundreds of requests to the queue service). */
const ENQUEUE_CONCURRENCY = 16;

/**
 * One timer tick of the fleet: one message per pool onto the queue, so Functions spreads the runs across instances
 * and one slow pool never delays the others. A pool whose run is still going is skipped with a log line.
 */
export async function enqueueTick(fleet: Fleet, tick: Date, log: (line: string) => void): Promise<TickOutcome> {
  let queued = 0;
  let skipped = 0;
  let failed = 0;
  await mapBounded(fleet.pools, ENQUEUE_CONCURRENCY, async (services) => {
    const name = services.declaredPool.name;
    try {
      const latest = (await services.state.recentRuns(name, 1))[0];
      // Alive: a probe or the heartbeat (every third of a lease's life) within one lease life. A dead holder's run
      // stays `running` until the next run takes the lease and marks it, so it must not keep the pool from the queue.
      const aliveAtMs = latest?.lastActivityMs ?? latest?.startedAtMs ?? 0;
      if (latest?.state === 'running' && tick.getTime() - aliveAtMs <= runLeaseTtlInMs(fleet.settings.probe)) {
        skipped += 1;
        log(`Pool ${name} (${services.service}): not queued, its run started at ${new Date(latest.startedAtMs).toISOString()} is still going.`);
        return;
      }
      await fleet.queue.enqueue({ pool: name, service: services.service, tick: tick.toISOString() });
      queued += 1;
    } catch (error) {
      failed += 1;
      log(`Pool ${name} (${services.service}): could not be queued (${ensureError(error).message}); the next tick tries again.`);
    }
  });
  return { queued, skipped, failed };
}

/** What handling one queue message did. */
export type PoolRunOutcome =
  | { readonly ran: true; readonly result: Extract<CycleResult, { ran: true }> }
  | { readonly ran: false; readonly reason: string };

/**
 * Handles one pool's message: the start-up step for that pool (once per definition), then one probe run under the
 * pool's own run lease. Skipped, with the reason, when the pool is no longer in the fleet, when a run of this pool
 * already started at or after the message's tick (a duplicate message), or when the message is older than two
 * schedule intervals (a backlog after an outage must not fire a burst of runs). Throws only when the run could not
 * be attempted (shared state unreachable): the queue then retries it, and after the host's maxDequeueCount the
 * message ends in the poison queue.
 */
export async function runPoolMessage(fleet: Fleet, message: PoolRunMessage, log: (line: string) => void, nowMs: number = Date.now()): Promise<PoolRunOutcome> {
  const lookup = fleet.find(message.pool, message.service);
  if (!lookup.found) return { ran: false, reason: `pool "${message.pool}" of service "${message.service}" is not in this fleet any more` };
  const services = lookup.services;
  const tickMs = Date.parse(message.tick);
  const maxAgeInMs = 2 * longestIntervalInMsOf(fleet.settings.probe.schedule);
  if (nowMs - tickMs > maxAgeInMs) {
    return { ran: false, reason: `the message of the tick at ${message.tick} is older than two schedule intervals; the next tick queues a fresh one` };
  }
  const latest = (await services.state.recentRuns(message.pool, 1))[0];
  if (latest !== undefined && latest.startedAtMs >= tickMs) {
    return { ran: false, reason: `a run of this pool already started at ${new Date(latest.startedAtMs).toISOString()}, after the tick at ${message.tick}` };
  }
  try {
    await ensureStartupOnce(services, log);
  } catch (error) {
    log(`Start-up step failed (retried next run): ${ensureError(error).message}`);
  }
  log(`Probe run for the tick at ${message.tick}: starting.`);
  const deps = services.cycleDependencies(log);
  const result = await runStoppableOnSigterm((signal) => runVerificationCycle(deps, signal));
  invalidateReports();
  return result.ran ? { ran: true, result } : { ran: false, reason: result.reason };
}
