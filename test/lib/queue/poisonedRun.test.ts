import { InvocationContext } from '@azure/functions';
import type { Fleet } from '../../../src/app/createFleet';
import type { Services } from '../../../src/app/createServices';
import { configureServicesExplicitly } from '../../../src/app/defaultServices';
import { disposeServices } from '../../../src/app/appState';
import { poisonFindingOf } from '../../../src/app/poisonFinding';
import { loadConfig } from '../../../src/lib/config/loadConfig';
import { InProcessQueue } from '../../../src/lib/queue/inProcessQueue';
import { encodePoisonedRun, encodePoolRunMessage, MAX_FAILURE_REASON_CHARS, tryDecodePoisonedRun } from '../../../src/lib/queue/poolRunMessage';
import { DEFAULT_QUEUE_HOST_OPTIONS } from '../../../src/lib/queue/queueHostOptions';

jest.mock('@azure/functions-core', () => require('../../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

/** A poisoned run carries why it failed: written by the queue trigger on the last attempt, shown in the pool's report. */

// A tick of now: an older one (two schedule intervals) would be skipped before the run is attempted.
const MESSAGE = { pool: 'gpt-4o-pool', service: 'apim-prod', tick: new Date().toISOString() };

describe('the poisoned-run codec', () => {
  it('round-trips the run and its failure, cuts a long reason, and reads a bare message moved by the host', () => {
    const failure = { reason: 'the state table answered 503', attempts: 5, at: '2026-12-01T06:01:00.000Z' };
    expect(tryDecodePoisonedRun(encodePoisonedRun(MESSAGE, failure))).toEqual({ message: MESSAGE, failure });
    const long = tryDecodePoisonedRun(encodePoisonedRun(MESSAGE, { ...failure, reason: 'x'.repeat(5_000) }));
    expect(long?.failure?.reason.length).toBe(MAX_FAILURE_REASON_CHARS);
    expect(tryDecodePoisonedRun(encodePoolRunMessage(MESSAGE))).toEqual({ message: MESSAGE, failure: null });
    // Not Base64, not JSON, or not a pool run: not a poisoned run (skipped, never a crash).
    expect(tryDecodePoisonedRun('%%%')).toBeUndefined();
    expect(tryDecodePoisonedRun(Buffer.from('not json').toString('base64'))).toBeUndefined();
    expect(tryDecodePoisonedRun(Buffer.from(JSON.stringify({ pool: 'p' })).toString('base64'))).toBeUndefined();
    // A malformed failure is dropped, the run kept.
    const odd = Buffer.from(JSON.stringify({ ...MESSAGE, failure: { reason: 7 } })).toString('base64');
    expect(tryDecodePoisonedRun(odd)).toEqual({ message: MESSAGE, failure: null });
  });
});

describe('the probePool trigger on a run that cannot be attempted', () => {
  const settings = loadConfig({ STORE_PATH: ':memory:' });
  const queue = new InProcessQueue();
  const pool = {
    declaredPool: { name: MESSAGE.pool },
    service: MESSAGE.service,
    settings,
    state: {
      recentRuns: async () => {
        throw new Error('the state table answered 503 ServerBusy');
      },
    },
  } as unknown as Services;
  const fleet = {
    settings,
    pools: [pool],
    queue,
    find: () => ({ found: true, services: pool }),
    close: async () => undefined,
  } as unknown as Fleet;
  let probePool: (item: unknown, context: InvocationContext) => Promise<void>;
  const lines: string[] = [];
  const contextOf = (dequeueCount: number): InvocationContext =>
    new InvocationContext({ functionName: 'probePool', triggerMetadata: { dequeueCount }, logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')) });

  beforeAll(async () => {
    await disposeServices();
    configureServicesExplicitly(async () => fleet);
    ({ probePool } = await import('../../../src/functions/probePool'));
  });
  afterAll(() => disposeServices());

  it('throws before the last attempt (the host retries), and on the last puts the run with the reason on the poison queue', async () => {
    await expect(probePool(MESSAGE, contextOf(1))).rejects.toThrow('503 ServerBusy');
    expect(await queue.poisoned(10)).toEqual([]);
    await expect(probePool(MESSAGE, contextOf(DEFAULT_QUEUE_HOST_OPTIONS.maxDequeueCount))).resolves.toBeUndefined();
    const [poisoned] = await queue.poisoned(10);
    expect(poisoned?.message).toEqual(MESSAGE);
    expect(poisoned?.failure).toMatchObject({ reason: 'the state table answered 503 ServerBusy', attempts: DEFAULT_QUEUE_HOST_OPTIONS.maxDequeueCount });
    expect(lines.join('\n')).toMatch(/given up after 5 attempts, put on probe-runs-poison with the reason: the state table answered 503 ServerBusy/);
  });

  it("shows in the pool's report as a finding with the reason", async () => {
    const finding = await poisonFindingOf(fleet, pool, () => undefined);
    expect(finding).toEqual({
      kind: 'poisoned-runs',
      severity: 'warning',
      message: `The probe run of 1 tick (latest at ${MESSAGE.tick}) failed on every attempt and ended in the poison queue probe-runs-poison; the last failure (5 attempts): the state table answered 503 ServerBusy`,
    });
  });

  it('a malformed message throws every time (the host moves it, bare)', async () => {
    await expect(probePool({ pool: 'p' }, contextOf(5))).rejects.toThrow(/Not a probe-run message: \$ must have required property/);
  });
});
