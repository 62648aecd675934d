/**
 * Errors the probe runner throws. Expected probe outcomes (429, timeout, reset …) are records, never errors;
 * these are for misuse (bad options) and for a sink that cannot keep records.
 */

/** An option of `runProbes` is invalid. Names the field; never carries the subscription key. */
export class ProbeOptionsError extends Error {
  override readonly name = 'ProbeOptionsError';
  /** The option at fault, e.g. `concurrency`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`runProbes option "${field}": ${message}`);
    this.field = field;
  }
}

/** The probe sink failed to record a probe; the run stopped starting probes and let in-flight ones finish. */
export class ProbeSinkError extends Error {
  override readonly name = 'ProbeSinkError';
  readonly runId: string;
  readonly probeIndex: number;

  constructor(runId: string, probeIndex: number, options: { cause: Error }) {
    super(`Recording probe ${probeIndex} of run ${runId} failed: ${options.cause.message}`, options);
    this.runId = runId;
    this.probeIndex = probeIndex;
  }
}
