import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Repository root (for `examples/`, fixtures). */
export const APP_ROOT = path.resolve(__dirname, '..', '..');

/** The reference lab's definition file (2:1, West US / East US). */
export const LAB_POOL_PATH = path.join(APP_ROOT, 'examples', 'lab-pool.json');

/**
 * Records every unhandled promise rejection while a test file runs. Install in `beforeAll`, assert `list()` is
 * empty in a final test and uninstall in `afterAll`.
 */
export interface RejectionRecorder {
  readonly list: () => readonly unknown[];
  readonly uninstall: () => void;
}

export function recordUnhandledRejections(): RejectionRecorder {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', listener);
  return { list: () => seen, uninstall: () => process.off('unhandledRejection', listener) };
}

/** A fresh temporary directory, removed by the returned `remove()`. */
export function makeTempDir(prefix: string): { readonly dir: string; readonly write: (name: string, content: string | Buffer) => string; readonly remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    write: (name, content) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content);
      return file;
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** A valid member of a pool definition, for building bad documents around it. */
export function member(index: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `openai-instance${index}`,
    url: `https://aoai-instance${index}.openai.azure.com/openai`,
    region: `Region ${index}`,
    priority: 1,
    weight: 1,
    ...overrides,
  };
}

/** A definition document with the given members. */
export function definition(backends: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { pool: { name: 'corpus-pool', backends }, ...extra };
}
