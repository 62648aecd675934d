// PLACEHOLDER in branch `lead` only: replaced by hdefs's implementation at merge.
import type { ResolvedPool } from '../pool/types';
export function resolvePoolSecrets(pool: ResolvedPool, env: Readonly<Record<string, string | undefined>>): { gatewayUrl: string | undefined; subscriptionKey: string | undefined; webhookUrl: string | undefined } {
  return {
    gatewayUrl: pool.gateway?.url ?? env.APIM_GATEWAY_URL,
    subscriptionKey: (pool.gateway?.subscriptionKeySetting ? env[pool.gateway?.subscriptionKeySetting] : env.APIM_SUBSCRIPTION_KEY) || undefined,
    webhookUrl: (pool.alerts?.webhookUrlSetting ? env[pool.alerts?.webhookUrlSetting] : env.ALERT_WEBHOOK_URL) || undefined,
  };
}
