import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DefinitionError, MAX_DEFINITION_BYTES, parsePoolDefinition } from '../../../src/lib/pool';
import type { DefinitionIssue } from '../../../src/lib/pool';
import { minimalDocument, readFixture, readManifest } from './fixtures';

function issuesOf(input: string | Uint8Array, source?: string): DefinitionIssue[] {
  try {
    parsePoolDefinition(input, source);
  } catch (error) {
    expect(error).toBeInstanceOf(DefinitionError);
    return [...(error as DefinitionError).issues];
  }
  throw new Error('expected the input to be rejected');
}

describe('parsePoolDefinition', () => {
  describe.each(readManifest().map((fixture) => [fixture.file, fixture] as const))('fixture %s', (file, fixture) => {
    if (fixture.issues.length === 0) {
      it('is accepted', () => {
        expect(parsePoolDefinition(readFixture(file), file).backends.length).toBeGreaterThan(0);
      });
    } else {
      it('is rejected with exactly the listed paths', () => {
        const issues = issuesOf(readFixture(file), file);
        expect(issues.map((issue) => issue.path)).toEqual(fixture.issues);
        expect(issues.map((issue) => issue.message).join('\n')).toContain(fixture.message ?? '');
      });
    }
  });

  it('accepts the shipped lab example with its $schema key and 2:1 shares', () => {
    const path = join(__dirname, '..', '..', '..', 'examples', 'lab-pool.json');
    const pool = parsePoolDefinition(readFileSync(path), path);
    expect(pool.backends.map((backend) => [backend.name, backend.expectedShare])).toEqual([
      ['openai-instance1', 2 / 3],
      ['openai-instance2', 1 / 3],
    ]);
    expect(pool.backends[0]?.circuitBreaker?.failureCondition.statusCodeRanges).toEqual([{ min: 429, max: 429 }]);
  });

  it('accepts text as well as bytes, with or without a byte-order mark', () => {
    const text = JSON.stringify(minimalDocument());
    expect(parsePoolDefinition(text).name).toBe('openai-instance-backend-pool');
    expect(parsePoolDefinition(`\uFEFF${text}`).name).toBe('openai-instance-backend-pool');
    expect(parsePoolDefinition(Buffer.from(`\uFEFF${text}`, 'utf8')).name).toBe('openai-instance-backend-pool');
  });

  it('reports the line and column of a syntax error', () => {
    const [issue] = issuesOf('{\n  "pool": {\n    "name": "p",,\n  }\n}', 'bad.json');
    expect(issue).toEqual({
      path: '$',
      message: 'is not valid JSON: expected a quoted member name but found "," at line 3, column 17',
    });
  });

  it('names the offset of the first byte that is not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('{"pool":{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}}')]);
    expect(issuesOf(bytes)[0]?.message).toMatch(/not valid UTF-8 \(first bad byte at offset 20\)/);
  });

  it('refuses input over 1 MiB before parsing it', () => {
    const oversized = `{"pool":${' '.repeat(MAX_DEFINITION_BYTES)}}`;
    const issues = issuesOf(Buffer.from(oversized));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/at most 1048576 bytes/);
    expect(issuesOf(oversized)[0]?.message).toMatch(/at most 1048576 bytes/);
  });

  it('counts the 1 MiB limit in UTF-8 bytes for text input', () => {
    const document = JSON.stringify(minimalDocument());
    // Each "é" is 2 bytes in UTF-8 but 1 UTF-16 unit: the text is under the limit in characters, over in bytes.
    const padded = `${document.slice(0, -1)},"pad":"${'é'.repeat(MAX_DEFINITION_BYTES / 2)}"}`;
    expect(padded.length).toBeLessThan(MAX_DEFINITION_BYTES + 100);
    expect(issuesOf(padded)[0]?.message).toMatch(/at most 1048576 bytes/);
  });

  it('refuses deeply nested input without overflowing the stack', () => {
    const issues = issuesOf(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(issues[0]?.message).toMatch(/nesting deeper than 64 levels/);
  });

  it('rejects duplicate keys that JSON.parse would silently merge', () => {
    const [issue] = issuesOf('{"pool":{"name":"p","backends":[{"name":"a","weight":1,"weight":2}]}}');
    expect(issue?.path).toBe('$.pool.backends[0].weight');
    expect(issue?.message).toMatch(/duplicate key "weight"/);
  });

  it.each([
    ['a lone minus', '{"pool": -}'],
    ['a leading zero', '{"pool": 01}'],
    ['a bad escape', '{"pool": "\\x"}'],
    ['an unterminated string', '{"pool": "abc'],
    ['a control character in a string', '{"pool": "a\u0001b"}'],
    ['NaN', '{"pool": NaN}'],
    ['a comment', '// pool\n{}'],
  ])('reports %s as invalid JSON', (_label, text) => {
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/^is not valid JSON: .+ at line \d+, column \d+$/);
  });

  it('decodes escapes in strings the way JSON.parse does', () => {
    const document = minimalDocument();
    document.pool.name = 'pool-\u00e9-\ud83d\ude00';
    const text = JSON.stringify(document).replace('pool-\u00e9', 'pool-\\u00e9').replace(/"\//g, '"\\/');
    expect(parsePoolDefinition(text).name).toBe(document.pool.name);
  });
});
