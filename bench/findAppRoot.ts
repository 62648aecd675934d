import fs from 'node:fs';
import path from 'node:path';

/** The directory holding package.json, from `bench/` (ts sources) or `dist/bench/` (compiled). */
export function findAppRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${start}`);
    dir = parent;
  }
  return dir;
}
