import type { ResolvedPool } from '../../../src/lib/pool/types';

/** The reference lab pool (weights 2:1, West US / East US), resolved by hand. */
export function labPool(overrides: Partial<ResolvedPool['probe']> = {}): ResolvedPool {
  return {
    name: 'openai-instance-backend-pool',
    description: undefined,
    apim: undefined,
    backends: [
      { name: 'openai-instance1', url: 'https://aoai-nov26-instance1.openai.azure.com/openai', region: 'West US', priority: 1, weight: 2, identifier: 'aoai-nov26-instance1', circuitBreaker: undefined, expectedShare: 2 / 3, isPrimary: true },
      { name: 'openai-instance2', url: 'https://aoai-nov26-instance2.openai.azure.com/openai', region: 'East US', priority: 1, weight: 1, identifier: 'aoai-nov26-instance2', circuitBreaker: undefined, expectedShare: 1 / 3, isPrimary: true },
    ],
    probe: {
      deployment: 'gpt-4o',
      apiVersion: '2024-02-01',
      subscriptionKeyHeader: 'api-key',
      identify: { mode: 'region', header: 'x-ms-region' },
      headers: {},
      ...overrides,
    },
    gateway: { url: undefined, subscriptionKeySetting: undefined },
    alerts: { webhookUrlSetting: undefined },
  };
}
