import type { ResolvedPool } from '../../../src/lib/pool/types';

/** The reference lab pool, resolved by hand (weights 2:1, both priority 1, identified by `x-ms-region`). */
export function labPool(name = 'openai-instance-backend-pool'): ResolvedPool {
  return {
    name,
    description: undefined,
    apim: undefined,
    probe: {
      deployment: 'gpt-4o',
      apiVersion: '2024-02-01',
      subscriptionKeyHeader: 'api-key',
      identify: { mode: 'region', header: 'x-ms-region' },
      headers: {},
    },
    gateway: { url: undefined, subscriptionKeySetting: undefined },
    alerts: { webhookUrlSetting: undefined },
    backends: [
      {
        name: 'openai-instance1',
        url: 'https://aoai-nov26-instance1.openai.azure.com/openai',
        region: 'West US',
        priority: 1,
        weight: 2,
        identifier: undefined,
        circuitBreaker: undefined,
        expectedShare: 2 / 3,
        isPrimary: true,
      },
      {
        name: 'openai-instance2',
        url: 'https://aoai-nov26-instance2.openai.azure.com/openai',
        region: 'East US',
        priority: 1,
        weight: 1,
        identifier: undefined,
        circuitBreaker: undefined,
        expectedShare: 1 / 3,
        isPrimary: true,
      },
    ],
  };
}
