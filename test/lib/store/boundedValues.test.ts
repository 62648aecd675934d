import type { ProbeRecord } from '../../../src/lib/probe/types';
import { openSqliteStore } from '../../../src/lib/store/sqliteStore';
import { boundCounts, truncateValue } from '../../../src/lib/util/boundedCounts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 25, 8, 0, 0);

/** An unidentified 2xx whose identifying header is a unique 8 KB id (issue 15). */
function uniqueValueProbe(runId: string, probeIndex: number, startedAtMs: number): ProbeRecord {
  return {
    runId,
    probeIndex,
    startedAtMs,
    latencyInMs: 20,
    kind: 'ok',
    status: 200,
    backend: null,
    identifierValue: `${runId}-${probeIndex}-`.padEnd(8 * 1024, 'v'),
    totalTokens: 9,
    errorCode: null,
  };
}

describe('the SQLite store with a unique 8 KB identifier on every answer', () => {
  it('keeps at most 21 unidentified rollup rows per minute, 200-character raw values, and exact counts', async () => {
    const store = openSqliteStore(':memory:');
    try {
      for (let run = 0; run < 3; run += 1) {
        const runId = `run-${run}`;
        const startedAtMs = T0 + run * 5 * MINUTE;
        await store.beginRun({ runId, pool: 'p', startedAtMs, trigger: 'timer' });
        // 1,000 probes over about 2 minutes of one run.
        store.insertProbes(Array.from({ length: 1_000 }, (_, i) => uniqueValueProbe(runId, i, startedAtMs + i * 120)));
      }
      const perMinute = store.db.prepare(`SELECT MAX(c) FROM (SELECT COUNT(*) AS c FROM rollup_unidentified GROUP BY pool, minute_ms)`).pluck().get() as number;
      expect(perMinute).toBeLessThanOrEqual(21);
      const longest = store.db.prepare(`SELECT MAX(LENGTH(identifier_value)) FROM probes`).pluck().get() as number;
      expect(longest).toBeLessThanOrEqual(200);

      // A whole-minute window (rollups) and one with ragged edges (raw rows) both stay bounded and exact.
      for (const window of [{ fromMs: T0, toMs: T0 + 20 * MINUTE }, { fromMs: T0 + 7_777, toMs: T0 + 11 * MINUTE + 3_333 }]) {
        const evidence = store.readWindowSync('p', window, MINUTE);
        const values = Object.entries(evidence.unidentified.values);
        expect(values.length).toBeLessThanOrEqual(20);
        expect(values.every(([value]) => value.length <= 200)).toBe(true);
        expect(evidence.unidentified.count).toBe(evidence.answered);
        expect(values.reduce((s, [, n]) => s + n, 0) + (evidence.unidentified.otherAnswers ?? 0)).toBe(evidence.unidentified.count);
        expect(JSON.stringify(evidence).length).toBeLessThan(20_000);
      }
    } finally {
      store.close();
    }
  });

  it('counts the same values as before when there are few of them (no "other" row)', async () => {
    const store = openSqliteStore(':memory:');
    try {
      await store.beginRun({ runId: 'r', pool: 'p', startedAtMs: T0, trigger: 'timer' });
      store.insertProbes(Array.from({ length: 30 }, (_, i) => ({ ...uniqueValueProbe('r', i, T0 + i * 1000), identifierValue: i % 3 === 0 ? 'Mars' : null })));
      const evidence = store.readWindowSync('p', { fromMs: T0, toMs: T0 + 2 * MINUTE }, MINUTE);
      expect(evidence.unidentified).toEqual({ count: 30, values: { Mars: 10, '': 20 } });
    } finally {
      store.close();
    }
  });
});

describe('bounded counts', () => {
  it('cuts long values to 200 characters ending in an ellipsis, never splitting a surrogate pair', () => {
    expect(truncateValue('x'.repeat(8192))).toHaveLength(200);
    expect(truncateValue('x'.repeat(8192)).endsWith('…')).toBe(true);
    expect(truncateValue('short')).toBe('short');
    const cut = truncateValue(`${'a'.repeat(198)}😀😀`);
    expect(cut.endsWith('…')).toBe(true);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(cut)).toBe(false);
  });

  it('keeps the most frequent values and counts the rest as other answers', () => {
    const counts = Array.from({ length: 50 }, (_, i) => [`v${i}`, i + 1] as const);
    const bounded = boundCounts(counts, 20);
    expect(Object.keys(bounded.values)).toHaveLength(20);
    expect(bounded.values.v49).toBe(50);
    expect(bounded.values.v0).toBeUndefined();
    expect(Object.values(bounded.values).reduce((s, n) => s + n, 0) + bounded.otherAnswers).toBe((50 * 51) / 2);
  });
});
