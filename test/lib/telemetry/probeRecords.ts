import type { ProbeRecord } from '../../../src/lib/probe/types';

/** A small deterministic generator (mulberry32) so record sets are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Probe records of one run with a realistic mix: ~2:1 answers, some 429s, a timeout, a network error and an
 * answer with an unknown region. `startMs` is the first probe's start; probes are `spacingInMs` apart.
 */
export function makeRun(runId: string, count: number, startMs: number, seed: number, spacingInMs = 1000): ProbeRecord[] {
  const random = seededRandom(seed);
  const records: ProbeRecord[] = [];
  for (let i = 0; i < count; i += 1) {
    const roll = random();
    const startedAtMs = startMs + i * spacingInMs;
    const latencyInMs = Math.round(200 + random() * 800);
    const base = { runId, probeIndex: i, startedAtMs, latencyInMs };
    if (roll < 0.58) {
      records.push({ ...base, kind: 'ok', status: 200, backend: 'openai-instance1', identifierValue: 'West US', totalTokens: 20, errorCode: null });
    } else if (roll < 0.86) {
      records.push({ ...base, kind: 'ok', status: 200, backend: 'openai-instance2', identifierValue: 'East US', totalTokens: 21, errorCode: null });
    } else if (roll < 0.92) {
      records.push({ ...base, kind: 'http', status: 429, backend: 'openai-instance2', identifierValue: 'East US', totalTokens: null, errorCode: '429' });
    } else if (roll < 0.94) {
      records.push({ ...base, kind: 'http', status: 503, backend: null, identifierValue: null, totalTokens: null, errorCode: '503' });
    } else if (roll < 0.96) {
      records.push({ ...base, kind: 'timeout', status: null, backend: null, identifierValue: null, totalTokens: null, errorCode: 'timeout' });
    } else if (roll < 0.98) {
      records.push({ ...base, kind: 'network', status: null, backend: null, identifierValue: null, totalTokens: null, errorCode: 'ECONNRESET' });
    } else {
      records.push({ ...base, kind: 'ok', status: 200, backend: null, identifierValue: 'North Europe', totalTokens: 19, errorCode: null });
    }
  }
  return records;
}
