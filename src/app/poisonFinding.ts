import type { ReportFinding } from '../lib/report/types';
import { ensureError } from '../lib/util/errors';
import type { Fleet } from './createFleet';
import type { Services } from './createServices';

/** Poisoned messages looked at (the queue service peeks at most 32 at a time). */
export const POISON_PEEK = 32;

/**
 * A finding for the pool's report when messages of its probe runs ended in the poison queue (every attempt failed):
 * the runs asked for at those ticks never happened. Undefined when there are none or the queue cannot be read.
 */
export async function poisonFindingOf(fleet: Fleet, services: Services, log: (line: string) => void): Promise<ReportFinding | undefined> {
  let poisoned;
  try {
    poisoned = await fleet.queue.poisoned(POISON_PEEK);
  } catch (error) {
    log(`The poison queue cannot be read: ${ensureError(error).message}`);
    return undefined;
  }
  const mine = poisoned.filter(({ message }) => message.pool === services.declaredPool.name && message.service === services.service);
  if (mine.length === 0) return undefined;
  const newest = [...mine].sort((a, b) => b.message.tick.localeCompare(a.message.tick))[0];
  const runs = mine.length === 1 ? 'The probe run of 1 tick' : `The probe runs of ${mine.length} ticks`;
  const why = newest?.failure ? `the last failure (${newest.failure.attempts} attempts): ${newest.failure.reason}` : "the probePool function's log names the error";
  return {
    kind: 'poisoned-runs',
    severity: 'warning',
    message: `${runs} (latest at ${newest?.message.tick ?? 'an unknown time'}) failed on every attempt and ended in the poison queue probe-runs-poison; ${why}`,
  };
}
