import type { ProbeRecord } from '../../../src/lib/probe/types';
import { createRandom } from '../../../src/lib/stats/random';

/** A seeded uniform stream (mulberry32, shared with the statistics simulations). */
export const seededRandom = (seed: number): (() => number) => createRandom(seed).next;

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
