import type { ProbeRecord } from '../probe/types';
import { BoundedTally, toUnidentifiedEvidence } from '../util/boundedCounts';
import type { BackendEvidence, EvidenceBin, TimeWindow, WindowEvidence } from '../store/types';

/**
 * Builds window evidence straight from probe records held in memory (the run just finished, or a CLI run).
 * Used where the store or a telemetry backend would lag behind (App Insights ingestion takes minutes).
 * Pure: same records in, same evidence out. Latency percentiles are exact (nearest-rank).
 */
export function evidenceFromRecords(
  records: readonly ProbeRecord[],
  backendNames: readonly string[],
  window: TimeWindow,
  binInMs: number,
  runId?: string,
): WindowEvidence {
  const inWindow = records.filter((r) => r.startedAtMs >= window.fromMs && r.startedAtMs < window.toMs);
  const answeredBy = new Map<string, number>(backendNames.map((name) => [name, 0]));
  const errorsBy = new Map<string, Record<string, number>>(backendNames.map((name) => [name, {}]));
  const latenciesBy = new Map<string, number[]>(backendNames.map((name) => [name, []]));
  const unidentifiedValues = new BoundedTally();
  const errorsByStatus: Record<string, number> = {};
  const bins = new Map<number, { answered: Record<string, number>; unidentified: number; failed: number }>();
  let answered = 0;
  let unidentified = 0;
  let timeout = 0;
  let network = 0;
  let tokensUsed = 0;
  const throttled = { count: 0, lastRetryAfterSeconds: null as number | null, newestMs: Number.NEGATIVE_INFINITY, remainingTokens: null as number | null, remainingAtMs: Number.NEGATIVE_INFINITY };

  for (const record of inWindow) {
    if (record.remainingTokens !== undefined && record.remainingTokens !== null && record.startedAtMs >= throttled.remainingAtMs) {
      throttled.remainingTokens = record.remainingTokens;
      throttled.remainingAtMs = record.startedAtMs;
    }
    if (record.kind === 'gateway-throttled') {
      // The gateway refused the verifier before choosing a backend: not a failure of the pool (see gatewayThrottle.ts).
      throttled.count += 1;
      if (record.startedAtMs >= throttled.newestMs) {
        throttled.newestMs = record.startedAtMs;
        throttled.lastRetryAfterSeconds = record.retryAfterSeconds ?? null;
      }
      continue;
    }
    const binStart = window.fromMs + Math.floor((record.startedAtMs - window.fromMs) / binInMs) * binInMs;
    const bin = bins.get(binStart) ?? { answered: {}, unidentified: 0, failed: 0 };
    bins.set(binStart, bin);
    tokensUsed += record.totalTokens ?? 0;
    const known = record.backend !== null && answeredBy.has(record.backend) ? record.backend : null;
    if (known !== null) latenciesBy.get(known)?.push(record.latencyInMs);
    if (record.kind === 'ok') {
      answered += 1;
      if (known !== null) {
        answeredBy.set(known, (answeredBy.get(known) ?? 0) + 1);
        bin.answered[known] = (bin.answered[known] ?? 0) + 1;
      } else {
        unidentified += 1;
        bin.unidentified += 1;
        unidentifiedValues.add(record.identifierValue ?? '');
      }
      continue;
    }
    bin.failed += 1;
    if (record.kind === 'timeout') timeout += 1;
    else if (record.kind === 'network') network += 1;
    else {
      const status = String(record.status ?? record.errorCode ?? 'unknown');
      errorsByStatus[status] = (errorsByStatus[status] ?? 0) + 1;
      if (known !== null) {
        const perBackend = errorsBy.get(known) ?? {};
        perBackend[status] = (perBackend[status] ?? 0) + 1;
        errorsBy.set(known, perBackend);
      }
    }
  }

  const backends: BackendEvidence[] = backendNames.map((name) => {
    const sorted = [...(latenciesBy.get(name) ?? [])].sort((a, b) => a - b);
    return {
      backend: name,
      answered: answeredBy.get(name) ?? 0,
      errorsByStatus: errorsBy.get(name) ?? {},
      latencyP50InMs: nearestRank(sorted, 0.5),
      latencyP95InMs: nearestRank(sorted, 0.95),
    };
  });
  const binList: EvidenceBin[] = [...bins.entries()]
    .sort(([a], [b]) => a - b)
    .map(([startMs, bin]) => ({ startMs, answered: bin.answered, unidentified: bin.unidentified, failed: bin.failed }));

  return {
    window,
    source: 'probes',
    total: inWindow.length,
    answered,
    unidentified: toUnidentifiedEvidence(unidentified, unidentifiedValues.result()),
    backends,
    errors: { byStatus: errorsByStatus, timeout, network },
    bins: binList,
    binInMs,
    runs:
      runId === undefined
        ? []
        : [{ runId, startedAtMs: inWindow[0]?.startedAtMs ?? window.fromMs, answered: Object.fromEntries(answeredBy) }],
    incompleteRuns: 0,
    tokensUsed,
    degraded: undefined,
    ...(throttled.count > 0 || throttled.remainingTokens !== null
      ? { gatewayThrottled: { count: throttled.count, lastRetryAfterSeconds: throttled.lastRetryAfterSeconds, remainingTokens: throttled.remainingTokens } }
      : {}),
  };
}

function nearestRank(sorted: readonly number[], quantile: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1));
  return sorted[index] ?? null;
}
