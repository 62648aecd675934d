import { decodeDefinitionText } from './decodeDefinitionText';
import { DefinitionError } from './DefinitionError';
import { parseJsonText } from './parseJsonText';
import { resolvePool } from './resolvePool';
import type { ResolvedPool } from './types';

/**
 * Parses and validates a pool definition file's content.
 *
 * File-level problems are reported before anything else, each as one issue at path `$` (or at the
 * duplicated member): more than 1 MiB (refused before decoding), not valid UTF-8, empty, not JSON
 * (with line and column), trailing text after the JSON value, duplicate keys. A UTF-8 byte-order mark is
 * tolerated. A number JavaScript cannot hold exactly (`1e-400`, `1e400`, `100.000000000000000001`) is refused
 * at its path. Then every rule of `resolvePool` applies, all problems reported at once.
 *
 * @param input the file's bytes (preferred: lets the UTF-8 check run) or its text.
 * @param source file name used in the error message.
 * @throws DefinitionError naming every problem with its JSON path.
 */
export function parsePoolDefinition(input: string | Uint8Array, source?: string): ResolvedPool {
  const decoded = decodeDefinitionText(input);
  if (!decoded.ok) {
    throw new DefinitionError([decoded.issue], source);
  }
  if (decoded.text.trim() === '') {
    throw new DefinitionError([{ path: '$', message: 'the file is empty (expected a JSON object with a "pool" member)' }], source);
  }
  const parsed = parseJsonText(decoded.text);
  if (!parsed.ok) {
    const where = `at line ${parsed.line}, column ${parsed.column}`;
    throw new DefinitionError(
      [
        {
          path: parsed.path,
          // A duplicate key is located by its member path; everything else is a syntax error of the file.
          message: parsed.path === '$' ? `is not valid JSON: ${parsed.message} ${where}` : `${parsed.message} ${where}`,
        },
      ],
      source,
    );
  }
  return resolvePool(
    parsed.value,
    source,
    parsed.inexactNumbers.map((number) => ({
      path: number.path,
      message: `must be an exact whole number, got ${number.text} (JavaScript would read it as ${String(Number(number.text))}); write an integer within the allowed range`,
    })),
  );
}
