import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { exportTemplate } from '../../src/lib/deploy/exportTemplate';
import { loadPoolDefinition } from '../../src/lib/pool';
import type { ResolvedPool } from '../../src/lib/pool/types';
import { makeBackend, makeLabPool } from '../lib/deploy/poolFixtures';
import { describeWithBicep, diagnosticsOf, runBicep } from './bicep';

/**
 * The Bicep that users copy out of the project, compiled and linted by the real compiler: what
 * `apim-pool-verifier export --format bicep` writes for every valid example definition (and for hostile strings),
 * and the alert rules of docs/alerts.md. Zero diagnostics, and the compiled Bicep deploys exactly what the ARM
 * export deploys.
 */

const ROOT = join(__dirname, '..', '..');
const DEFINITIONS = [
  ...readdirSync(join(ROOT, 'examples')).map((name) => join('examples', name)),
  ...readdirSync(join(ROOT, 'test/fixtures/definitions/valid')).map((name) => join('test/fixtures/definitions/valid', name)),
].filter((path) => path.endsWith('.json'));

const HOSTILE_DESCRIPTION = "[leading bracket] it's ${not} interpolated \\ and\n'quoted' too";

/** Strings that a template writer gets wrong: quotes, interpolation, backslashes, newlines, a leading `[`. */
function hostilePool(description = HOSTILE_DESCRIPTION): ResolvedPool {
  const lab = makeLabPool({ description });
  return {
    ...lab,
    name: 'pool.with-dots_and-dashes',
    backends: [
      makeBackend({ name: "b-1", url: 'https://aoai-b1.openai.azure.com/openai', weight: 3, expectedShare: 0.75 }),
      makeBackend({ name: 'b.2', url: 'https://aoai-b2.openai.azure.com/openai', weight: 1, expectedShare: 0.25 }),
    ],
  };
}

interface CompiledResource {
  type: string;
  name: string;
  properties: Record<string, unknown>;
}

const describeBicep = describeWithBicep('test/infra/exportedBicep.test.ts');

describeBicep('Bicep that users copy, compiled by the Bicep CLI', () => {
  let dir: string;
  const sources = new Map<string, ResolvedPool>();
  let buildDiagnostics: string[];
  let lintDiagnostics: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'exported-bicep-'));
    const src = join(dir, 'src');
    mkdirSync(src);
    for (const path of DEFINITIONS) {
      const pool = await loadPoolDefinition(join(ROOT, path));
      const name = `${basename(path, '.json')}${path.startsWith('examples') ? '-example' : ''}`;
      sources.set(name, pool);
      writeFileSync(join(src, `${name}.bicep`), exportTemplate(pool, 'bicep'));
    }
    sources.set('hostile', hostilePool());
    writeFileSync(join(src, 'hostile.bicep'), exportTemplate(hostilePool(), 'bicep'));
    sources.set('hostile-bracketed', hostilePool('[looks like an expression]'));
    writeFileSync(join(src, 'hostile-bracketed.bicep'), exportTemplate(hostilePool('[looks like an expression]'), 'bicep'));
    copyFileSync(join(ROOT, 'docs/alerts/alert-rules.bicep'), join(src, 'alert-rules.bicep'));
    const [build, lint] = await Promise.all([
      runBicep(['build', '--pattern', `${src}/*.bicep`, '--outdir', join(dir, 'out')]),
      runBicep(['lint', '--pattern', `${src}/*.bicep`]),
    ]);
    expect(build.status).toBe(0);
    buildDiagnostics = diagnosticsOf(build);
    lintDiagnostics = diagnosticsOf(lint);
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const compiled = (name: string): CompiledResource[] =>
    (JSON.parse(readFileSync(join(dir, 'out', `${name}.json`), 'utf8')) as { resources: CompiledResource[] }).resources;

  it('exports every valid example definition (and the hostile one)', () => {
    expect(DEFINITIONS.length).toBeGreaterThanOrEqual(9);
    expect(sources.size).toBe(DEFINITIONS.length + 2);
  });

  it('builds and lints every exported template and the alert rules with zero errors and zero warnings', () => {
    expect(buildDiagnostics).toEqual([]);
    expect(lintDiagnostics).toEqual([]);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual([...[...sources.keys()].map((name) => `${name}.json`), 'alert-rules.json'].sort());
  });

  it('deploys from Bicep exactly the backends and the pool that the ARM export deploys', () => {
    for (const [name, pool] of sources) {
      const fromBicep = compiled(name);
      const fromArm = (JSON.parse(exportTemplate(pool, 'arm')) as { resources: CompiledResource[] }).resources;
      expect({ name, count: fromBicep.length }).toEqual({ name, count: pool.backends.length + 1 });
      fromArm.forEach((armResource, index) => {
        const bicepResource = fromBicep[index]!;
        expect(bicepResource.type).toBe(armResource.type);
        const withoutMemberIds = (properties: Record<string, unknown>): unknown =>
          JSON.parse(JSON.stringify(properties, (key, value: unknown) => (key === 'id' ? undefined : value)));
        expect({ name, index, properties: withoutMemberIds(bicepResource.properties) }).toEqual({
          name,
          index,
          properties: withoutMemberIds(armResource.properties),
        });
      });
    }
  });

  it('keeps hostile strings intact through the compiler', () => {
    const poolOf = (name: string): CompiledResource => compiled(name).find((r) => String(r.name).includes('pool.with-dots_and-dashes'))!;
    // In ARM JSON a literal that starts with "[" and ends with "]" is written "[[…]" (else it is read as an
    // expression); one that does not end with "]" is written as it is.
    expect(poolOf('hostile').properties.description).toBe(HOSTILE_DESCRIPTION);
    expect(poolOf('hostile-bracketed').properties.description).toBe('[[looks like an expression]');
  });
});
