import { doctorWithAzureIdentity } from '../lib/doctor/doctorWithAzureIdentity';
import type { DoctorCheck } from '../lib/doctor/runDoctor';
import { ExitCode } from './exitCodes';

/** Checks whose failure means bad settings (exit 3) rather than a connection that does not work (exit 4). */
const SETTINGS_CHECKS = new Set(['Key Vault references', 'required settings', 'settings', 'pool definition']);

/** The checklist as the CLI prints it: one line per check, the fix indented under a failed one. */
export function formatDoctorChecks(checks: readonly DoctorCheck[]): string {
  const lines: string[] = [];
  for (const check of checks) {
    const mark = check.status === 'ok' ? 'ok     ' : check.status === 'failed' ? 'FAILED ' : 'skipped';
    lines.push(`${mark} ${check.name}: ${check.detail}`);
    if (check.fix !== undefined && check.status !== 'ok') lines.push(`        fix: ${check.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

/** 0 when nothing failed; 3 when a settings check failed; else 4 (a connection or permission failed). */
export function doctorExitCode(checks: readonly DoctorCheck[]): number {
  const failed = checks.filter((check) => check.status === 'failed');
  if (failed.length === 0) return ExitCode.Ok;
  return failed.some((check) => SETTINGS_CHECKS.has(check.name)) ? ExitCode.InvalidInput : ExitCode.CouldNotRun;
}

/**
 * `apim-pool-verifier doctor [--json]`: runs the checks of {@link runDoctor} with the settings in the environment
 * and the caller's Azure identity (DefaultAzureCredential: az login locally; AZURE_CLIENT_ID pins a user-assigned
 * managed identity).
 */
export async function doctorCommand(json: boolean, io: { stdout(text: string): void; env: Readonly<Record<string, string | undefined>> }): Promise<number> {
  const checks = await doctorWithAzureIdentity(io.env);
  io.stdout(json ? `${JSON.stringify({ checks }, null, 2)}\n` : formatDoctorChecks(checks));
  return doctorExitCode(checks);
}
