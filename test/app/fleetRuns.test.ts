import type { Fleet, FleetLookup } from '../../src/app/createFleet';
import type { Services } from '../../src/app/createServices';
import { enqueueTick, runPoolMessage } from '../../src/app/fleetRuns';
import { loadConfig } from '../../src/lib/config/loadConfig';
import { InProcessQueue } from '../../src/lib/queue/inProcessQueue';
import type { StoredRunRecord } from '../../src/lib/state/types';

/**
 * The fan-out rules of a tick and of one pool's message, on a fleet whose pools are stand-ins with only a run
 * history (nothing here probes): what is queued, what is skipped and why.
 */

const settings = loadConfig({ STORE_PATH: ':memory:', PROBE_TIMEOUT_MS: '2000', PROBE_SCHEDULE: '0 */5 * * * *' });
const NOW = Date.parse('2026-12-01T12:00:00.000Z');

function poolOf(name: string, runs: readonly StoredRunRecord[], failing = false): Services {
  return {
    declaredPool: { name },
    service: 'apim-prod',
    settings,
    state: {
      recentRuns: async () => {
        if (failing) throw new Error('table unreachable');
        return runs;
      },
    },
  } as unknown as Services;
}

function fleetOf(pools: readonly Services[]): Fleet & { queue: InProcessQueue } {
  const queue = new InProcessQueue();
  return {
    settings,
    pools,
    queue,
    find: (pool: string, service?: string): FleetLookup => {
      const found = pools.find((candidate) => candidate.declaredPool.name === pool && (service === undefined || candidate.service === service));
      return found ? { found: true, services: found } : { found: false, status: 404, code: 'UnknownPool', message: 'unknown' };
    },
  } as unknown as Fleet & { queue: InProcessQueue };
}

const running = (startedAtMs: number, lastActivityMs: number): StoredRunRecord => ({ runId: 'r', pool: 'p', startedAtMs, trigger: 'timer', state: 'running', lastActivityMs });

describe('enqueueTick', () => {
  it('queues one message per pool, skips a pool whose run is alive, and queues one whose running record is silent (a dead holder)', async () => {
    const fleet = fleetOf([
      poolOf('idle', []),
      // Alive: a heartbeat 1 s ago, within one lease life (the 2 s probe timeout).
      poolOf('alive', [running(NOW - 30_000, NOW - 1_000)]),
      // Dead: silent for 10 s, longer than a lease life; it must not keep the pool off the queue.
      poolOf('dead', [running(NOW - 60_000, NOW - 10_000)]),
      poolOf('broken', [], true),
    ]);
    const lines: string[] = [];
    const outcome = await enqueueTick(fleet, new Date(NOW), (line) => lines.push(line));
    expect(outcome).toEqual({ queued: 2, skipped: 1, failed: 1 });
    const received = await fleet.queue.receive(32, 60_000);
    const pools = received.map((message) => JSON.parse(Buffer.from(message.messageText, 'base64').toString('utf8')) as { pool: string; tick: string });
    expect(pools.map((message) => message.pool).sort()).toEqual(['dead', 'idle']);
    expect(pools.every((message) => message.tick === new Date(NOW).toISOString())).toBe(true);
    expect(lines.join('\n')).toMatch(/Pool alive \(apim-prod\): not queued, its run started at .* is still going\./);
    expect(lines.join('\n')).toMatch(/Pool broken \(apim-prod\): could not be queued \(table unreachable\); the next tick tries again\./);
  });
});

describe('runPoolMessage', () => {
  it('skips a pool that left the fleet, a duplicate of a tick already run, and a message older than two intervals', async () => {
    const fleet = fleetOf([poolOf('p', [{ runId: 'x', pool: 'p', startedAtMs: NOW - 1_000, trigger: 'timer', state: 'complete' }])]);
    const log = (): void => undefined;
    await expect(runPoolMessage(fleet, { pool: 'gone', service: 'apim-prod', tick: new Date(NOW).toISOString() }, log, NOW)).resolves.toMatchObject({
      ran: false,
      reason: expect.stringMatching(/not in this fleet any more/),
    });
    // The latest run started after this tick (another message of it, or of a later tick, ran the pool).
    await expect(runPoolMessage(fleet, { pool: 'p', service: 'apim-prod', tick: new Date(NOW - 2_000).toISOString() }, log, NOW)).resolves.toMatchObject({
      ran: false,
      reason: expect.stringMatching(/already started at .*, after the tick/),
    });
    // Two schedule intervals (5 min each) ago and more: a backlog, not run.
    await expect(runPoolMessage(fleet, { pool: 'p', service: 'apim-prod', tick: new Date(NOW - 11 * 60_000).toISOString() }, log, NOW)).resolves.toMatchObject({
      ran: false,
      reason: expect.stringMatching(/older than two schedule intervals/),
    });
  });
});
