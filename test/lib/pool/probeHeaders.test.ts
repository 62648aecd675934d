import { DefinitionError, resolvePool } from '../../../src/lib/pool';
import type { DefinitionIssue } from '../../../src/lib/pool';
import { parsePoolDefinition } from '../../../src/lib/pool/parsePoolDefinition';
import { minimalDocument } from './fixtures';

function withProbe(probe: unknown): unknown {
  const document = minimalDocument();
  document['probe'] = probe;
  return document;
}

/** The issues resolvePool reports for a document (fails the test when it accepts it). */
function issuesOf(document: unknown): DefinitionIssue[] {
  try {
    resolvePool(document, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(DefinitionError);
    return [...(error as DefinitionError).issues];
  }
  throw new Error('expected the document to be rejected');
}

function messageAt(issues: readonly DefinitionIssue[], path: string): string | undefined {
  return issues.find((issue) => issue.path === path)?.message;
}

describe('probe.headers in a pool definition', () => {
  it('defaults to no header at all', () => {
    expect(resolvePool(minimalDocument()).probe.headers).toEqual({});
    expect(resolvePool(minimalDocument()).probe.tokenLimitPerMinute).toBeUndefined();
  });

  it('keeps declared headers as written, frozen, and the declared token limit', () => {
    const pool = resolvePool(withProbe({ headers: { 'x-route-to': 'on-your-data', 'X-Trace': '' }, tokenLimitPerMinute: 5000 }));
    expect({ ...pool.probe.headers }).toEqual({ 'x-route-to': 'on-your-data', 'X-Trace': '' });
    expect(Object.isFrozen(pool.probe.headers)).toBe(true);
    expect(pool.probe.tokenLimitPerMinute).toBe(5000);
  });

  it.each([
    ['Authorization'],
    ['authorization'],
    ['PROXY-AUTHORIZATION'],
    ['Cookie'],
    ['api-key'],
    ['Ocp-Apim-Subscription-Key'],
    ['ocp-apim-subscription-key'],
    ['Connection'],
    ['Keep-Alive'],
    ['Proxy-Connection'],
    ['TE'],
    ['Trailer'],
    ['Transfer-Encoding'],
    ['upgrade'],
    ['Host'],
    ['Content-Length'],
    ['Expect'],
    ['Content-Type'],
  ])('refuses %s, naming its JSON path', (name) => {
    const issues = issuesOf(withProbe({ headers: { [name]: 'x' } }));
    const path = `$.probe.headers[${JSON.stringify(name)}]`;
    const expectedPath = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `$.probe.headers.${name}` : path;
    expect(issues.map((issue) => issue.path)).toEqual([expectedPath]);
    expect(messageAt(issues, expectedPath)).toMatch(/^must not be sent by probes: .* is (a credential|a hop-by-hop header|a framing header|set by the verifier|the header that carries the subscription key)/);
  });

  it('refuses the header the definition sends its own key in, whatever it is called', () => {
    const issues = issuesOf(withProbe({ subscriptionKeyHeader: 'Ocp-Apim-Subscription-Key', headers: { 'OCP-APIM-SUBSCRIPTION-KEY': 'k' } }));
    expect(issues[0]?.path).toBe('$.probe.headers["OCP-APIM-SUBSCRIPTION-KEY"]');
  });

  it('refuses names that are not HTTP tokens, values with CR, LF or NUL, and values that are not strings', () => {
    const issues = issuesOf(
      withProbe({ headers: { 'x route': 'a', 'x-split': 'a\r\nInjected: yes', 'x-nul': 'a\u0000b', 'x-lf': 'a\nb', 'x-number': 3, '': 'empty' } }),
    );
    expect(messageAt(issues, '$.probe.headers["x route"]')).toMatch(/^must be an HTTP header name/);
    expect(messageAt(issues, '$.probe.headers["x-split"]')).toBeDefined();
    expect(messageAt(issues, '$.probe.headers["x-nul"]')).toBeDefined();
    expect(messageAt(issues, '$.probe.headers["x-lf"]')).toBeDefined();
    expect(messageAt(issues, '$.probe.headers["x-number"]')).toBe('must be a string, got 3');
    expect(messageAt(issues, '$.probe.headers[""]')).toBe('must not be empty');
    // Never echoes the injected line as if it were a header.
    expect(JSON.stringify(issues)).not.toContain('Injected: yes"');
  });

  it('refuses values longer than 1024 characters and more than 20 headers', () => {
    expect(messageAt(issuesOf(withProbe({ headers: { 'x-long': 'a'.repeat(1025) } })), '$.probe.headers["x-long"]')).toBe(
      'must be 0–1024 characters long, got 1025',
    );
    expect(resolvePool(withProbe({ headers: { 'x-long': 'a'.repeat(1024) } })).probe.headers['x-long']).toHaveLength(1024);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v']));
    expect(messageAt(issuesOf(withProbe({ headers: many })), '$.probe.headers')).toBe('has 21 headers; at most 20 are allowed');
  });

  it('refuses the same header twice in different case', () => {
    const issues = issuesOf(withProbe({ headers: { 'X-Route': 'a', 'x-route': 'b' } }));
    expect(issues).toEqual([{ path: '$.probe.headers["x-route"]', message: 'is the same header as "X-Route" (header names ignore case)' }]);
  });

  it('keeps "__proto__" and "constructor" as plain header names', () => {
    const document = parsePoolDefinition(
      JSON.stringify({ ...minimalDocument(), probe: { headers: { constructor: 'c' } } }).replace('"constructor"', '"__proto__":"p","constructor"'),
      'test.json',
    );
    expect({ ...document.probe.headers }).toEqual({ ['__proto__']: 'p', constructor: 'c' });
    expect(({} as Record<string, unknown>)['p']).toBeUndefined();
  });

  it('refuses a header object that is not an object, and a token limit that is not a positive integer', () => {
    expect(messageAt(issuesOf(withProbe({ headers: ['x'] })), '$.probe.headers')).toBe('must be an object, got an array of 1');
    expect(messageAt(issuesOf(withProbe({ tokenLimitPerMinute: 0 })), '$.probe.tokenLimitPerMinute')).toBe('must be an integer from 1 to 100000000, got 0');
    expect(messageAt(issuesOf(withProbe({ tokenLimitPerMinute: 1.5 })), '$.probe.tokenLimitPerMinute')).toMatch(/^must be an integer/);
  });
});
