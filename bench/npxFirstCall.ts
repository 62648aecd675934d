import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findAppRoot } from './findAppRoot';

/**
 * Wall time of `--help` started three ways from the project folder (issue 16: "npx apim-pool-verifier --help took
 * 24 s on the first call"):
 * - `node bin/apim-pool-verifier.js --help`: the CLI alone;
 * - `npx apim-pool-verifier --help` with an empty npm cache (`npm_config_cache` = a new temporary folder, so
 *   ~/.npm is untouched): npm finds the bin in the project's own package.json, installs the project into
 *   `<cache>/_npx/<hash>` as a directory package and runs its `prepare` script (tools/prepare.js), then runs
 *   the bin. That is the first call;
 * - the same `npx` again: npm reuses the npx folder, reads the project's dependency tree and the npx tree
 *   (which follows the link into the project's node_modules), and runs the bin.
 * And, for the figure before prepare built only when sources changed: a full `tsc -p tsconfig.json` (into a
 * temporary outDir), which is what `prepare` ran on every first call until then.
 * `scripts/buildIfChanged.js` runs first so dist/ is up to date, as after `npm ci` or `npm start`.
 */
export async function run(): Promise<string> {
  const root = findAppRoot(__dirname);
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const timed = (command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; outcome: string } => {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: root, env, encoding: 'utf8', timeout: 180_000, shell: process.platform === 'win32' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const printedHelp = result.stdout.startsWith('Usage: apim-pool-verifier');
    return { seconds, outcome: `exit ${result.status ?? result.signal ?? '?'}${command === process.execPath && args[0] !== 'bin/apim-pool-verifier.js' ? '' : printedHelp ? ', help printed' : ', no help printed'}` };
  };
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'buildIfChanged.js')], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  if (built.status !== 0) throw new Error(`scripts/buildIfChanged.js failed (exit ${built.status})`);

  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'npx-first-call-'));
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'npx-first-call-tsc-'));
  try {
    const npmEnv = { ...process.env, npm_config_cache: cache, npm_config_update_notifier: 'false', npm_config_yes: 'true' };
    const rows: Array<[string, { seconds: number; outcome: string }]> = [
      ['`node bin/apim-pool-verifier.js --help`', timed(process.execPath, ['bin/apim-pool-verifier.js', '--help'])],
      ['`npx apim-pool-verifier --help`, first call (empty npm cache; runs `prepare`)', timed(npx, ['apim-pool-verifier', '--help'], npmEnv)],
      ['`npx apim-pool-verifier --help`, second call', timed(npx, ['apim-pool-verifier', '--help'], npmEnv)],
    ];
    const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    rows.push(['full `tsc -p tsconfig.json` (what `prepare` ran on every first `npx` call before)', timed(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', outDir])]);
    return [
      '## npxFirstCall',
      '',
      "`--help` started three ways from the project folder, one run each (`bench/npxFirstCall.ts`). The first `npx` call installs the project into npm's npx cache and runs its `prepare` script, which now builds only when a source changed since the last build.",
      '',
      '| command | wall time (s) | outcome |',
      '|---|---|---|',
      ...rows.map(([label, r]) => `| ${label} | ${r.seconds.toFixed(1)} | ${r.outcome} |`),
    ].join('\n');
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}
