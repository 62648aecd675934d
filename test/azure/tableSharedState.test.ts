import { randomUUID } from 'node:crypto';
import type { DeployOutcome } from '../../src/lib/deploy/types';
import { evidenceScope, scopeSharedState } from '../../src/lib/state/evidenceScope';
import { createTableClient, createTableSharedState } from '../../src/lib/state/tableSharedState';
import { withLease } from '../../src/lib/state/withLease';
import { startAzurite, type RunningAzurite } from '../lib/alerts/azurite';
import { expectLeaseRenewedWhileWorkRuns } from '../support/expectLeaseRenewal';

/**
 * Shared state in Azure Storage Tables against Azurite: the lease that a dead holder cannot keep, run records that
 * a takeover marks incomplete, start-up records, and evidence of two gateways kept apart.
 */

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

/** A fresh table per test: no state leaks between tests. */
function freshState(): ReturnType<typeof createTableSharedState> {
  const table = `t${randomUUID().replace(/-/g, '')}`.slice(0, 40);
  const state = createTableSharedState(createTableClient({ kind: 'connection-string', connectionString: azurite.connectionString }, table));
  tableNames.set(state, table);
  return state;
}

const tableNames = new WeakMap<object, string>();
const T0 = Date.UTC(2026, 11, 1, 4, 0, 0);

describe('the lease in Table storage', () => {
  it('of twenty instances racing for a free lease, exactly one gets it', async () => {
    const state = freshState();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => state.tryAcquireLock('probe-run', `instance-${i}`, 5_000, T0)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('is not re-entrant and refuses while the holder is alive, then is taken over once it expired', async () => {
    const state = freshState();
    expect(await state.tryAcquireLock('probe-run', 'A', 2_000, T0)).toBe(true);
    expect(await state.tryAcquireLock('probe-run', 'A', 2_000, T0 + 10)).toBe(false);
    expect(await state.tryAcquireLock('probe-run', 'B', 2_000, T0 + 1_999)).toBe(false);
    expect(await state.tryAcquireLock('probe-run', 'B', 2_000, T0 + 2_001)).toBe(true);
    // The dead holder cannot renew or release what it lost.
    expect(await state.renewLock('probe-run', 'A', 2_000, T0 + 2_002)).toBe(false);
    await state.releaseLock('probe-run', 'A');
    expect(await state.tryAcquireLock('probe-run', 'C', 2_000, T0 + 2_003)).toBe(false);
    await state.releaseLock('probe-run', 'B');
    expect(await state.tryAcquireLock('probe-run', 'C', 2_000, T0 + 2_004)).toBe(true);
  });

  it('of two instances racing for an expired lease, exactly one takes it over (ETag-conditional replace)', async () => {
    const state = freshState();
    expect(await state.tryAcquireLock('probe-run', 'dead', 1_000, T0)).toBe(true);
    const results = await Promise.all(['B', 'C', 'D', 'E'].map((owner) => state.tryAcquireLock('probe-run', owner, 1_000, T0 + 5_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('withLease renews while the work runs (so a long run keeps it) and releases when the work ends', async () => {
    await expectLeaseRenewedWhileWorkRuns(freshState(), T0);
  });

  it('withLease aborts the work when the lease was taken over, so two holders never go on together', async () => {
    const state = freshState();
    let clock = T0;
    const result = await withLease({ state, name: 'probe-run', owner: 'A', ttlInMs: 150, now: () => clock }, async (signal) => {
      // A stalls past its lease; B takes over; A's next heartbeat finds out and aborts A's work.
      clock = T0 + 1_000;
      expect(await state.tryAcquireLock('probe-run', 'B', 60_000, clock)).toBe(true);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return String((signal.reason as Error).message);
    });
    expect(result).toEqual({ held: true, value: 'lost the "probe-run" lease: another holder took it over' });
    // A's release did not free B's lease.
    expect(await state.tryAcquireLock('probe-run', 'C', 1_000, clock + 1)).toBe(false);
  });
});

describe('run records in Table storage', () => {
  it('lists runs newest first, and a takeover marks the dead run incomplete with the probes it counted', async () => {
    const state = freshState();
    await state.beginRun({ runId: 'run-1', pool: 'pool-a', startedAtMs: T0, trigger: 'timer' });
    await state.finishRun({ runId: 'run-1', finishedAtMs: T0 + 5_000, state: 'complete', probesSent: 60, tokensUsed: 540, verdict: 'ok', stoppedEarly: false });
    await state.beginRun({ runId: 'run-2', pool: 'pool-a', startedAtMs: T0 + 60_000, trigger: 'timer' });
    state.recordProbeCount('run-2');
    state.recordProbeCount('run-2');
    await state.touchRun('run-2', T0 + 61_000);

    const runs = await state.recentRuns('pool-a', 10);
    expect(runs.map((r) => [r.runId, r.state])).toEqual([
      ['run-2', 'running'],
      ['run-1', 'complete'],
    ]);
    expect(runs[1]).toMatchObject({ finishedAtMs: T0 + 5_000, probesSent: 60, verdict: 'ok' });

    // Another instance, holding the run lease, marks what the dead holder left behind.
    const other = createTableSharedState(createTableClient({ kind: 'connection-string', connectionString: azurite.connectionString }, tableNameOf(state)));
    expect(await other.markAbandonedRuns(T0 + 120_000, 0, 'pool-a')).toBe(1);
    const after = await other.recentRuns('pool-a', 10);
    expect(after[0]).toMatchObject({ runId: 'run-2', state: 'incomplete', finishedAtMs: T0 + 61_000, probesSent: 2 });
    expect(await other.markAbandonedRuns(T0 + 120_000, 0, 'pool-a')).toBe(0);
  });

  it('keeps start-up records, deploy outcomes and config drift per pool, large documents included', async () => {
    const state = freshState();
    const outcome: DeployOutcome = {
      mode: 'deploy',
      status: 'succeeded',
      startedAt: new Date(T0).toISOString(),
      finishedAt: new Date(T0 + 1_000).toISOString(),
      actions: Array.from({ length: 400 }, (_, i) => ({ resource: `backend-${i}`, kind: 'backend', result: 'unchanged' }) as unknown as DeployOutcome['actions'][number]),
      summary: 'x'.repeat(40_000),
    };
    await state.saveStartupRecord('pool-a', { definitionHash: 'h1', deploy: outcome, policy: [], by: 'A' });
    await state.saveDeployOutcome('pool-a', outcome);
    expect(await state.lastStartupRecord('pool-a')).toEqual({ definitionHash: 'h1', deploy: outcome, policy: [], by: 'A' });
    expect(await state.lastDeployOutcome('pool-a')).toEqual(outcome);
    expect(await state.lastDeployOutcome('pool-b')).toBeNull();
    expect(await state.lastConfigDrift('pool-a')).toBeNull();
  });

  it('keeps two gateways of the same pool name apart (the embedded demo never shows in a real gateway)', async () => {
    const tables = freshState();
    const demo = scopeSharedState(tables, evidenceScope({ embedded: true }));
    const real = scopeSharedState(tables, evidenceScope({ embedded: false, gatewayUrl: 'https://apim-prod.azure-api.net/openai', apim: undefined }));
    await demo.beginRun({ runId: 'demo-run', pool: 'pool-a', startedAtMs: T0, trigger: 'timer' });
    await real.beginRun({ runId: 'real-run', pool: 'pool-a', startedAtMs: T0 + 1, trigger: 'timer' });
    expect((await real.recentRuns('pool-a', 10)).map((r) => [r.runId, r.pool])).toEqual([['real-run', 'pool-a']]);
    expect((await demo.recentRuns('pool-a', 10)).map((r) => r.runId)).toEqual(['demo-run']);
    // Their run leases are separate too.
    expect(await demo.tryAcquireLock('probe-run', 'A', 5_000, T0)).toBe(true);
    expect(await real.tryAcquireLock('probe-run', 'B', 5_000, T0)).toBe(true);
  });
});

function tableNameOf(state: object): string {
  const name = tableNames.get(state);
  if (name === undefined) throw new Error('not a state made by freshState()');
  return name;
}
