import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DefinitionError, loadFleetDefinitions, MAX_FLEET_DEFINITIONS, resolvePool, serviceOf } from '../../../src/lib/pool';
import { minimalDocument } from './fixtures';

/** A valid definition of pool `name`, with optional top-level sections. */
function definition(name: string, extra: Record<string, unknown> = {}): string {
  const document = minimalDocument();
  document.pool.name = name;
  return JSON.stringify({ ...document, ...extra });
}

async function loadError(path: string): Promise<DefinitionError> {
  const error = await loadFleetDefinitions(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DefinitionError);
  return error as DefinitionError;
}

describe('loadFleetDefinitions', () => {
  let root: string;
  let count = 0;
  const folder = (files: Record<string, string> = {}): string => {
    count += 1;
    const path = join(root, `fleet-${count}`);
    mkdirSync(path);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
    return path;
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'fleet-definitions-'));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('gives one entry for a file', async () => {
    const path = join(folder({ 'one.json': definition('pool-a') }), 'one.json');
    const entries = await loadFleetDefinitions(path);
    expect(entries.map((entry) => [entry.file, entry.pool.name])).toEqual([[path, 'pool-a']]);
  });

  it('reports a missing path as a missing definition file', async () => {
    const error = await loadError(join(root, 'absent'));
    expect(error.message).toContain('does not exist (ENOENT)');
  });

  it('reads every *.json directly in a folder, sorted by name, skipping dotfiles, other extensions and sub-folders', async () => {
    const path = folder({
      'b.json': definition('pool-b'),
      'a.JSON': definition('pool-a'),
      '.hidden.json': '{ not even json',
      'notes.txt': 'not a definition',
      'c.json.bak': '{',
    });
    mkdirSync(join(path, 'nested'));
    writeFileSync(join(path, 'nested', 'd.json'), definition('pool-d'));
    const entries = await loadFleetDefinitions(path);
    expect(entries.map((entry) => [entry.file, entry.pool.name])).toEqual([
      [join(path, 'a.JSON'), 'pool-a'],
      [join(path, 'b.json'), 'pool-b'],
    ]);
  });

  it('refuses an empty folder and one with only other files', async () => {
    for (const path of [folder(), folder({ '.x.json': definition('x'), 'readme.md': '#' })]) {
      const error = await loadError(path);
      expect(error.issues).toEqual([{ path: '$', message: expect.stringContaining(`the pool definition folder ${path} holds no pool definition`) }]);
    }
  });

  it(`refuses more than ${MAX_FLEET_DEFINITIONS} definitions without reading them`, async () => {
    const files: Record<string, string> = {};
    // Invalid content: were they read, the error would list JSON problems instead of the count.
    for (let index = 0; index <= MAX_FLEET_DEFINITIONS; index += 1) files[`pool-${index}.json`] = '{';
    const error = await loadError(folder(files));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.message).toContain(`holds more than ${MAX_FLEET_DEFINITIONS} pool definitions`);
  });

  it(`accepts exactly ${MAX_FLEET_DEFINITIONS} definitions`, async () => {
    const files: Record<string, string> = {};
    for (let index = 0; index < MAX_FLEET_DEFINITIONS; index += 1) files[`pool-${String(index).padStart(3, '0')}.json`] = definition(`pool-${index}`);
    const entries = await loadFleetDefinitions(folder(files));
    expect(entries).toHaveLength(MAX_FLEET_DEFINITIONS);
    expect(entries[199]?.pool.name).toBe('pool-199');
  });

  it('reports the problems of every file at once, each prefixed by its file', async () => {
    const badWeight = minimalDocument();
    (badWeight.pool.backends[1] as Record<string, unknown>)['weight'] = 'one';
    const path = folder({
      'a-good.json': definition('pool-a'),
      'b-weight.json': JSON.stringify(badWeight),
      'c-syntax.json': '{ "pool": ',
      'd-empty.json': '',
      'e-key.json': definition('pool-e', { gateway: { subscriptionKeySetting: 'abcdef0123456789abcdef0123456789' } }),
    });
    const error = await loadError(path);
    expect(error.source).toBe(path);
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'b-weight.json: $.pool.backends[1].weight',
      'c-syntax.json: $',
      'd-empty.json: $',
      'e-key.json: $.gateway.subscriptionKeySetting',
    ]);
    expect(error.message).toMatch(/^.*: 4 problems in the pool definitions of the folder \(5 files\)\n {2}b-weight\.json: \$\.pool\.backends\[1\]\.weight: must be an integer/);
    expect(error.message).not.toContain('abcdef0123456789');
  });

  it('refuses a *.json that is a directory, a named pipe or a dangling symlink, and still reads the others', async () => {
    const path = folder({ 'a.json': definition('pool-a'), 'z.json': '{' });
    mkdirSync(join(path, 'dir.json'));
    execFileSync('mkfifo', [join(path, 'fifo.json')]);
    symlinkSync(join(path, 'absent-target'), join(path, 'link.json'));
    const error = await loadError(path);
    expect(error.issues.map((issue) => [issue.path, issue.message.replace(/^the pool definition file \S+ /, '')])).toEqual([
      ['dir.json: $', 'is not a regular file (a directory); give the path of a JSON file'],
      ['fifo.json: $', 'is not a regular file (a named pipe); give the path of a JSON file'],
      ['link.json: $', 'does not exist (ENOENT)'],
      ['z.json: $', expect.stringContaining('is not valid JSON')],
    ]);
  });

  it('does not walk a symlink that points back at its own folder', async () => {
    const path = folder({ 'a.json': definition('pool-a') });
    symlinkSync(path, join(path, 'loop.json'));
    const error = await loadError(path);
    expect(error.issues).toEqual([{ path: 'loop.json: $', message: expect.stringContaining('is not a regular file (a directory)') }]);
  });

  // Root reads any file, so the permission cannot be tested there: skipped (and shown as skipped), not passed.
  (process.getuid?.() === 0 ? it.skip : it)('reports an unreadable file by name', async () => {
    const path = folder({ 'a.json': definition('pool-a'), 'locked.json': definition('pool-l') });
    chmodSync(join(path, 'locked.json'), 0o000);
    const error = await loadError(path);
    expect(error.issues).toEqual([{ path: 'locked.json: $', message: expect.stringContaining('cannot be read (permission denied) (EACCES)') }]);
  });

  it('refuses two pools of one name in one APIM service, naming both files and the service', async () => {
    const apim = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rg', serviceName: 'APIM-X' };
    const path = folder({
      'first.json': definition('gpt-4o-pool', { apim }),
      'second.json': definition('GPT-4O-POOL', { gateway: { url: 'https://apim-x.azure-api.net/openai' } }),
      'other-service.json': definition('gpt-4o-pool', { gateway: { url: 'https://apim-y.azure-api.net/openai' } }),
    });
    const error = await loadError(path);
    expect(error.issues).toEqual([
      {
        path: 'second.json: $.pool.name',
        message: expect.stringMatching(/^"GPT-4O-POOL" is also the pool of first\.json in APIM service "apim-x"; pool names are unique per APIM service/),
      },
    ]);
  });

  it('accepts one pool name in two APIM services', async () => {
    const path = folder({
      'x.json': definition('gpt-4o-pool', { gateway: { url: 'https://apim-x.azure-api.net/openai' } }),
      'y.json': definition('gpt-4o-pool', { gateway: { url: 'https://apim-y.azure-api.net/openai' } }),
    });
    expect((await loadFleetDefinitions(path)).map((entry) => serviceOf(entry.pool))).toEqual(['apim-x', 'apim-y']);
  });
});

describe('serviceOf', () => {
  const pool = (extra: Record<string, unknown>) => resolvePool({ ...minimalDocument(), ...extra });

  it('is the declared APIM service name, lower-cased, even when the apim section is incomplete', () => {
    expect(serviceOf(pool({ apim: { serviceName: 'Apim-Prod' }, gateway: { url: 'https://other.azure-api.net/openai' } }))).toBe('apim-prod');
  });

  it('is the service name of a default *.azure-api.net gateway host', () => {
    expect(serviceOf(pool({ gateway: { url: 'https://APIM-Dev.azure-api.net/openai' } }))).toBe('apim-dev');
  });

  it('is the host (with a non-default port) of any other gateway', () => {
    expect(serviceOf(pool({ gateway: { url: 'https://api.contoso.com/openai' } }))).toBe('api.contoso.com');
    expect(serviceOf(pool({ gateway: { url: 'http://127.0.0.1:8080/openai' } }))).toBe('127.0.0.1:8080');
  });

  it('is "default" when the definition says nothing about its service', () => {
    expect(serviceOf(pool({}))).toBe('default');
  });
});
