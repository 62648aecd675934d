import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

import { describeFileKind } from '../util/describeFileKind';
import { MAX_DEFINITION_BYTES } from './decodeDefinitionText';
import { DefinitionError } from './DefinitionError';
import { parsePoolDefinition } from './parsePoolDefinition';
import type { ResolvedPool } from './types';

/**
 * Reads, parses and validates the pool definition file at `path`.
 *
 * The size is checked from the file's metadata before its content is read, so a huge file is refused without
 * loading it; anything but a regular file (a directory, a named pipe, a device) is refused without waiting on it.
 *
 * @throws DefinitionError for a missing or unreadable file (one issue at `$` naming the file and the
 *   system error code, with the system error as `cause`) and for every problem `parsePoolDefinition` finds.
 */
export async function loadPoolDefinition(path: string): Promise<ResolvedPool> {
  let bytes: Uint8Array;
  try {
    // O_NONBLOCK: opening a named pipe (FIFO) for reading would otherwise wait forever for a writer. The check
    // that follows refuses it (and devices, directories, sockets) on the opened handle, so nothing can swap the
    // file between the check and the read.
    const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) {
        throw new DefinitionError(
          [{ path: '$', message: `the pool definition file ${path} is not a regular file (${describeFileKind(stats)}); give the path of a JSON file` }],
          path,
        );
      }
      if (stats.size > MAX_DEFINITION_BYTES) {
        throw new DefinitionError(
          [
            {
              path: '$',
              message: `is ${stats.size} bytes; a pool definition may be at most ${MAX_DEFINITION_BYTES} bytes (1 MiB)`,
            },
          ],
          path,
        );
      }
      // Read at most one byte past the limit, in case the file grew since stat.
      const buffer = Buffer.alloc(Math.min(stats.size, MAX_DEFINITION_BYTES) + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) {
          break;
        }
        length += bytesRead;
      }
      bytes = buffer.subarray(0, length);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof DefinitionError) {
      throw error;
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const reason =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)' : 'cannot be read';
    throw new DefinitionError(
      [{ path: '$', message: `the pool definition file ${path} ${reason}${code !== undefined ? ` (${code})` : ''}` }],
      path,
      { cause: error },
    );
  }
  return parsePoolDefinition(bytes, path);
}

