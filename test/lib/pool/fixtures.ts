import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Folder of the pool definition fixtures. */
export const DEFINITIONS_DIR = join(__dirname, '..', '..', 'fixtures', 'definitions');

/** One entry of `test/fixtures/definitions/manifest.json`. */
export interface DefinitionFixture {
  readonly file: string;
  readonly issues: readonly string[];
  readonly schema: 'accepts' | 'rejects' | 'same-paths' | 'not-parsed';
  readonly message?: string;
}

export function readManifest(): readonly DefinitionFixture[] {
  const manifest = JSON.parse(readFileSync(join(DEFINITIONS_DIR, 'manifest.json'), 'utf8')) as {
    fixtures: DefinitionFixture[];
  };
  return manifest.fixtures;
}

export function readFixture(file: string): Buffer {
  return readFileSync(join(DEFINITIONS_DIR, file));
}

/** The minimal document of the issue: two backends, priority 1, weights 2:1, regions West US / East US. */
export function minimalDocument(): {
  pool: { name: string; backends: Record<string, unknown>[] };
  [key: string]: unknown;
} {
  return {
    pool: {
      name: 'openai-instance-backend-pool',
      backends: [
        {
          name: 'openai-instance1',
          url: 'https://aoai-nov26-instance1.openai.azure.com/openai',
          region: 'West US',
          priority: 1,
          weight: 2,
        },
        {
          name: 'openai-instance2',
          url: 'https://aoai-nov26-instance2.openai.azure.com/openai',
          region: 'East US',
          priority: 1,
          weight: 1,
        },
      ],
    },
  };
}
