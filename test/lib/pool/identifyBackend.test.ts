import { identifyBackend, normalizeRegion, resolvePool } from '../../../src/lib/pool';
import type { ResolvedPool } from '../../../src/lib/pool';
import { minimalDocument } from './fixtures';

function headerModePool(): ResolvedPool {
  return resolvePool({
    pool: {
      name: 'p',
      backends: [
        { name: 'a', url: 'https://a.example.com/openai', region: 'East US', identifier: 'a.example.com' },
        { name: 'b', url: 'https://b.example.com/openai', region: 'East US', identifier: 'b.example.com' },
      ],
    },
    probe: { identify: { header: 'x-backend-host' } },
  });
}

describe('normalizeRegion', () => {
  it('makes display and programmatic region names equal', () => {
    expect(normalizeRegion('West US')).toBe('westus');
    expect(normalizeRegion(' west  us\t')).toBe('westus');
    expect(normalizeRegion('WESTUS')).toBe('westus');
  });

  it('keeps regions that differ in more than case and space apart', () => {
    expect(normalizeRegion('West US 2')).not.toBe(normalizeRegion('West US'));
  });
});

describe('identifyBackend', () => {
  const lab = resolvePool(minimalDocument());

  it('names the backend whose region matches x-ms-region, ignoring case and spaces', () => {
    expect(identifyBackend(lab, 'West US')).toBe('openai-instance1');
    expect(identifyBackend(lab, 'westus')).toBe('openai-instance1');
    expect(identifyBackend(lab, 'EAST US')).toBe('openai-instance2');
  });

  it('returns null for an absent, empty or unknown region', () => {
    expect(identifyBackend(lab, null)).toBeNull();
    expect(identifyBackend(lab, undefined)).toBeNull();
    expect(identifyBackend(lab, '')).toBeNull();
    expect(identifyBackend(lab, 'West US 2')).toBeNull();
  });

  it('matches a custom header exactly to identifiers, not to regions', () => {
    const pool = headerModePool();
    expect(pool.probe.identify).toEqual({ mode: 'header', header: 'x-backend-host' });
    expect(identifyBackend(pool, 'b.example.com')).toBe('b');
    expect(identifyBackend(pool, ' a.example.com ')).toBe('a');
    expect(identifyBackend(pool, 'A.EXAMPLE.COM')).toBeNull();
    expect(identifyBackend(pool, 'East US')).toBeNull();
  });

  it('returns null rather than guessing when a hand-built pool has two backends in one region', () => {
    const ambiguous: ResolvedPool = {
      ...lab,
      backends: lab.backends.map((backend) => ({ ...backend, region: 'East US' })),
    };
    expect(identifyBackend(ambiguous, 'East US')).toBeNull();
  });
});
