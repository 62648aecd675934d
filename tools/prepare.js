#!/usr/bin/env node
'use strict';
/**
 * npm `prepare` (runs after `npm ci` / `npm install`, and whenever npm installs this folder as a `directory`
 * package — which is what the first `npx apim-pool-verifier …` in this folder does, see below): builds dist/ when
 * TypeScript is installed. With `npm ci --omit=dev` (a production install, e.g. on a build agent that deploys a
 * package) TypeScript is a dev dependency and absent: the build is skipped with one line instead of failing.
 *
 * The build is scripts/buildIfChanged.js (`npm start`'s step): a full incremental build when there is no previous
 * build (a fresh clone), nothing but a directory walk when no source changed since the last one. Why that matters:
 * npm 11's `npx <bin>` in a project whose own package.json declares that bin installs the project into the npx
 * cache (~/.npm/_npx/<hash of the path>) as a `directory` package, and npm runs `prepare` for it. With an
 * unconditional `tsc` that first call took 12–24 s (12.3 s of 13.4 s in `npm --timing`); see bench/results.md.
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

try {
  require.resolve('typescript/bin/tsc', { paths: [process.cwd()] });
} catch {
  console.log('prepare: TypeScript is not installed (production install); dist/ is not rebuilt.');
  process.exit(0);
}
const result = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'buildIfChanged.js')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
