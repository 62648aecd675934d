#!/usr/bin/env node
'use strict';
/**
 * `npm run package`: stages the deployable Function App in .artifacts/package and zips it as
 * .artifacts/apim-pool-verifier.zip (run after `npm run build`; the npm script does both).
 *
 * In the package: dist/src (without the local runner, a dev tool), host.json, a package.json without scripts or
 * dev dependencies, the example definitions, dist/schema (the definition's JSON Schema, which the validator
 * compiles at run time) and a `pools/` folder if there is one (POOL_DEFINITION_PATH points into the package), and the production dependencies copied from node_modules (`npm ls --omit=dev`).
 * Left out: tests, fixtures and TLS keys, bench, TypeScript sources, docs, infra, tools, and better-sqlite3 — a
 * native addon built on this machine for this Node version, which would not load on the Functions image (Node 22);
 * the azure environment never loads it. The embedded emulator stays in dist/src: src/app/defaultServices.ts
 * imports it statically.
 *
 * Usage: node tools/package.js [--out <dir>]   (default .artifacts)
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
/** Production dependencies that must not be shipped (see above). */
const EXCLUDED_DEPENDENCIES = new Set(['better-sqlite3']);
/** Folders of dist/src that are dev tools, not part of the Function App. */
const EXCLUDED_DIST = new Set(['local']);

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(3);
}

/** Absolute paths of the production packages to ship, walking `npm ls` and skipping excluded subtrees. */
function productionPackagePaths() {
  let tree;
  try {
    const json = execFileSync('npm', ['ls', '--omit=dev', '--all', '--json', '--long'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    tree = JSON.parse(json);
  } catch (error) {
    // `npm ls` exits 1 on extraneous/invalid packages but still prints the tree.
    if (error && typeof error.stdout === 'string' && error.stdout.trim().startsWith('{')) tree = JSON.parse(error.stdout);
    else fail(`npm ls failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  // npm prints a package once in full and elsewhere as a stub without its dependencies ("deduped"): index every
  // occurrence by name@version first, then walk the union of their dependencies.
  const pathOf = new Map(); // name@version -> installed path
  const childrenOf = new Map(); // name@version -> [[name, name@version]]
  const seen = new Set();
  const keyOf = (name, node) => `${name}@${node.version}`;
  const index = (node, key) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      const childKey = keyOf(name, child);
      if (child.path && !pathOf.has(childKey)) pathOf.set(childKey, child.path);
      if (!childrenOf.has(key)) childrenOf.set(key, new Map());
      childrenOf.get(key).set(childKey, name);
      if (!seen.has(child)) {
        seen.add(child);
        index(child, childKey);
      }
    }
  };
  index(tree, '<root>');
  const needed = new Set(); // name@version reachable without passing through an excluded package
  const queue = ['<root>'];
  while (queue.length > 0) {
    const key = queue.shift();
    for (const [childKey, name] of childrenOf.get(key) ?? []) {
      if (EXCLUDED_DEPENDENCIES.has(name) || needed.has(childKey)) continue;
      needed.add(childKey);
      queue.push(childKey);
    }
  }
  const paths = [];
  for (const key of needed) {
    const found = pathOf.get(key);
    if (!found) fail(`no installed path for ${key}: run npm ci first`);
    paths.push(found);
  }
  return paths.sort();
}

function copyTree(from, to, filter = () => true) {
  fs.cpSync(from, to, { recursive: true, dereference: true, filter });
}

function main() {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir = path.resolve(ROOT, outIndex >= 0 ? args[outIndex + 1] ?? fail('--out needs a folder') : '.artifacts');
  const stage = path.join(outDir, 'package');
  const zipFile = path.join(outDir, 'apim-pool-verifier.zip');
  const distSrc = path.join(ROOT, 'dist', 'src');
  if (!fs.existsSync(path.join(distSrc, 'functions'))) fail('dist/src/functions is missing: run npm run build first');

  fs.rmSync(stage, { recursive: true, force: true });
  fs.rmSync(zipFile, { force: true });
  fs.mkdirSync(stage, { recursive: true });

  // The definition's JSON Schema, imported by the validator: tsc emits it to dist/schema.
  copyTree(path.join(ROOT, 'dist', 'schema'), path.join(stage, 'dist', 'schema'));
  for (const entry of fs.readdirSync(distSrc)) {
    if (!EXCLUDED_DIST.has(entry)) copyTree(path.join(distSrc, entry), path.join(stage, 'dist', 'src', entry));
  }
  fs.copyFileSync(path.join(ROOT, 'host.json'), path.join(stage, 'host.json'));
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const dependencies = Object.fromEntries(
    Object.entries(manifest.dependencies ?? {}).filter(([name]) => !EXCLUDED_DEPENDENCIES.has(name)),
  );
  const shipped = {
    name: manifest.name,
    version: manifest.version,
    description: manifest.description,
    license: manifest.license,
    private: true,
    main: manifest.main,
    // Node 22 is the deployment target (Flex Consumption); the repository itself still runs on Node 20.
    engines: { node: '>=22' },
    dependencies,
  };
  fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  for (const folder of ['examples', 'pools']) {
    const from = path.join(ROOT, folder);
    if (fs.existsSync(from)) copyTree(from, path.join(stage, folder), (file) => fs.statSync(file).isDirectory() || file.endsWith('.json'));
  }

  const modules = path.join(ROOT, 'node_modules');
  for (const packagePath of productionPackagePaths()) {
    const relative = path.relative(modules, packagePath);
    if (relative.startsWith('..')) fail(`dependency outside node_modules: ${packagePath}`);
    // Nested node_modules are listed (and copied) as packages of their own.
    copyTree(packagePath, path.join(stage, 'node_modules', relative), (file) => !path.relative(packagePath, file).split(path.sep).includes('node_modules'));
  }

  try {
    execFileSync('zip', ['-q', '-r', '-X', zipFile, '.'], { cwd: stage, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    fail(`zip failed (is the zip command installed?): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const size = fs.statSync(zipFile).size;
  console.log(`package: ${path.relative(ROOT, zipFile)} (${(size / 1024 / 1024).toFixed(1)} MB); staged in ${path.relative(ROOT, stage)}`);
}

main();
