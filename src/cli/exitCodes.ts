import type { VerdictStatus } from '../lib/stats/types';

/** The CLI's exit codes: a public contract for pipelines. */
export const ExitCode = {
  /** Consistent with the weights, or the command succeeded. */
  Ok: 0,
  /** Weight drift or failover. */
  Drift: 1,
  /** Inconclusive (too few answers) or no data. */
  Inconclusive: 2,
  /** Invalid input or configuration (flags, pool definition, settings). */
  InvalidInput: 3,
  /** Could not run: gateway unreachable, 401/403, ARM failure. */
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
