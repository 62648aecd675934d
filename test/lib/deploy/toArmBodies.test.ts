import { backendArmId } from '../../../src/lib/deploy/backendArmId';
import { toBackendProperties, toPoolProperties } from '../../../src/lib/deploy/toArmBodies';
import { LAB_LOCATION, labBreaker, makeBackend, makeLabPool } from './poolFixtures';

describe('toBackendProperties', () => {
  it('sends url and protocol http, and no breaker when none is declared', () => {
    expect(toBackendProperties(makeBackend({ name: 'b1', url: 'https://b1.example.com/openai' }))).toEqual({
      url: 'https://b1.example.com/openai',
      protocol: 'http',
    });
  });

  it('sends exactly one breaker rule with only the declared fields', () => {
    const rule = { ...labBreaker('r'), acceptRetryAfter: undefined, failureCondition: { percentage: 50, interval: 'PT5M', errorReasons: ['timeout'] } };
    expect(toBackendProperties(makeBackend({ name: 'b1', circuitBreaker: rule })).circuitBreaker).toEqual({
      rules: [{ name: 'r', failureCondition: { percentage: 50, interval: 'PT5M', errorReasons: ['timeout'] }, tripDuration: 'PT1M' }],
    });
  });

  it('carries a description when the backend has one', () => {
    expect(toBackendProperties({ ...makeBackend({ name: 'b1' }), description: 'West US' }).description).toBe('West US');
  });
});

describe('toPoolProperties', () => {
  it('lists members by full ARM id with priority and weight, and no url or protocol', () => {
    const properties = toPoolProperties(makeLabPool({ description: 'lab' }), LAB_LOCATION);
    expect(properties).toEqual({
      type: 'Pool',
      description: 'lab',
      pool: {
        services: [
          {
            id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26/backends/openai-instance1',
            priority: 1,
            weight: 2,
          },
          {
            id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26/backends/openai-instance2',
            priority: 1,
            weight: 1,
          },
        ],
      },
    });
  });

  it('omits an undeclared weight rather than inventing one', () => {
    const pool = makeLabPool({ backends: [makeBackend({ name: 'a' }), makeBackend({ name: 'b', priority: 2 })] });
    expect(toPoolProperties(pool, LAB_LOCATION).pool.services).toEqual([
      { id: backendArmId(LAB_LOCATION, 'a'), priority: 1 },
      { id: backendArmId(LAB_LOCATION, 'b'), priority: 2 },
    ]);
  });
});
