import type { ProbeRecord } from '../../../src/lib/probe/types';
import { openSqliteStore } from '../../../src/lib/store/sqliteStore';
import { evidenceFromRecords } from '../../../src/lib/verifier/evidenceFromRecords';

const T0 = Date.UTC(2026, 11, 1, 6, 0, 0) + 7_000;

function records(): ProbeRecord[] {
  const base = { runId: 'run-1', latencyInMs: 12, errorCode: null } as const;
  return [
    { ...base, probeIndex: 0, startedAtMs: T0, kind: 'ok', status: 200, backend: 'west', identifierValue: 'West US', totalTokens: 9, remainingTokens: 20 },
    { ...base, probeIndex: 1, startedAtMs: T0 + 70_000, kind: 'gateway-throttled', status: 429, backend: null, identifierValue: null, totalTokens: null, errorCode: 'gateway-token-limit', retryAfterSeconds: 11, remainingTokens: 0 },
    { ...base, probeIndex: 2, startedAtMs: T0 + 130_000, kind: 'gateway-throttled', status: 429, backend: null, identifierValue: null, totalTokens: null, errorCode: 'gateway-token-limit', retryAfterSeconds: 4 },
    { ...base, probeIndex: 3, startedAtMs: T0 + 140_000, kind: 'http', status: 429, backend: 'east', identifierValue: 'East US', totalTokens: null, errorCode: '429' },
  ];
}

describe('the SQLite store and gateway-throttled probes', () => {
  it('stores them and reads them back apart from errors, as evidenceFromRecords does, over rollup and raw minutes', async () => {
    const store = openSqliteStore(':memory:');
    try {
      await store.beginRun({ runId: 'run-1', pool: 'pool-a', startedAtMs: T0, trigger: 'cli' });
      for (const record of records()) await store.recordProbe(record);
      await store.flush();
      const window = { fromMs: T0 - 1_000, toMs: T0 + 200_000 };
      const evidence = await store.readWindow('pool-a', window, 60_000);
      expect(evidence.total).toBe(4);
      expect(evidence.gatewayThrottled).toEqual({ count: 2, lastRetryAfterSeconds: 4, remainingTokens: 0 });
      expect(evidence.errors).toEqual({ byStatus: { '429': 1 }, timeout: 0, network: 0 });
      expect(evidence.bins.reduce((sum, bin) => sum + bin.failed, 0)).toBe(1);
      const fromRecords = evidenceFromRecords(records(), ['east', 'west'], window, 60_000);
      expect(fromRecords.gatewayThrottled).toEqual(evidence.gatewayThrottled);
      expect(fromRecords.errors).toEqual(evidence.errors);
    } finally {
      store.close();
    }
  });

  it('leaves gatewayThrottled out of a window without throttled probes or token headers', async () => {
    const store = openSqliteStore(':memory:');
    try {
      await store.beginRun({ runId: 'run-1', pool: 'pool-a', startedAtMs: T0, trigger: 'cli' });
      await store.recordProbe({ ...records()[3]!, probeIndex: 0 });
      await store.flush();
      expect((await store.readWindow('pool-a', { fromMs: T0, toMs: T0 + 200_000 }, 60_000)).gatewayThrottled).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it('refuses a Retry-After that is not a whole number of seconds, naming the field', async () => {
    const store = openSqliteStore(':memory:');
    try {
      await store.beginRun({ runId: 'run-1', pool: 'pool-a', startedAtMs: T0, trigger: 'cli' });
      await expect(store.recordProbe({ ...records()[1]!, retryAfterSeconds: -1 })).rejects.toMatchObject({ name: 'StoreInputError', field: 'record.retryAfterSeconds' });
    } finally {
      store.close();
    }
  });
});
