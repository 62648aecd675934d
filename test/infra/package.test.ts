import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run package` (tools/package.js) produces the zip a Function App runs from: listed here, entry by entry.
 * Needs dist/ (`npm test` builds it first) and the zip/unzip commands (without them: one line, skipped).
 */
const ROOT = join(__dirname, '..', '..');
const hasZip = ['zip', 'unzip'].every((command) => spawnSync(command, ['-v'], { stdio: 'ignore' }).status === 0);
if (!hasZip) {
  // eslint-disable-next-line no-console
  console.warn('SKIPPED test/infra/package.test.ts: the zip and unzip commands are not installed (apt-get install -y zip unzip).');
}
const describeWithZip = hasZip ? describe : describe.skip;

describeWithZip('the deployable package (npm run package)', () => {
  let out: string;
  let entries: string[];
  let packaged: { dependencies: Record<string, string>; devDependencies?: unknown; scripts?: unknown; main: string; engines: { node: string } };

  beforeAll(() => {
    expect(existsSync(join(ROOT, 'dist', 'src', 'functions'))).toBe(true); // npm test runs tsc first
    out = mkdtempSync(join(tmpdir(), 'package-'));
    const run = spawnSync(process.execPath, [join(ROOT, 'tools', 'package.js'), '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const list = spawnSync('unzip', ['-Z1', join(out, 'apim-pool-verifier.zip')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(list.status).toBe(0);
    entries = list.stdout.split('\n').filter((line) => line.length > 0);
    packaged = JSON.parse(readFileSync(join(out, 'package', 'package.json'), 'utf8')) as typeof packaged;
  }, 320_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('holds the compiled functions, host.json, package.json and the example definitions at its root', () => {
    const functions = readdirSync(join(ROOT, 'dist', 'src', 'functions')).filter((name) => name.endsWith('.js'));
    expect(functions.length).toBeGreaterThan(0);
    for (const name of functions) expect(entries).toContain(`dist/src/functions/${name}`);
    expect(entries).toEqual(expect.arrayContaining(['host.json', 'package.json', 'examples/lab-pool.json', 'dist/schema/pool-definition.schema.json']));
  });

  it('holds every production dependency except the native SQLite addon', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of Object.keys(manifest.dependencies).filter((name) => name !== 'better-sqlite3')) {
      expect({ name, present: entries.includes(`node_modules/${name}/package.json`) }).toEqual({ name, present: true });
    }
    expect(entries.filter((entry) => entry.startsWith('node_modules/better-sqlite3/'))).toEqual([]);
    expect(entries.filter((entry) => entry.endsWith('.node'))).toEqual([]);
  });

  it('leaves out tests, fixtures, keys, bench, sources, dev tools and dev dependencies', () => {
    const forbidden = [
      /^dist\/test\//,
      /^dist\/bench\//,
      /^dist\/src\/local\//,
      /^(test|bench|src|docs|infra|tools|\.tools|\.ci)\//,
      /\.pem$/,
      /(^|\/)key\.pem$/,
      /^local\.settings/,
      /^node_modules\/(jest|typescript|ts-jest|azurite|playwright-core|autocannon|@types\/jest|@kusto)\//,
      /^(?!node_modules\/).*\.ts$/,
    ];
    for (const pattern of forbidden) {
      expect({ pattern: String(pattern), entries: entries.filter((entry) => pattern.test(entry)).slice(0, 5) }).toEqual({ pattern: String(pattern), entries: [] });
    }
  });

  it('ships a package.json without scripts or dev dependencies, for Node 22', () => {
    expect(packaged.scripts).toBeUndefined();
    expect(packaged.devDependencies).toBeUndefined();
    expect(packaged.dependencies).not.toHaveProperty('better-sqlite3');
    expect(packaged.main).toBe('dist/src/functions/*.js');
    expect(packaged.engines.node).toBe('>=22');
  });

  it('loads every function module from the package alone (the SQLite addon only when constructed)', () => {
    // The app's modules may import better-sqlite3 for the local environment; a stub proves nothing else is missing.
    const stub = join(out, 'stub-sqlite.js');
    writeFileSync(
      stub,
      "const M=require('node:module');const load=M._load;M._load=function(r,...a){if(r==='better-sqlite3')return function Database(){throw new Error('not in the package')};return load.call(this,r,...a)};",
    );
    const script = "for (const f of require('fs').readdirSync('dist/src/functions').filter((f) => f.endsWith('.js'))) require('./dist/src/functions/' + f); console.log('loaded')";
    const run = spawnSync(process.execPath, ['-r', stub, '-e', script], {
      cwd: join(out, 'package'),
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH, NODE_PATH: '' },
    });
    expect({ status: run.status, stdout: run.stdout.trim().split('\n').pop(), stderr: run.stderr.split('\n').filter((l) => /Error/.test(l)) }).toEqual({
      status: 0,
      stdout: 'loaded',
      stderr: [],
    });
  });
});

describe('npm prepare (tools/prepare.js)', () => {
  it('skips the build with one line where TypeScript is not installed (npm ci --omit=dev)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prepare-'));
    try {
      mkdirSync(join(dir, 'tools'));
      copyFileSync(join(ROOT, 'tools', 'prepare.js'), join(dir, 'tools', 'prepare.js'));
      const run = spawnSync(process.execPath, [join(dir, 'tools', 'prepare.js')], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect({ status: run.status, stdout: run.stdout.trim() }).toEqual({
        status: 0,
        stdout: 'prepare: TypeScript is not installed (production install); dist/ is not rebuilt.',
      });
      expect(existsSync(join(dir, 'dist'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
