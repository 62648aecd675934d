import { mkdtempSync, rmSync, writeFileSync, mkdirSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DefinitionError, loadPoolDefinition } from '../../../src/lib/pool';
import { minimalDocument } from './fixtures';

describe('loadPoolDefinition', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pool-definition-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads and resolves a valid file', async () => {
    const path = join(dir, 'pool.json');
    writeFileSync(path, JSON.stringify(minimalDocument()));
    const pool = await loadPoolDefinition(path);
    expect(pool.backends.map((backend) => backend.expectedShare)).toEqual([2 / 3, 1 / 3]);
  });

  it('names the missing file in an issue at $', async () => {
    const path = join(dir, 'absent.json');
    const error = await loadPoolDefinition(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DefinitionError);
    const definitionError = error as DefinitionError;
    expect(definitionError.source).toBe(path);
    expect(definitionError.issues).toEqual([
      { path: '$', message: `the pool definition file ${path} does not exist (ENOENT)` },
    ]);
    expect((definitionError.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('refuses a directory', async () => {
    const path = join(dir, 'folder.json');
    mkdirSync(path);
    await expect(loadPoolDefinition(path)).rejects.toThrow(/is not a regular file/);
  });

  it('refuses a file over 1 MiB from its size, before parsing', async () => {
    const path = join(dir, 'huge.json');
    writeFileSync(path, '');
    // A sparse 2 MiB file: if its content were parsed the error would be about JSON (NUL bytes), not size.
    truncateSync(path, 2 * 1024 * 1024);
    await expect(loadPoolDefinition(path)).rejects.toThrow(/is 2097152 bytes; a pool definition may be at most 1048576 bytes/);
  });

  it('reports the file name with every validation problem', async () => {
    const path = join(dir, 'bad.json');
    const document = minimalDocument();
    (document.pool.backends[1] as Record<string, unknown>)['weight'] = 'one';
    writeFileSync(path, JSON.stringify(document));
    await expect(loadPoolDefinition(path)).rejects.toThrow(`${path}: 1 problem in the pool definition\n  $.pool.backends[1].weight`);
  });
});
