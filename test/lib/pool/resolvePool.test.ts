import { DefinitionError, resolvePool } from '../../../src/lib/pool';
import type { DefinitionIssue } from '../../../src/lib/pool';
import { minimalDocument } from './fixtures';

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

/** A copy of the minimal document with backend `index` changed. */
function withBackend(index: number, change: (backend: Record<string, unknown>) => void): unknown {
  const document = minimalDocument();
  const backend = document.pool.backends[index];
  if (backend === undefined) {
    throw new Error(`no backend ${index}`);
  }
  change(backend);
  return document;
}

describe('resolvePool', () => {
  describe('on the minimal document', () => {
    const pool = resolvePool(minimalDocument());

    it('accepts it as it stands', () => {
      expect(pool.name).toBe('openai-instance-backend-pool');
      expect(pool.backends.map((backend) => backend.name)).toEqual(['openai-instance1', 'openai-instance2']);
    });

    it('computes 2/3 and 1/3 as expected shares and marks both primary', () => {
      expect(pool.backends[0]?.expectedShare).toBeCloseTo(2 / 3, 14);
      expect(pool.backends[1]?.expectedShare).toBeCloseTo(1 / 3, 14);
      expect(pool.backends.every((backend) => backend.isPrimary)).toBe(true);
    });

    it('applies the documented probe defaults and region identification', () => {
      expect(pool.probe).toEqual({
        deployment: 'gpt-4o',
        apiVersion: '2024-02-01',
        subscriptionKeyHeader: 'api-key',
        identify: { mode: 'region', header: 'x-ms-region' },
        headers: {},
      });
      expect(pool.apim).toBeUndefined();
      expect(pool.apimDeclared).toBeUndefined();
    });

    it('returns a deeply frozen object', () => {
      expect(Object.isFrozen(pool)).toBe(true);
      expect(Object.isFrozen(pool.backends)).toBe(true);
      expect(Object.isFrozen(pool.backends[0])).toBe(true);
      expect(Object.isFrozen(pool.probe.identify)).toBe(true);
    });

    it('does not share objects with the input document', () => {
      const document = minimalDocument();
      const resolved = resolvePool(document);
      (document.pool.backends[0] as { weight: number }).weight = 50;
      expect(resolved.backends[0]?.weight).toBe(2);
    });
  });

  it('treats an absent priority as 0, the primary group, next to explicit priorities', () => {
    const pool = resolvePool(withBackend(0, (backend) => delete backend['priority']));
    expect(pool.backends[0]).toMatchObject({ priority: 0, isPrimary: true, expectedShare: 1 });
    expect(pool.backends[1]).toMatchObject({ priority: 1, isPrimary: false, expectedShare: 0 });
  });

  it('resolves apim only when subscription, resource group and service name are all given', () => {
    const partial = { ...minimalDocument(), apim: { serviceName: 'apim-lab' } };
    expect(resolvePool(partial).apim).toBeUndefined();
    expect(resolvePool(partial).apimDeclared).toEqual({ serviceName: 'apim-lab', armApiVersion: '2024-05-01' });
    const complete = {
      ...minimalDocument(),
      apim: { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg-lab', serviceName: 'apim-lab' },
    };
    expect(resolvePool(complete).apim).toEqual({
      subscriptionId: '11111111-2222-3333-4444-555555555555',
      resourceGroup: 'rg-lab',
      serviceName: 'apim-lab',
      armApiVersion: '2024-05-01',
    });
  });

  it('treats an identify header of X-MS-Region as region mode', () => {
    const pool = resolvePool({ ...minimalDocument(), probe: { identify: { header: 'X-MS-Region' } } });
    expect(pool.probe.identify.mode).toBe('region');
  });

  describe('reports each rule with its JSON path', () => {
    const cases: [string, unknown, string, RegExp][] = [
      ['weight above 100', withBackend(1, (b) => (b['weight'] = 101)), '$.pool.backends[1].weight', /integer from 0 to 100/],
      ['fractional priority', withBackend(0, (b) => (b['priority'] = 0.5)), '$.pool.backends[0].priority', /integer/],
      ['weight as a string', withBackend(0, (b) => (b['weight'] = '2')), '$.pool.backends[0].weight', /got "2"/],
      ['misspelt key', withBackend(1, (b) => (b['wieght'] = 1)), '$.pool.backends[1].wieght', /did you mean "weight"/],
      ['name over 80 characters', withBackend(0, (b) => (b['name'] = 'x'.repeat(81))), '$.pool.backends[0].name', /1–80/],
      ['name with a slash', withBackend(0, (b) => (b['name'] = 'a/b')), '$.pool.backends[0].name', /must not contain/],
      ['empty name', withBackend(0, (b) => (b['name'] = '')), '$.pool.backends[0].name', /empty/],
      ['relative url', withBackend(0, (b) => (b['url'] = '/openai')), '$.pool.backends[0].url', /absolute http\(s\) URL/],
      ['non-http url', withBackend(0, (b) => (b['url'] = 'ws://x.example.com')), '$.pool.backends[0].url', /http/],
      ['missing url', withBackend(0, (b) => delete b['url']), '$.pool.backends[0].url', /pools cannot contain pools/],
      ['member of type Pool', withBackend(1, (b) => (b['type'] = 'Pool')), '$.pool.backends[1]', /pools cannot contain pools/],
      ['member with backends', withBackend(1, (b) => (b['backends'] = [])), '$.pool.backends[1]', /pools cannot contain pools/],
      ['member of another type', withBackend(1, (b) => (b['type'] = 'Single')), '$.pool.backends[1].type', /unknown key/],
      ['same region in other spelling', withBackend(1, (b) => (b['region'] = 'westus')), '$.pool.backends[1].region', /cannot tell/],
      ['missing region', withBackend(0, (b) => delete b['region']), '$.pool.backends[0].region', /x-ms-region/],
      ['duplicate name ignoring case', withBackend(1, (b) => (b['name'] = 'OpenAI-Instance1')), '$.pool.backends[1].name', /ignoring case/],
      ['member named like the pool', withBackend(1, (b) => (b['name'] = 'openai-instance-backend-pool')), '$.pool.backends[1].name', /pool name/],
      ['mixed weighted and unweighted', withBackend(1, (b) => delete b['weight']), '$.pool.backends[1].weight', /every member of a group a weight, or none/],
      ['breaker with count and percentage', withBackend(0, (b) => (b['circuitBreaker'] = { name: 'cb', failureCondition: { count: 1, percentage: 5, interval: 'PT1M' }, tripDuration: 'PT1M' })), '$.pool.backends[0].circuitBreaker.failureCondition', /not both/],
      ['breaker range min above max', withBackend(0, (b) => (b['circuitBreaker'] = { name: 'cb', failureCondition: { count: 1, interval: 'PT1M', statusCodeRanges: [{ min: 503, max: 500 }] }, tripDuration: 'PT1M' })), '$.pool.backends[0].circuitBreaker.failureCondition.statusCodeRanges[0].min', /must not exceed max/],
      ['breaker with 11 ranges', withBackend(0, (b) => (b['circuitBreaker'] = { name: 'cb', failureCondition: { count: 1, interval: 'PT1M', statusCodeRanges: Array.from({ length: 11 }, () => ({ min: 500, max: 599 })) }, tripDuration: 'PT1M' })), '$.pool.backends[0].circuitBreaker.failureCondition.statusCodeRanges', /at most 10/],
      ['breaker with a bad duration', withBackend(0, (b) => (b['circuitBreaker'] = { name: 'cb', failureCondition: { count: 1, interval: 'PT1M' }, tripDuration: '60s' })), '$.pool.backends[0].circuitBreaker.tripDuration', /ISO 8601/],
      ['backend that is not an object', { pool: { name: 'p', backends: ['openai-instance1'] } }, '$.pool.backends[0]', /must be an object/],
      ['pool missing', {}, '$.pool', /required/],
      ['backends missing', { pool: { name: 'p' } }, '$.pool.backends', /required/],
      ['unknown root key', { ...minimalDocument(), pools: {} }, '$.pools', /unknown key/],
      ['invalid service name', { ...minimalDocument(), apim: { serviceName: 'apim_lab' } }, '$.apim.serviceName', /start with a letter/],
      ['service name over 50 characters', { ...minimalDocument(), apim: { serviceName: 'a'.repeat(51) } }, '$.apim.serviceName', /1–50/],
      ['unsupported key header', { ...minimalDocument(), probe: { subscriptionKeyHeader: 'Authorization' } }, '$.probe.subscriptionKeyHeader', /api-key/],
      ['header mode without identifiers', { ...minimalDocument(), probe: { identify: { header: 'x-backend' } } }, '$.pool.backends[0].identifier', /is required/],
    ];

    it.each(cases)('%s', (_label, document, path, message) => {
      const issues = issuesOf(document);
      const match = issues.find((issue) => issue.path === path);
      expect(match).toBeDefined();
      expect(match?.message).toMatch(message);
    });
  });

  it('reports an invalid identify header alone, without guessing which identifier the backends need', () => {
    const document = withBackend(0, (b) => delete b['region']) as Record<string, unknown>;
    document['probe'] = { identify: { header: 'x backend' } };
    expect(issuesOf(document).map((issue) => issue.path)).toEqual(['$.probe.identify.header']);
  });

  it('reports a hole in a sparse backends array instead of skipping it', () => {
    const backends: unknown[] = [];
    backends[1] = minimalDocument().pool.backends[1];
    expect(issuesOf({ pool: { name: 'p', backends } })).toEqual([
      { path: '$.pool.backends[0]', message: 'must be an object describing a single backend, got nothing' },
    ]);
  });

  it('rejects 31 backends and accepts 30', () => {
    const backends = (count: number): unknown[] =>
      Array.from({ length: count }, (_, index) => ({
        name: `b${index}`,
        url: `https://b${index}.example.com/openai`,
        region: `region ${index}`,
      }));
    expect(resolvePool({ pool: { name: 'p', backends: backends(30) } }).backends).toHaveLength(30);
    expect(issuesOf({ pool: { name: 'p', backends: backends(31) } })).toEqual([
      { path: '$.pool.backends', message: 'has 31 backends; at most 30 are allowed' },
    ]);
  });

  it('reports every problem at once: five problems give five issues', () => {
    const document = minimalDocument();
    const [first, second] = document.pool.backends as [Record<string, unknown>, Record<string, unknown>];
    first['weight'] = 150;
    first['url'] = 'not a url';
    second['priorty'] = 1;
    second['region'] = 'West US';
    (document as Record<string, unknown>)['probe'] = { deployment: 'gpt 4o' };
    const paths = issuesOf(document).map((issue) => issue.path);
    expect(paths.sort()).toEqual(
      [
        '$.pool.backends[0].weight',
        '$.pool.backends[0].url',
        '$.pool.backends[1].priorty',
        '$.pool.backends[1].region',
        '$.probe.deployment',
      ].sort(),
    );
  });

  it('puts every issue in the message as "path: message", prefixed by the source', () => {
    let error: DefinitionError | undefined;
    try {
      resolvePool(withBackend(1, (b) => (b['weight'] = -3)), 'pools/lab.json');
    } catch (caught) {
      error = caught as DefinitionError;
    }
    expect(error?.source).toBe('pools/lab.json');
    expect(error?.message.split('\n')[0]).toBe('pools/lab.json: 1 problem in the pool definition');
    expect(error?.message).toContain('$.pool.backends[1].weight: must be an integer from 0 to 100, got -3');
  });

  it('never echoes credentials embedded in a URL', () => {
    const issues = issuesOf(withBackend(0, (b) => (b['url'] = 'https://user:hunter2@x.example.com/openai')));
    expect(JSON.stringify(issues)).not.toContain('hunter2');
    expect(issues[0]?.path).toBe('$.pool.backends[0].url');
  });

  it('keeps a "__proto__" member as data and reports it as an unknown key', () => {
    const document = JSON.parse('{"pool":{"name":"p","backends":[]},"__proto__":{"polluted":true}}') as unknown;
    expect(issuesOf(document).map((issue) => issue.path)).toContain('$.__proto__');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
