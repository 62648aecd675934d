import type { ApimLocation, CircuitBreakerRule, ResolvedBackend, ResolvedPool } from '../../../src/lib/pool/types';

/** The lab's APIM service, as a test location. */
export const LAB_LOCATION: ApimLocation = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'rg-apim-lab',
  serviceName: 'apim-nov26',
  armApiVersion: '2024-05-01',
};

/** The lab's breaker: count 1 in PT1M on 429, trip PT1M, honour Retry-After. */
export function labBreaker(name: string): CircuitBreakerRule {
  return {
    name,
    failureCondition: { count: 1, interval: 'PT1M', statusCodeRanges: [{ min: 429, max: 429 }] },
    tripDuration: 'PT1M',
    acceptRetryAfter: true,
  };
}

/** A resolved backend built by hand (the pool module is not needed to test deployment). */
export function makeBackend(overrides: Partial<ResolvedBackend> & { name: string }): ResolvedBackend {
  return {
    url: `https://aoai-${overrides.name}.openai.azure.com/openai`,
    region: undefined,
    priority: 1,
    weight: undefined,
    identifier: undefined,
    circuitBreaker: undefined,
    expectedShare: 0,
    isPrimary: true,
    ...overrides,
  };
}

/** The reference lab pool: two members, priority 1, weights 2:1, one 429 breaker each. */
export function makeLabPool(overrides: Partial<ResolvedPool> = {}): ResolvedPool {
  return {
    name: 'openai-instance-backend-pool',
    description: undefined,
    backends: [
      makeBackend({
        name: 'openai-instance1',
        url: 'https://aoai-nov26-instance1.openai.azure.com/openai',
        region: 'West US',
        weight: 2,
        expectedShare: 2 / 3,
        circuitBreaker: labBreaker('openai-instance1-breaker'),
      }),
      makeBackend({
        name: 'openai-instance2',
        url: 'https://aoai-nov26-instance2.openai.azure.com/openai',
        region: 'East US',
        weight: 1,
        expectedShare: 1 / 3,
        circuitBreaker: labBreaker('openai-instance2-breaker'),
      }),
    ],
    apim: LAB_LOCATION,
    gateway: { url: undefined, subscriptionKeySetting: undefined },
    alerts: { webhookUrlSetting: undefined },
    probe: {
      deployment: 'gpt-4o',
      apiVersion: '2024-02-01',
      subscriptionKeyHeader: 'api-key',
      identify: { mode: 'region', header: 'x-ms-region' },
      headers: {},
    },
    ...overrides,
  };
}

/** Replace one backend of a pool by name. */
export function withBackend(pool: ResolvedPool, name: string, change: Partial<ResolvedBackend>): ResolvedPool {
  return { ...pool, backends: pool.backends.map((backend) => (backend.name === name ? { ...backend, ...change } : backend)) };
}

/** A fake credential whose token is recognisable, so tests can prove it never leaks. */
export const SECRET_TOKEN = 'SECRET-TOKEN-123';
export const fakeCredential = {
  async getToken(): Promise<{ token: string; expiresOnTimestamp: number }> {
    return { token: SECRET_TOKEN, expiresOnTimestamp: 4_102_444_800_000 };
  },
};
