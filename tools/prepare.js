#!/usr/bin/env node
'use strict';
/**
 * npm `prepare` (runs after `npm ci` / `npm install`): builds dist/ with TypeScript when it is installed. With
 * `npm ci --omit=dev` (a production install, e.g. on a build agent that deploys a package) TypeScript is a dev
 * dependency and absent: the build is skipped with one line instead of failing the install.
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc', { paths: [process.cwd()] });
} catch {
  console.log('prepare: TypeScript is not installed (production install); dist/ is not rebuilt.');
  process.exit(0);
}
const result = spawnSync(process.execPath, [tsc, '-p', path.join(process.cwd(), 'tsconfig.json')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
