import { computeExpectedShares } from '../../../src/lib/pool';

function sum(shares: Map<string, number>): number {
  return [...shares.values()].reduce((total, share) => total + share, 0);
}

describe('computeExpectedShares', () => {
  it('splits a 2:1 group into 2/3 and 1/3', () => {
    const shares = computeExpectedShares([
      { name: 'a', priority: 1, weight: 2 },
      { name: 'b', priority: 1, weight: 1 },
    ]);
    expect(shares.get('a')).toBeCloseTo(2 / 3, 14);
    expect(shares.get('b')).toBeCloseTo(1 / 3, 14);
    expect(Math.abs(sum(shares) - 1)).toBeLessThan(1e-12);
  });

  it('splits equally when no member has a weight', () => {
    const shares = computeExpectedShares([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    for (const name of ['a', 'b', 'c']) {
      expect(shares.get(name)).toBeCloseTo(1 / 3, 14);
    }
  });

  it('gives a weight-0 member nothing while its group has weighted members', () => {
    const shares = computeExpectedShares([
      { name: 'a', weight: 3 },
      { name: 'b', weight: 0 },
      { name: 'c', weight: 1 },
    ]);
    expect(shares.get('b')).toBe(0);
    expect(shares.get('a')).toBeCloseTo(0.75, 14);
    expect(shares.get('c')).toBeCloseTo(0.25, 14);
  });

  it('treats an absent priority as 0, ahead of priority 1', () => {
    const shares = computeExpectedShares([
      { name: 'explicit', priority: 1 },
      { name: 'absent' },
    ]);
    expect(shares.get('absent')).toBe(1);
    expect(shares.get('explicit')).toBe(0);
  });

  it('counts an absent weight as 0 next to weighted members of the same group', () => {
    const shares = computeExpectedShares([{ name: 'a', weight: 1 }, { name: 'b' }]);
    expect(shares.get('a')).toBe(1);
    expect(shares.get('b')).toBe(0);
  });

  it('splits equally when the available members of the best group weigh 0 in total', () => {
    const shares = computeExpectedShares(
      [
        { name: 'a', weight: 5 },
        { name: 'b', weight: 0 },
        { name: 'c', weight: 0 },
      ],
      new Set(['a']),
    );
    expect(shares.get('a')).toBe(0);
    expect(shares.get('b')).toBe(0.5);
    expect(shares.get('c')).toBe(0.5);
  });

  describe('with three priority levels', () => {
    const backends = [
      { name: 'p1-a', priority: 1, weight: 3 },
      { name: 'p1-b', priority: 1, weight: 1 },
      { name: 'p2-a', priority: 2 },
      { name: 'p2-b', priority: 2 },
      { name: 'p3', priority: 3, weight: 7 },
    ];

    it('sends everything to group 1 while all are available', () => {
      const shares = computeExpectedShares(backends);
      expect(shares.get('p1-a')).toBeCloseTo(0.75, 14);
      expect(shares.get('p1-b')).toBeCloseTo(0.25, 14);
      expect(shares.get('p2-a')).toBe(0);
      expect(shares.get('p3')).toBe(0);
    });

    it('keeps group 1 when only one of its members is unavailable', () => {
      const shares = computeExpectedShares(backends, new Set(['p1-a']));
      expect(shares.get('p1-a')).toBe(0);
      expect(shares.get('p1-b')).toBe(1);
      expect(shares.get('p2-a')).toBe(0);
      expect(shares.get('p2-b')).toBe(0);
    });

    it('fails over to group 2 only when every member of group 1 is unavailable', () => {
      const shares = computeExpectedShares(backends, new Set(['p1-a', 'p1-b']));
      expect(shares.get('p2-a')).toBe(0.5);
      expect(shares.get('p2-b')).toBe(0.5);
      expect(shares.get('p3')).toBe(0);
    });

    it('falls to group 3 when groups 1 and 2 are unavailable', () => {
      const shares = computeExpectedShares(backends, new Set(['p1-a', 'p1-b', 'p2-a', 'p2-b']));
      expect(shares.get('p3')).toBe(1);
      expect(sum(shares)).toBe(1);
    });

    it('gives every backend 0 when all are unavailable', () => {
      const shares = computeExpectedShares(backends, new Set(backends.map((backend) => backend.name)));
      expect([...shares.values()]).toEqual([0, 0, 0, 0, 0]);
      expect(shares.size).toBe(5);
    });
  });

  it('splits 30 members by weight exactly, summing to 1 within 1e-12', () => {
    const backends = Array.from({ length: 30 }, (_, index) => ({ name: `m${index}`, weight: index + 1 }));
    const shares = computeExpectedShares(backends);
    const totalWeight = (30 * 31) / 2;
    for (const backend of backends) {
      expect(shares.get(backend.name)).toBeCloseTo(backend.weight / totalWeight, 15);
    }
    expect(Math.abs(sum(shares) - 1)).toBeLessThan(1e-12);
  });

  it('returns every name in input order, including backends outside the best group', () => {
    const shares = computeExpectedShares([
      { name: 'z', priority: 2 },
      { name: 'y', priority: 1 },
    ]);
    expect([...shares.keys()]).toEqual(['z', 'y']);
  });

  it('ignores unavailable names that are not in the pool', () => {
    const shares = computeExpectedShares([{ name: 'a' }, { name: 'b' }], new Set(['elsewhere']));
    expect(shares.get('a')).toBe(0.5);
    expect(shares.has('elsewhere')).toBe(false);
  });
});
