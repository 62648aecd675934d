import type { ProbeRecord } from '../../../src/lib/probe/types';
import { assessWindow, type AssessedBackend } from '../../../src/lib/stats/assessWindow';
import { createRandom, type RandomSource } from '../../../src/lib/stats/random';
import { evidenceFromRecords } from '../../../src/lib/verifier/evidenceFromRecords';

const backends: readonly AssessedBackend[] = [
  { name: 'west', priority: 1, expectedShare: 2 / 3, isPrimary: true, region: 'West US' },
  { name: 'east', priority: 1, expectedShare: 1 / 3, isPrimary: true, region: 'East US' },
];
const WINDOW = { fromMs: 0, toMs: 60_000 };

/** One probe as runProbes records it: the gateway's token limit with probability `throttledShare`, else an answer. */
function probe(random: RandomSource, index: number, shares: readonly number[], throttledShare: number, backend429Share = 0): ProbeRecord {
  const base = { runId: 'run', probeIndex: index, startedAtMs: index * 10, latencyInMs: 20, errorCode: null, totalTokens: 9 } as const;
  if (random.next() < throttledShare) {
    return { ...base, kind: 'gateway-throttled', status: 429, backend: null, identifierValue: null, totalTokens: null, errorCode: 'gateway-token-limit', retryAfterSeconds: 5, remainingTokens: 0 };
  }
  const name = backends[random.pick(shares)]!;
  if (random.next() < backend429Share) {
    return { ...base, kind: 'http', status: 429, backend: name.name, identifierValue: name.region ?? null, totalTokens: null, errorCode: '429' };
  }
  return { ...base, kind: 'ok', status: 200, backend: name.name, identifierValue: name.region ?? null, remainingTokens: 1000 - index };
}

function verdictOf(records: readonly ProbeRecord[], alpha = 0.01) {
  const evidence = evidenceFromRecords(records, backends.map((b) => b.name), WINDOW, 60_000, 'run');
  return { evidence, assessment: assessWindow({ label: 'run', backends, evidence, options: { alpha, toleranceInPoints: 5 }, windowDescription: 'in this run' }) };
}

function run(random: RandomSource, n: number, shares: readonly number[], throttledShare: number, backend429Share = 0): ProbeRecord[] {
  return Array.from({ length: n }, (_, i) => probe(random, i, shares, throttledShare, backend429Share));
}

describe('gateway-throttled probes in evidence and verdicts', () => {
  it('counts them apart: in total, never in errors, shares or failed bins, with the newest Retry-After and remaining tokens', () => {
    const records: ProbeRecord[] = [
      { runId: 'r', probeIndex: 0, startedAtMs: 0, latencyInMs: 5, kind: 'ok', status: 200, backend: 'west', identifierValue: 'West US', totalTokens: 9, errorCode: null, remainingTokens: 40 },
      { runId: 'r', probeIndex: 1, startedAtMs: 10, latencyInMs: 5, kind: 'gateway-throttled', status: 429, backend: null, identifierValue: null, totalTokens: null, errorCode: 'gateway-token-limit', retryAfterSeconds: 7, remainingTokens: 0 },
      { runId: 'r', probeIndex: 2, startedAtMs: 20, latencyInMs: 5, kind: 'gateway-throttled', status: 429, backend: null, identifierValue: null, totalTokens: null, errorCode: 'gateway-token-limit', retryAfterSeconds: 3 },
      { runId: 'r', probeIndex: 3, startedAtMs: 30, latencyInMs: 5, kind: 'http', status: 429, backend: 'east', identifierValue: 'East US', totalTokens: null, errorCode: '429' },
    ];
    const evidence = evidenceFromRecords(records, ['west', 'east'], WINDOW, 60_000, 'r');
    expect(evidence.total).toBe(4);
    expect(evidence.gatewayThrottled).toEqual({ count: 2, lastRetryAfterSeconds: 3, remainingTokens: 0 });
    // The backend's own 429 (x-ms-region present) stays a 429 of that backend, as before.
    expect(evidence.errors.byStatus).toEqual({ '429': 1 });
    expect(evidence.backends.find((b) => b.backend === 'east')?.errorsByStatus).toEqual({ '429': 1 });
    expect(evidence.bins.reduce((sum, bin) => sum + bin.failed, 0)).toBe(1);
    const { assessment } = verdictOf(records);
    expect(assessment.explanations.join(' ')).toContain("2 were throttled by the gateway's token limit (not a backend error)");
    expect(assessment.explanations.join(' ')).not.toMatch(/no recorded outcome/);
  });

  it('keeps the false-alarm rate of a healthy 2:1 pool at or below alpha = 0.01 when 30% of probes are gateway-throttled (1,000 seeded runs)', () => {
    const random = createRandom(17_0001);
    const runs = 1000;
    let alarms = 0;
    let throttledSeen = 0;
    for (let r = 0; r < runs; r++) {
      const { evidence, assessment } = verdictOf(run(random, 430, [2 / 3, 1 / 3], 0.3, 0.02));
      throttledSeen += evidence.gatewayThrottled?.count ?? 0;
      if (assessment.status === 'drift') alarms++;
    }
    expect(throttledSeen / (runs * 430)).toBeCloseTo(0.3, 1);
    expect(alarms / runs).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / runs));
  });

  it('still detects a 1:1 split of a 2:1 pool when 30% of probes are gateway-throttled (≥ 95% of 300 seeded runs of 860 probes)', () => {
    const random = createRandom(17_0002);
    const runs = 300;
    let detected = 0;
    for (let r = 0; r < runs; r++) if (verdictOf(run(random, 860, [0.5, 0.5], 0.3)).assessment.status === 'drift') detected++;
    expect(detected / runs).toBeGreaterThanOrEqual(0.95);
  });

  it('ends every mostly throttled run inconclusive, never drift, with a meaning that names the token limit (500 seeded runs of a broken 1:1 pool)', () => {
    const random = createRandom(17_0003);
    const statuses = new Map<string, number>();
    for (let r = 0; r < 500; r++) {
      const { assessment } = verdictOf(run(random, 400, [0.5, 0.5], 0.6 + 0.35 * random.next()));
      statuses.set(assessment.status, (statuses.get(assessment.status) ?? 0) + 1);
      expect(assessment.backends.every((b) => !b.flagged)).toBe(true);
      expect(assessment.meaning).toMatch(/^Not decided: the gateway's token limit throttled [\d,]+ probes of [\d,]+ in this run \(APIM answered 429 itself, before choosing a backend\), so the verifier's probes were refused, not a backend/);
      expect(assessment.deadBackendRuledOut).toBe(false);
    }
    expect([...statuses.entries()]).toEqual([['inconclusive', 500]]);
  });

  it('calls a run where every probe was throttled inconclusive, not no-data or an outage of the pool', () => {
    const random = createRandom(17_0004);
    const { assessment, evidence } = verdictOf(run(random, 3, [2 / 3, 1 / 3], 1));
    expect(evidence.answered).toBe(0);
    expect(assessment.status).toBe('inconclusive');
    expect(assessment.sampleSize).toBe(0);
  });
});
