import type { Report } from '../lib/report/types';
import { ExitCode } from './exitCodes';

/** The outcome of `verify` for one pool of several. */
export interface FleetPoolResult {
  readonly pool: string;
  /** `serviceOf(pool)`: the APIM service the pool belongs to. */
  readonly service: string;
  /** The definition file the pool was read from. */
  readonly file: string;
  readonly exitCode: number;
  readonly report: Report;
}

/** `verify --json` with several pools. */
export interface FleetVerifyJson {
  readonly schemaVersion: 1;
  readonly pools: readonly FleetPoolResult[];
  /** The worst of the pools' exit codes (`worstExitCode`), the process's exit code. */
  readonly exitCode: number;
}

/**
 * Exit codes from worst to best. 3 (invalid input) first: a wrong flag, definition or setting makes every other
 * result suspect and is the one thing the user must fix. 4 (could not run) next: a pool that could not be checked
 * may hide anything, including drift, so not knowing outranks a known problem. 1 (drift, failover, outage) is a
 * finding that needs action; 2 (inconclusive, no data) is only "not decided yet"; 0 is ok.
 */
const WORST_FIRST: readonly number[] = [ExitCode.InvalidInput, ExitCode.CouldNotRun, ExitCode.Drift, ExitCode.Inconclusive, ExitCode.Ok];

/** The worst exit code of several (see `WORST_FIRST`); 0 for none. An unknown code counts as "could not run". */
export function worstExitCode(codes: readonly number[]): number {
  let worst: number = ExitCode.Ok;
  for (const code of codes) {
    const known = WORST_FIRST.includes(code) ? code : ExitCode.CouldNotRun;
    if (WORST_FIRST.indexOf(known) < WORST_FIRST.indexOf(worst)) worst = known;
  }
  return worst;
}

/** What an exit code says, in the words of the CLI's help. */
function statusWord(result: FleetPoolResult): string {
  return result.exitCode === ExitCode.CouldNotRun ? 'could-not-run' : result.report.status;
}

/**
 * One line per pool: status, pool, service, health, identified answers out of probes, file. Values come from the
 * definition (names checked by its schema) and the report; nothing secret is in either.
 */
export function formatFleetLine(result: FleetPoolResult): string {
  const answers = result.report.backends.reduce((sum, backend) => sum + backend.observedCount, 0);
  return [
    statusWord(result).toUpperCase().padEnd(13),
    result.pool,
    `service ${result.service}`,
    `health ${result.report.health ?? 'unknown'}`,
    `answers ${answers}/${result.report.total}`,
    `exit ${result.exitCode}`,
    `(${result.file})`,
  ].join('  ');
}

/** The closing line: how many pools ended how, and the exit code of the worst. */
export function formatFleetSummary(results: readonly FleetPoolResult[]): string {
  const counts = new Map<string, number>();
  for (const result of results) counts.set(statusWord(result), (counts.get(statusWord(result)) ?? 0) + 1);
  const parts = [...counts].map(([status, count]) => `${count} ${status}`);
  return `${results.length} pools: ${parts.join(', ')}; exit code ${worstExitCode(results.map((result) => result.exitCode))} (the worst).`;
}

/** The `--json` object for several pools. */
export function toFleetJson(results: readonly FleetPoolResult[]): FleetVerifyJson {
  return { schemaVersion: 1, pools: results, exitCode: worstExitCode(results.map((result) => result.exitCode)) };
}
