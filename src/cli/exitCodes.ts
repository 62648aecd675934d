import type { PoolHealth } from '../lib/alerts/types';
import type { VerdictStatus } from '../lib/stats/types';

/** The CLI's exit codes: a public contract for pipelines. */
export const ExitCode = {
  /** `ok`: every share shown within ± tolerance of its weight (docs/statistics.md), or the command succeeded. */
  Ok: 0,
  /** Weight drift, failover, or an outage (every probe failed). */
  Drift: 1,
  /** Inconclusive (neither shown nor drift; the headline says how many more answers ok needs) or no data. */
  Inconclusive: 2,
  /** Invalid input or configuration (flags, pool definition, settings). */
  InvalidInput: 3,
  /** Could not run: gateway unreachable, 401/403 (from the gateway, or a backend refusing the gateway's identity), ARM failure. */
  CouldNotRun: 4,
} as const;

/** Maps a verdict to its exit code. */
export function exitCodeOfStatus(status: VerdictStatus): number {
  switch (status) {
    case 'ok':
      return ExitCode.Ok;
    case 'drift':
      return ExitCode.Drift;
    case 'inconclusive':
    case 'no-data':
      return ExitCode.Inconclusive;
  }
}

/**
 * The exit code of a `verify` report: what alerting would say first (an outage, or a backend refusing the gateway's
 * identity, outranks the weight verdict), then the verdict of the run.
 */
export function exitCodeOfReport(report: { readonly status: VerdictStatus; readonly health?: PoolHealth | undefined }): number {
  if (report.health === 'auth-failure') return ExitCode.CouldNotRun;
  if (report.health === 'outage' || report.health === 'failover' || report.health === 'drift') return ExitCode.Drift;
  return exitCodeOfStatus(report.status);
}
