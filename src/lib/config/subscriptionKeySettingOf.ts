import type { ResolvedPool } from '../pool/types';

/**
 * The setting that holds a pool's subscription key: the one its definition names (`gateway.subscriptionKeySetting`),
 * else APIM_SUBSCRIPTION_KEY. Its own file, free of imports, so the CLI can use it without loading the settings reader.
 */
export function subscriptionKeySettingOf(pool: Pick<ResolvedPool, 'gateway'>): string {
  return pool.gateway.subscriptionKeySetting ?? 'APIM_SUBSCRIPTION_KEY';
}
