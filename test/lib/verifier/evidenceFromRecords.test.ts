import type { ProbeRecord } from '../../../src/lib/probe/types';
import { evidenceFromRecords } from '../../../src/lib/verifier/evidenceFromRecords';

function record(index: number, overrides: Partial<ProbeRecord>): ProbeRecord {
  return {
    runId: 'run-1',
    probeIndex: index,
    startedAtMs: 1_000 + index * 100,
    latencyInMs: 10 + index,
    kind: 'ok',
    status: 200,
    backend: 'west',
    identifierValue: 'West US',
    totalTokens: 12,
    errorCode: null,
    ...overrides,
  };
}

describe('evidenceFromRecords', () => {
  const records: ProbeRecord[] = [
    record(0, {}),
    record(1, {}),
    record(2, { backend: 'east', identifierValue: 'East US' }),
    record(3, { kind: 'http', status: 429, backend: 'east', identifierValue: 'East US', totalTokens: null, errorCode: '429' }),
    record(4, { backend: null, identifierValue: 'North Europe' }),
    record(5, { backend: null, identifierValue: null }),
    record(6, { kind: 'timeout', status: null, backend: null, identifierValue: null, totalTokens: null, errorCode: 'timeout' }),
    record(7, { kind: 'network', status: null, backend: null, identifierValue: null, totalTokens: null, errorCode: 'ECONNRESET' }),
    record(8, { kind: 'http', status: 503, backend: null, identifierValue: null, totalTokens: null, errorCode: '503' }),
  ];
  const evidence = evidenceFromRecords(records, ['west', 'east'], { fromMs: 1_000, toMs: 2_000 }, 500, 'run-1');

  it('counts identified 2xx answers per backend and keeps unidentified values apart', () => {
    expect(evidence.total).toBe(9);
    expect(evidence.answered).toBe(5);
    expect(evidence.backends.map((b) => [b.backend, b.answered])).toEqual([
      ['west', 2],
      ['east', 1],
    ]);
    expect(evidence.unidentified).toEqual({ count: 2, values: { 'North Europe': 1, '': 1 } });
  });

  it('attributes errors to the backend that answered them and counts every failure overall', () => {
    expect(evidence.backends.find((b) => b.backend === 'east')?.errorsByStatus).toEqual({ '429': 1 });
    expect(evidence.errors).toEqual({ byStatus: { '429': 1, '503': 1 }, timeout: 1, network: 1 });
  });

  it('bins answers by time and sums tokens', () => {
    expect(evidence.bins.map((b) => [b.startMs, b.answered, b.unidentified, b.failed])).toEqual([
      [1_000, { west: 2, east: 1 }, 1, 1],
      [1_500, {}, 1, 3],
    ]);
    expect(evidence.tokensUsed).toBe(12 * 5);
    expect(evidence.runs).toEqual([{ runId: 'run-1', startedAtMs: 1_000, answered: { west: 2, east: 1 } }]);
  });

  it('takes nearest-rank latency percentiles per backend', () => {
    const west = evidence.backends.find((b) => b.backend === 'west');
    expect(west?.latencyP50InMs).toBe(10);
    expect(west?.latencyP95InMs).toBe(11);
  });

  it('leaves out records outside the window', () => {
    const narrow = evidenceFromRecords(records, ['west', 'east'], { fromMs: 1_000, toMs: 1_150 }, 500);
    expect(narrow.total).toBe(2);
    expect(narrow.runs).toEqual([]);
  });
});
