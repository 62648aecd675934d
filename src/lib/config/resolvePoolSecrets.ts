import type { ResolvedPool } from '../pool/types';
import { httpUrlProblem } from '../util/httpUrl';
import { ConfigError } from './ConfigError';
import { SettingsReader } from './SettingsReader';

/** Where one pool is probed and paged. Values that must never be logged, reported or sent in telemetry. */
export interface PoolSecrets {
  /** The API's base URL on the gateway (no trailing `/`): the definition's `gateway.url`, else APIM_GATEWAY_URL. */
  readonly gatewayUrl: string | undefined;
  /** The setting `gateway.subscriptionKeySetting` names, else APIM_SUBSCRIPTION_KEY. */
  readonly subscriptionKey: string | undefined;
  /** The setting `alerts.webhookUrlSetting` names, else ALERT_WEBHOOK_URL. */
  readonly webhookUrl: string | undefined;
}

/** Longest subscription key accepted (the CLI's and loadConfig's bound). */
const MAX_KEY_LENGTH = 4096;

/**
 * The gateway URL, subscription key and webhook URL of one pool: what its definition names, else the app's
 * single-pool settings (APIM_GATEWAY_URL, APIM_SUBSCRIPTION_KEY, ALERT_WEBHOOK_URL; undefined when those are unset,
 * exactly as `loadConfig` reads them). A setting the definition names must be set: it is the pool's own.
 *
 * @param env the app settings (environment variables); values are trimmed, blank counts as unset.
 * @throws ConfigError naming every bad setting and the pool whose definition names it; never a value.
 */
export function resolvePoolSecrets(
  pool: Pick<ResolvedPool, 'name' | 'gateway' | 'alerts'>,
  env: Readonly<Record<string, string | undefined>>,
): PoolSecrets {
  const read = new SettingsReader(env);
  const named = (setting: string | undefined, member: string, check: (value: string) => string | undefined): string | undefined => {
    if (setting === undefined) {
      return undefined;
    }
    const value = read.raw(setting);
    const origin = `(named by ${member} of pool "${pool.name}")`;
    if (value === undefined) {
      read.fail(setting, `is not set or is empty ${origin}; set it in the app settings (a Key Vault reference works)`);
      return undefined;
    }
    const problem = check(value);
    if (problem !== undefined) {
      // Never `fail(…, value)`: a setting a definition names is a secret whatever its name.
      read.fail(setting, `${problem} ${origin}; its value is not shown`);
      return undefined;
    }
    return value;
  };
  const subscriptionKey =
    pool.gateway.subscriptionKeySetting !== undefined
      ? named(pool.gateway.subscriptionKeySetting, 'gateway.subscriptionKeySetting', keyProblem)
      : read.string('APIM_SUBSCRIPTION_KEY', undefined, MAX_KEY_LENGTH);
  const webhookUrl =
    pool.alerts.webhookUrlSetting !== undefined
      ? named(pool.alerts.webhookUrlSetting, 'alerts.webhookUrlSetting', httpUrlProblem)?.replace(/\/+$/, '')
      : read.url('ALERT_WEBHOOK_URL');
  const gatewayUrl = pool.gateway.url ?? read.url('APIM_GATEWAY_URL');
  if (read.issues.length > 0) {
    throw new ConfigError(read.issues);
  }
  return Object.freeze({ gatewayUrl, subscriptionKey, webhookUrl });
}

/** Why a value cannot be sent as a subscription key header (Node refuses control characters in header values). */
function keyProblem(value: string): string | undefined {
  return new RegExp(`^[\\x21-\\x7e]{1,${MAX_KEY_LENGTH}}$`).test(value)
    ? undefined
    : `must be 1–${MAX_KEY_LENGTH} visible ASCII characters (no spaces or control characters)`;
}

/**
 * The names of the settings the definitions name (subscription keys, webhook URLs), sorted and without repeats:
 * for `loadConfig`'s `definitionSettings`, so that a name like `APIM_KEY_GPT4O` is not taken for a mistyped setting.
 */
export function settingsNamedBy(pools: readonly Pick<ResolvedPool, 'gateway' | 'alerts'>[]): string[] {
  const names = new Set<string>();
  for (const pool of pools) {
    if (pool.gateway.subscriptionKeySetting !== undefined) names.add(pool.gateway.subscriptionKeySetting);
    if (pool.alerts.webhookUrlSetting !== undefined) names.add(pool.alerts.webhookUrlSetting);
  }
  return [...names].sort();
}
