import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { DefinitionError } from './DefinitionError';
import { loadPoolDefinition } from './loadPoolDefinition';
import type { DefinitionIssue, ResolvedPool } from './types';

/** One pool of a fleet and the file it was read from. */
export interface FleetEntry {
  readonly file: string;
  readonly pool: ResolvedPool;
}

/** Most definition files a folder may hold: Azure Monitor's standard availability tests allow 100 per resource; twice that. */
export const MAX_FLEET_DEFINITIONS = 200;
/** Most entries of any kind read from a folder before it is refused (bounds the listing of a wrong folder). */
const MAX_FOLDER_ENTRIES = 10_000;
/** Most problems listed in one error: 200 broken files could otherwise produce a message of many megabytes. */
const MAX_LISTED_ISSUES = 1_000;

/**
 * Reads the pool definitions at `path`: a file gives one entry (read by `loadPoolDefinition`); a folder gives one
 * entry per `*.json` file directly in it (not in sub-folders; names starting with `.` and other extensions are
 * skipped), sorted by file name.
 *
 * Every file of a folder is read and validated before anything is thrown, so one error lists the problems of every
 * file, each issue path prefixed by its file name (`gpt-4o.json: $.pool.backends[0].url`). Pool names must be unique
 * per APIM service (`serviceOf`), ignoring case: a collision names both files and the service.
 *
 * Bounded: at most {@link MAX_FLEET_DEFINITIONS} definitions, {@link MAX_FOLDER_ENTRIES} folder entries, 1 MiB per
 * file (`loadPoolDefinition`); a `*.json` that is not a regular file (a directory, a named pipe) is refused without
 * being opened for a blocking read; nothing is followed into sub-folders, so a symlink loop is never walked.
 *
 * @throws DefinitionError for a missing or unreadable path, an empty folder, a folder with too many definitions, and
 *   every problem of every file.
 */
export async function loadFleetDefinitions(path: string): Promise<readonly FleetEntry[]> {
  const isFolder = await stat(path).then(
    (stats) => stats.isDirectory(),
    // A missing or unreadable path is reported by loadPoolDefinition, in the words of a single file.
    () => false,
  );
  if (!isFolder) {
    return [{ file: path, pool: await loadPoolDefinition(path) }];
  }
  const names = await definitionFileNames(path);
  const issues: DefinitionIssue[] = [];
  const entries: FleetEntry[] = [];
  for (const name of names) {
    const file = join(path, name);
    try {
      entries.push({ file, pool: await loadPoolDefinition(file) });
    } catch (error) {
      if (!(error instanceof DefinitionError)) {
        throw error;
      }
      issues.push(...error.issues.map((issue) => ({ path: `${name}: ${issue.path}`, message: issue.message })));
    }
  }
  issues.push(...poolCollisions(entries, (file) => relativeName(path, file)));
  if (issues.length > 0) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES);
    if (issues.length > listed.length) {
      listed.push({ path, message: `and ${issues.length - listed.length} more problems not listed; fix the ones above first` });
    }
    throw new DefinitionError(listed, path, { subject: `the pool definitions of the folder (${names.length} files)` });
  }
  return entries;
}

/** The `*.json` names directly in `folder`, sorted; refuses an empty folder and one with too many. */
async function definitionFileNames(folder: string): Promise<string[]> {
  const names: string[] = [];
  let scanned = 0;
  try {
    // opendir streams the listing: a huge folder is refused after MAX_FOLDER_ENTRIES without being read whole.
    const dir = await opendir(folder);
    for await (const entry of dir) {
      scanned += 1;
      if (scanned > MAX_FOLDER_ENTRIES) {
        throw folderError(folder, `holds more than ${MAX_FOLDER_ENTRIES} entries; keep only the pool definitions (*.json) in it`);
      }
      if (!entry.name.startsWith('.') && entry.name.toLowerCase().endsWith('.json')) {
        names.push(entry.name);
        if (names.length > MAX_FLEET_DEFINITIONS) {
          throw folderError(folder, `holds more than ${MAX_FLEET_DEFINITIONS} pool definitions (*.json); one app watches at most ${MAX_FLEET_DEFINITIONS} pools, so split the fleet across apps`);
        }
      }
    }
  } catch (error) {
    if (error instanceof DefinitionError) {
      throw error;
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    throw folderError(folder, `cannot be listed${code !== undefined ? ` (${code})` : ''}`, error);
  }
  if (names.length === 0) {
    throw folderError(folder, 'holds no pool definition (*.json files directly in it; names starting with "." are skipped)');
  }
  // Code-unit order: the same on every machine and locale.
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function folderError(folder: string, message: string, cause?: unknown): DefinitionError {
  return new DefinitionError([{ path: '$', message: `the pool definition folder ${folder} ${message}` }], folder, cause !== undefined ? { cause } : {});
}

/**
 * Pools of one name in one APIM service (`serviceOf`; names compared ignoring case after Unicode NFC): one issue per
 * repeat, at `<file>: $.pool.name`, naming the first file and the service. Empty when every pool is unique.
 *
 * @param labelOf how a file is named in the issues (default: its path as given).
 */
export function poolCollisions(entries: readonly FleetEntry[], labelOf: (file: string) => string = (file) => file): DefinitionIssue[] {
  const seen = new Map<string, FleetEntry>();
  const issues: DefinitionIssue[] = [];
  for (const entry of entries) {
    const service = serviceOf(entry.pool);
    const key = `${service}\u0000${entry.pool.name.normalize('NFC').toLowerCase()}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, entry);
      continue;
    }
    issues.push({
      path: `${labelOf(entry.file)}: $.pool.name`,
      message:
        `"${entry.pool.name}" is also the pool of ${labelOf(first.file)} in APIM service "${service}"; ` +
        'pool names are unique per APIM service (ignoring case): rename one, or give each its own apim.serviceName or gateway.url',
    });
  }
  return issues;
}

function relativeName(folder: string, file: string): string {
  return file.startsWith(folder) ? file.slice(folder.length).replace(/^[/\\]+/, '') : file;
}

/** Default APIM domain of a service: `<service-name>.azure-api.net`. */
const APIM_DEFAULT_HOST = /^([a-z][a-z0-9-]*)\.azure-api\.net$/;

/**
 * The APIM service a pool belongs to, lower-cased (service names are DNS labels, globally unique and
 * case-insensitive): `apim.serviceName` when the definition declares it; else the host of `gateway.url` (the
 * service name for the default domain `<name>.azure-api.net`, else host and non-default port, e.g. a custom domain
 * or the emulator's `127.0.0.1:8080`);
 * else `default` (the app's APIM_GATEWAY_URL).
 */
export function serviceOf(pool: ResolvedPool): string {
  const declared = pool.apim?.serviceName ?? pool.apimDeclared?.serviceName;
  if (declared !== undefined) {
    return declared.toLowerCase();
  }
  if (pool.gateway.url !== undefined) {
    // `host` keeps a non-default port: two emulators on one loopback address are two services.
    const host = new URL(pool.gateway.url).host.toLowerCase();
    return APIM_DEFAULT_HOST.exec(host)?.[1] ?? host;
  }
  return 'default';
}
