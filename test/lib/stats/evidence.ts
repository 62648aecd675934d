import type { WindowEvidence } from '../../../src/lib/store/types';

/** Builds window evidence by hand: identified 2xx answers per backend, optional per-backend errors. */
export function evidenceOf(
  answered: Readonly<Record<string, number>>,
  extra: {
    errorsByBackend?: Readonly<Record<string, Readonly<Record<string, number>>>>;
    unidentified?: Readonly<Record<string, number>>;
    timeout?: number;
    network?: number;
    lost?: number;
  } = {},
): WindowEvidence {
  const names = new Set([...Object.keys(answered), ...Object.keys(extra.errorsByBackend ?? {})]);
  const identified = Object.values(answered).reduce((s, c) => s + c, 0);
  const unidentifiedCount = Object.values(extra.unidentified ?? {}).reduce((s, c) => s + c, 0);
  const byStatus: Record<string, number> = {};
  for (const errors of Object.values(extra.errorsByBackend ?? {})) {
    for (const [status, count] of Object.entries(errors)) byStatus[status] = (byStatus[status] ?? 0) + count;
  }
  const failed = Object.values(byStatus).reduce((s, c) => s + c, 0) + (extra.timeout ?? 0) + (extra.network ?? 0);
  return {
    window: { fromMs: 0, toMs: 3_600_000 },
    source: 'probes',
    total: identified + unidentifiedCount + failed + (extra.lost ?? 0),
    answered: identified + unidentifiedCount,
    unidentified: { count: unidentifiedCount, values: extra.unidentified ?? {} },
    backends: [...names].map((backend) => ({
      backend,
      answered: answered[backend] ?? 0,
      errorsByStatus: extra.errorsByBackend?.[backend] ?? {},
      latencyP50InMs: null,
      latencyP95InMs: null,
    })),
    errors: { byStatus, timeout: extra.timeout ?? 0, network: extra.network ?? 0 },
    bins: [],
    binInMs: 300_000,
    runs: [],
    incompleteRuns: 0,
    tokensUsed: 0,
    degraded: undefined,
  };
}
