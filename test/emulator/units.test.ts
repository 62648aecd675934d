import { Balancer, type BalancerMember } from '../../src/emulator/balancer';
import { CircuitBreaker, parseRetryAfterInMs, toBreakerRule } from '../../src/emulator/circuitBreaker';
import { parseFaultSpec, FaultSpecError } from '../../src/emulator/parseFaultSpec';
import { parseIsoDurationInMs, IsoDurationError } from '../../src/emulator/parseIsoDuration';
import { createRandom } from '../../src/emulator/random';
import { resourcesFromPool } from '../../src/emulator/resourcesFromPool';
import { TokenLimiter } from '../../src/emulator/tokenLimiter';

describe('parseIsoDurationInMs', () => {
  it.each([
    ['PT1M', 60_000],
    ['PT30S', 30_000],
    ['PT0.5S', 500],
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['P1DT2H', 93_600_000],
    ['pt1m', 60_000],
    [' PT1M ', 60_000],
  ])('reads %s as %d ms', (text, expected) => {
    expect(parseIsoDurationInMs(text)).toBe(expected);
  });

  it.each(['P', 'PT', 'P1DT', '1M', 'P1Y', 'P1M', '60s', 60, null])('rejects %p', (value) => {
    expect(() => parseIsoDurationInMs(value)).toThrow(IsoDurationError);
  });
});

describe('parseFaultSpec', () => {
  it.each([
    ['East US=throttled:86400', 'East US', { kind: 'throttled', retryAfterSeconds: 86400 }],
    ['aoai-nov26-instance1.openai.azure.com=down', 'aoai-nov26-instance1.openai.azure.com', { kind: 'down' }],
    ['West US=failing', 'West US', { kind: 'failing' }],
    ['West US=failing:503', 'West US', { kind: 'failing', status: 503 }],
    ['West US=slow:30000', 'West US', { kind: 'slow', delayInMs: 30000 }],
    ['West US=auth-reject', 'West US', { kind: 'auth-reject' }],
    [' West US = healthy ', 'West US', { kind: 'healthy' }],
  ])('parses %p', (spec, target, fault) => {
    expect(parseFaultSpec(spec)).toEqual({ target, fault });
  });

  it.each([
    ['East US', "must look like '<region or host>=<fault>'"],
    ['=down', "must look like"],
    ['East US=exploding', "unknown kind 'exploding'"],
    ['East US=throttled', 'retry-after seconds must be an integer'],
    ['East US=throttled:soon', 'retry-after seconds must be an integer'],
    ['East US=failing:200', 'status must be an integer from 400 to 599'],
    ['East US=slow:-1', 'delay in ms must be an integer'],
    ['East US=down:5', "'down' takes no argument"],
    ['East US=slow:1:2', "too many ':' parts"],
  ])('rejects %p with a message saying why', (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(FaultSpecError);
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });
});

describe('resourcesFromPool', () => {
  it('makes one resource per distinct backend host, keeping the region', () => {
    expect(
      resourcesFromPool(
        [
          { url: 'https://aoai-nov26-instance1.openai.azure.com/openai', region: 'West US' },
          { url: 'https://AOAI-nov26-instance1.openai.azure.com/other', region: 'West US' },
          { url: 'https://aoai-nov26-instance2.openai.azure.com/openai' },
          { url: 'not a url' },
        ],
        'gpt-4o',
      ),
    ).toEqual([
      { host: 'aoai-nov26-instance1.openai.azure.com', region: 'West US', deployments: ['gpt-4o'] },
      { host: 'aoai-nov26-instance2.openai.azure.com', region: 'Unknown', deployments: ['gpt-4o'] },
    ]);
  });
});

describe('Balancer', () => {
  const all = () => true;
  const tally = (balancer: Balancer, members: readonly BalancerMember[], count: number, isAvailable: (member: BalancerMember) => boolean = all) => {
    const counts: Record<string, number> = {};
    for (let index = 0; index < count; index += 1) {
      const chosen = balancer.select(members, isAvailable)?.name ?? 'none';
      counts[chosen] = (counts[chosen] ?? 0) + 1;
    }
    return counts;
  };

  it('produces the nginx smooth weighted round-robin sequence for weights 5, 1, 1', () => {
    const balancer = new Balancer('smooth-weighted-round-robin', createRandom(1));
    const members = [
      { name: 'a', priority: 1, weight: 5 },
      { name: 'b', priority: 1, weight: 1 },
      { name: 'c', priority: 1, weight: 1 },
    ];
    const sequence = Array.from({ length: 7 }, () => balancer.select(members, all)?.name).join('');
    expect(sequence).toBe('aabacaa');
  });

  it('splits equally when no member has a weight, and ignores unweighted members next to weighted ones', () => {
    const balancer = new Balancer('smooth-weighted-round-robin', createRandom(1));
    expect(tally(balancer, [{ name: 'a', priority: undefined, weight: undefined }, { name: 'b', priority: undefined, weight: undefined }], 10)).toEqual({ a: 5, b: 5 });
    expect(tally(balancer, [{ name: 'a', priority: 1, weight: 3 }, { name: 'b', priority: 1, weight: undefined }], 10)).toEqual({ a: 10 });
  });

  it('uses the lowest priority number first and a lower group only when the higher one is unavailable', () => {
    const balancer = new Balancer('weighted-random', createRandom(5));
    const members = [
      { name: 'backup', priority: 2, weight: 1 },
      { name: 'a', priority: 1, weight: 1 },
      { name: 'b', priority: 1, weight: 1 },
    ];
    expect(tally(balancer, members, 200).backup).toBeUndefined();
    expect(tally(balancer, members, 50, (member) => member.name !== 'a')).toEqual({ b: 50 });
    expect(tally(balancer, members, 50, (member) => member.name === 'backup')).toEqual({ backup: 50 });
    expect(balancer.select(members, () => false)).toBeUndefined();
  });

  // Over 200 seeded runs of 300 draws at 2:1, the share of runs whose West share is within ±8 points of
  // 2/3 (≈ 3 sd) must be at least 97%: the draw is fair, not only lucky for one seed.
  it('draws weighted-random shares within ±8 points of the weight ratio in ≥ 97% of 200 seeded runs', () => {
    let within = 0;
    for (let seed = 0; seed < 200; seed += 1) {
      const balancer = new Balancer('weighted-random', createRandom(seed));
      const counts = tally(balancer, [{ name: 'w', priority: 1, weight: 2 }, { name: 'e', priority: 1, weight: 1 }], 300);
      if (Math.abs((counts.w ?? 0) / 300 - 2 / 3) <= 0.08) within += 1;
    }
    expect(within / 200).toBeGreaterThanOrEqual(0.97);
  });
});

describe('CircuitBreaker', () => {
  const clock = () => {
    let time = 0;
    return { now: () => time, advance: (ms: number) => (time += ms) };
  };

  it('trips on the percentage of failures within the interval', () => {
    const c = clock();
    const breaker = new CircuitBreaker(c.now);
    const rule = toBreakerRule({
      failureCondition: { percentage: 50, interval: 'PT10S', statusCodeRanges: [{ min: 500, max: 599 }] },
      tripDuration: 'PT5S',
    });
    expect(breaker.record(rule, { status: 200, retryAfterInMs: undefined })).toBe(false);
    expect(breaker.record(rule, { status: 200, retryAfterInMs: undefined })).toBe(false);
    expect(breaker.record(rule, { status: 500, retryAfterInMs: undefined })).toBe(false);
    expect(breaker.record(rule, { status: 503, retryAfterInMs: undefined })).toBe(true);
    expect(breaker.isTripped()).toBe(true);
    c.advance(5000);
    expect(breaker.isTripped()).toBe(false);
  });

  it('forgets failures older than the interval (sliding window)', () => {
    const c = clock();
    const breaker = new CircuitBreaker(c.now);
    const rule = toBreakerRule({ failureCondition: { count: 2, interval: 'PT1M', statusCodeRanges: [{ min: 429, max: 429 }] }, tripDuration: 'PT1M' });
    breaker.record(rule, { status: 429, retryAfterInMs: undefined });
    c.advance(60_000);
    expect(breaker.record(rule, { status: 429, retryAfterInMs: undefined })).toBe(false);
    c.advance(59_999);
    expect(breaker.record(rule, { status: 429, retryAfterInMs: undefined })).toBe(true);
  });

  it('ignores statuses outside the ranges and has no effect without a rule', () => {
    const breaker = new CircuitBreaker(() => 0);
    const rule = toBreakerRule({ failureCondition: { count: 1, interval: 'PT1M', statusCodeRanges: [{ min: 429, max: 429 }] }, tripDuration: 'PT1M' });
    expect(breaker.record(rule, { status: 500, retryAfterInMs: undefined })).toBe(false);
    expect(breaker.record(undefined, { status: 429, retryAfterInMs: undefined })).toBe(false);
    expect(breaker.isTripped()).toBe(false);
  });
});

describe('parseRetryAfterInMs', () => {
  it('prefers retry-after-ms, then x-ms-retry-after-ms, then retry-after seconds or an HTTP date', () => {
    expect(parseRetryAfterInMs({ 'retry-after-ms': '1500', 'retry-after': '9' }, 0)).toBe(1500);
    expect(parseRetryAfterInMs({ 'x-ms-retry-after-ms': '250' }, 0)).toBe(250);
    expect(parseRetryAfterInMs({ 'retry-after': '60' }, 0)).toBe(60_000);
    const now = Date.UTC(2026, 10, 25, 1, 0, 0);
    expect(parseRetryAfterInMs({ 'retry-after': new Date(now + 30_000).toUTCString() }, now)).toBe(30_000);
    expect(parseRetryAfterInMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfterInMs({}, now)).toBeUndefined();
  });
});

describe('TokenLimiter', () => {
  it('refuses a prompt estimate larger than what is left, and counts a new window from the first request after the last one ended', () => {
    let now = 1_000_000;
    const limiter = new TokenLimiter(() => now);
    expect(limiter.check('k', 100, 8)).toEqual({ allowed: true, remainingTokens: 100 });
    expect(limiter.consume('k', 95, 100)).toBe(5);
    now += 20_000;
    expect(limiter.check('k', 100, 8)).toEqual({ allowed: false, remainingTokens: 5, retryAfterInSeconds: 40 });
    expect(limiter.check('k', 100, undefined)).toEqual({ allowed: true, remainingTokens: 5 });
    now += 40_000;
    expect(limiter.check('k', 100, 8)).toEqual({ allowed: true, remainingTokens: 100 });
  });

  it('keeps at most 10,000 keys: the oldest counter is dropped first', () => {
    const now = 5_000;
    const limiter = new TokenLimiter(() => now);
    limiter.consume('first', 10, 10);
    expect(limiter.check('first', 10, undefined).allowed).toBe(false);
    for (let index = 0; index < 10_000; index += 1) limiter.consume(`key-${index}`, 1, 10);
    // Dropped to make room, so its spent budget is forgotten (bounded memory over an exact count).
    expect(limiter.check('first', 10, undefined)).toEqual({ allowed: true, remainingTokens: 10 });
  });
});
