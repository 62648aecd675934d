import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPolicy } from '../../../src/lib/deploy/checkPolicy';

const POOL = 'openai-instance-backend-pool';
const fixture = (name: string): string => readFileSync(join(__dirname, '..', '..', 'fixtures', 'policies', name), 'utf8');
const codes = (xml: string, memberCount?: number): string[] =>
  checkPolicy(xml, POOL, memberCount === undefined ? {} : { memberCount }).map((finding) => finding.code);

describe('checkPolicy', () => {
  it('finds nothing wrong with the corrected lab policy (raw and XML-encoded)', () => {
    expect(checkPolicy(fixture('lab-good.xml'), POOL, { memberCount: 2 })).toEqual([]);
    expect(checkPolicy(fixture('lab-good-encoded.xml'), POOL, { memberCount: 3 })).toEqual([]);
  });

  it('flags the published lab policy for matching the pool’s 503 reason text', () => {
    const findings = checkPolicy(fixture('lab-published.xml'), POOL, { memberCount: 2 });
    expect(findings.map((finding) => finding.code)).toEqual(['retry-matches-reason-text']);
    expect(findings[0]!.message).toMatch(/changed in 2026/);
  });

  it('flags the reason-text match in the XML-encoded form too', () => {
    const encoded = fixture('lab-good-encoded.xml').replace(
      'context.Response.StatusCode == 429 ||',
      'context.Response.StatusCode == 429 || !context.Response.StatusReason.Contains(&quot;temporarily unavailable&quot;) ||',
    );
    expect(codes(encoded)).toEqual(['retry-matches-reason-text']);
  });

  it('flags a policy that routes to a URL instead of the pool', () => {
    const findings = checkPolicy(fixture('no-set-backend.xml'), POOL);
    expect(findings.map((finding) => finding.code)).toEqual(['no-set-backend-service']);
    expect(findings[0]!.message).toContain('https://aoai-nov26-instance1.openai.azure.com/openai');
  });

  it('flags a policy that routes to a single backend and has no retry', () => {
    const findings = checkPolicy(fixture('other-backend.xml'), POOL, { memberCount: 2 });
    expect(findings.map((finding) => finding.code)).toEqual(['no-set-backend-service']);
    expect(findings[0]!.message).toContain('"openai-instance1"');
  });

  it('matches the pool name case-insensitively', () => {
    expect(codes(fixture('lab-good.xml').replace(POOL, POOL.toUpperCase()))).toEqual([]);
  });

  it('flags a retry count that cannot reach every member', () => {
    expect(codes(fixture('retry-count-low.xml'), 4)).toEqual(['retry-count-too-low']);
    expect(checkPolicy(fixture('retry-count-low.xml'), POOL, { memberCount: 4 })[0]!.message).toMatch(/count="3"/);
    expect(codes(fixture('retry-count-low.xml'), 2)).toEqual([]);
    expect(codes(fixture('retry-count-low.xml'))).toEqual([]);
  });

  it('flags a forward-request under a retry that does not buffer the request body', () => {
    expect(codes(fixture('no-buffer.xml'), 2)).toEqual(['no-buffer-request-body']);
  });

  it('does not ask for buffering outside a retry', () => {
    const xml = fixture('lab-good.xml').replace(/<retry[^>]*>/, '').replace('</retry>', '').replace(' buffer-request-body="true"', '');
    expect(codes(xml, 2)).toEqual([]);
  });

  it.each([
    ['garbage.xml', fixture('garbage.xml')],
    ['empty text', ''],
    ['plain text', 'not a policy at all'],
    ['another XML document', '<configuration><appSettings /></configuration>'],
  ])('returns exactly one finding for unreadable input (%s), without throwing', (_label, xml) => {
    const findings = checkPolicy(xml, POOL, { memberCount: 2 });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.code).toBe('unparsable-policy');
  });

  it('reads expressions containing generics, && and verbatim strings in raw form', () => {
    const xml = fixture('lab-good.xml').replace(
      '<base />\n        <set-backend-service',
      '<base />\n        <set-variable name="x" value="@{ var l = new List<string>(); return l.Count > 0 && @"a""b" != "c)"; }" />\n        <set-backend-service',
    );
    expect(xml).toContain('List<string>');
    expect(codes(xml, 2)).toEqual([]);
  });
});
