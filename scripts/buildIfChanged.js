#!/usr/bin/env node
'use strict';
/**
 * `npm start`'s build step: compiles only when a source changed since the last build, and then incrementally
 * (tsc --incremental keeps dist/.tsbuildinfo), so a start after no change costs a directory walk, not a full
 * compile (16–19 s on two shared cores). Compares modification times of src/, test/, bench/, tsconfig.json and
 * package.json with the build info file; any newer file, or no build info at all, runs tsc.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const buildInfo = path.join(root, 'dist', '.tsbuildinfo');
/** Bounded walk: a source tree larger than this is rebuilt rather than scanned. */
const MAX_FILES = 20_000;

function newestMtimeMs(entries) {
  let newest = 0;
  let seen = 0;
  const stack = [...entries];
  while (stack.length > 0) {
    const entry = stack.pop();
    let stat;
    try {
      stat = fs.statSync(entry);
    } catch {
      continue;
    }
    seen += 1;
    if (seen > MAX_FILES) return Number.POSITIVE_INFINITY;
    if (stat.isDirectory()) {
      // A deleted file changes its directory's mtime: a removed source also triggers a build.
      newest = Math.max(newest, stat.mtimeMs);
      for (const name of fs.readdirSync(entry)) if (name !== 'node_modules' && !name.startsWith('.')) stack.push(path.join(entry, name));
    } else if (/\.(ts|json)$/.test(entry)) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  }
  return newest;
}

function needsBuild() {
  let builtAt;
  try {
    builtAt = fs.statSync(buildInfo).mtimeMs;
  } catch {
    return 'no previous build';
  }
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'local', 'start.js'))) return 'dist/ is incomplete';
  const sources = ['src', 'test', 'bench', 'tsconfig.json', 'package.json'].map((p) => path.join(root, p));
  return newestMtimeMs(sources) > builtAt ? 'sources changed' : null;
}

const reason = needsBuild();
if (reason === null) {
  console.log('Build is up to date (no source changed since the last build).');
  process.exit(0);
}
console.log(`Building (${reason}; incremental)…`);
const tsc = require.resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', buildInfo], { cwd: root, stdio: 'inherit' });
if (result.status === 0) {
  // tsc leaves the build info untouched when nothing needed emitting; touch it so the next start skips the walk's build.
  const now = new Date();
  fs.utimesSync(buildInfo, now, now);
}
process.exit(result.status ?? 1);
