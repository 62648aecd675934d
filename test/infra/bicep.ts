import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The real Bicep compiler, restored from NuGet into .tools/ by tools/restore-tools.js (run before `npm test`).
 * Without it (no dotnet, no package feed) the Bicep suites skip and say so in one line, like the browser test.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const restore = require('../../tools/restore-tools.js') as { bicepPath(): { version: string; path: string } };

const ROOT = join(__dirname, '..', '..');
const { version: BICEP_VERSION, path: RESTORED_PATH } = restore.bicepPath();
/** BICEP_PATH overrides the restored binary (e.g. a system-wide `bicep`). */
const BICEP = process.env.BICEP_PATH ?? RESTORED_PATH;

/** True when the compiler is there. */
export const hasBicep = existsSync(BICEP);

/**
 * `describe` when the compiler is there, else `describe.skip` after printing one line that names the suite and
 * the command that brings the compiler.
 */
export function describeWithBicep(suite: string): jest.Describe {
  if (!hasBicep) {
    // eslint-disable-next-line no-console
    console.warn(
      `SKIPPED ${suite}: Bicep CLI ${BICEP_VERSION} not found at ${BICEP} (run: node tools/restore-tools.js bicep — needs dotnet and the NuGet feed).`,
    );
    return describe.skip;
  }
  return describe;
}

/** What one run of the compiler printed. */
export interface BicepRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bicep <args>` from the repository root; bounded by a timeout so a hung compiler fails the test. */
export function runBicep(args: readonly string[], timeoutInMs = 240_000): Promise<BicepRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(BICEP, args, { cwd: ROOT, env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutInMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/**
 * Every line a build (with --outfile/--outdir) or lint run printed: the compiler prints nothing else than
 * diagnostics (errors, warnings, linter findings), so a clean file prints nothing at all.
 */
export function diagnosticsOf(run: BicepRun): string[] {
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

export { BICEP_VERSION };
