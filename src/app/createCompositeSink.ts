import type { ProbeSink } from '../lib/store/types';

/**
 * Writes every probe to several sinks (the local store for run bookkeeping, App Insights for Azure Monitor).
 * The first sink is authoritative: its failures propagate; a later sink's failure is reported to `onError`
 * and never loses the record in the first.
 */
export function createCompositeSink(sinks: readonly ProbeSink[], onError: (error: unknown) => void = () => undefined): ProbeSink {
  const [primary, ...others] = sinks;
  if (!primary) throw new Error('createCompositeSink needs at least one sink.');
  const fanOut = async (call: (sink: ProbeSink) => Promise<void>): Promise<void> => {
    await call(primary);
    await Promise.all(others.map((sink) => call(sink).catch(onError)));
  };
  return {
    beginRun: (run) => fanOut((sink) => sink.beginRun(run)),
    recordProbe: (record) => fanOut((sink) => sink.recordProbe(record)),
    finishRun: (summary) => fanOut((sink) => sink.finishRun(summary)),
    recordVerdict: (verdict) => fanOut((sink) => sink.recordVerdict(verdict)),
    flush: () => fanOut((sink) => sink.flush()),
  };
}
