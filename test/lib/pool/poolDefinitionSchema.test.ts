import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv from 'ajv';
import type { ErrorObject } from 'ajv';

import { jsonPath } from '../../../src/lib/pool/jsonPath';
import { parseJsonText } from '../../../src/lib/pool/parseJsonText';
import { minimalDocument, readFixture, readManifest } from './fixtures';

const schemaPath = join(__dirname, '..', '..', '..', 'schema', 'pool-definition.schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
// The schema as an editor or another tool sees it: a plain draft-07 validator that ignores the verifier's
// annotation (patternErrorMessage) and its format name (http-url). The verifier compiles the same file in strict
// mode (src/lib/pool/validatePoolDocument.ts), so this checks that the file stays usable outside the verifier.
const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false }).compile(schema);

/** The JSON paths an ajv error points at, in the verifier's notation, including the offending key. */
function pathsOf(errors: readonly ErrorObject[]): Set<string> {
  const paths = new Set<string>();
  for (const error of errors) {
    let path = '$';
    for (const token of error.instancePath.split('/').slice(1)) {
      const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
      path = jsonPath(path, /^\d+$/.test(key) ? Number(key) : key);
    }
    paths.add(path);
    const params = error.params as { additionalProperty?: string; missingProperty?: string };
    const member = params.additionalProperty ?? params.missingProperty;
    if (member !== undefined) {
      paths.add(jsonPath(path, member));
    }
  }
  return paths;
}

function documentOf(file: string): unknown {
  const text = new TextDecoder('utf-8').decode(readFixture(file));
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    throw new Error(`${file} does not parse: ${parsed.message}`);
  }
  return parsed.value;
}

describe('schema/pool-definition.schema.json', () => {
  it('compiles in a plain draft-07 validator, as editors use it', () => {
    expect(typeof validate).toBe('function');
  });

  it('accepts the minimal document of the issue', () => {
    expect(validate(minimalDocument())).toBe(true);
  });

  it('accepts the shipped lab example, $schema key included', () => {
    const lab = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'examples', 'lab-pool.json'), 'utf8')) as unknown;
    expect(validate(lab)).toBe(true);
  });

  const parsed = readManifest().filter((fixture) => fixture.schema !== 'not-parsed');

  it.each(parsed.map((fixture) => [fixture.file, fixture] as const))('judges %s alone as the manifest says (cross-field rules are code)', (file, fixture) => {
    const valid = validate(documentOf(file));
    const errors = validate.errors ?? [];
    if (fixture.schema === 'accepts') {
      expect(errors).toEqual([]);
      expect(valid).toBe(true);
      return;
    }
    expect(valid).toBe(false);
    if (fixture.schema === 'same-paths') {
      const reported = pathsOf(errors);
      for (const path of fixture.issues) {
        expect([...reported]).toContain(path);
      }
    }
  });

  it('states in its description which rules only the verifier checks', () => {
    expect(String(schema['description'])).toMatch(/unique ignoring case/);
    expect(String(schema['description'])).toMatch(/same|share one/);
  });
});
