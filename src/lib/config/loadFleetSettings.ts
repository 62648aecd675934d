import { resolve } from 'node:path';

import { loadFleetDefinitions, type FleetEntry } from '../pool/loadFleetDefinitions';
import { ConfigError } from './ConfigError';
import { loadConfig, SETTING_DEFAULTS, type LoadConfigOptions } from './loadConfig';
import { resolvePoolSecrets, settingsNamedBy, type PoolSecrets } from './resolvePoolSecrets';
import type { ConfigIssue, Settings } from './types';

/** One pool of the app with the file it came from and its gateway, key and webhook. */
export interface FleetPool extends FleetEntry {
  readonly secrets: PoolSecrets;
}

/** Options of {@link loadFleetSettings}. */
export interface LoadFleetSettingsOptions {
  /** Folder that a relative POOL_DEFINITION_PATH is resolved against (the app root). */
  readonly appRoot: string;
  /** Reads the definitions; default `loadFleetDefinitions` (tests inject a fake). */
  readonly loadDefinitions?: (path: string) => Promise<readonly FleetEntry[]>;
}

/**
 * Reads the settings and every pool definition POOL_DEFINITION_PATH names (a file or a folder), in the order that
 * lets each check the other:
 * 1. the settings, every rule but those that depend on the definitions: "unknown setting" (a definition may name
 *    `APIM_KEY_GPT4O`) and, in azure, APIM_GATEWAY_URL / APIM_SUBSCRIPTION_KEY being required;
 * 2. the definitions;
 * 3. the settings again, with the names the definitions use counted as known, so a mistyped setting is still
 *    caught, and APIM_GATEWAY_URL / APIM_SUBSCRIPTION_KEY required only when a pool falls back to them;
 * 4. each pool's gateway URL, key and webhook (`resolvePoolSecrets`), every pool's problems in one error.
 *
 * @throws ConfigError (every bad setting of step 1, or of steps 3 and 4 together) or DefinitionError (step 2).
 */
export async function loadFleetSettings(
  env: Readonly<Record<string, string | undefined>>,
  options: LoadFleetSettingsOptions,
): Promise<{ readonly settings: Settings; readonly pools: readonly FleetPool[] }> {
  const load = options.loadDefinitions ?? loadFleetDefinitions;
  let preliminary: Settings;
  try {
    preliminary = loadConfig(env, { definitionSettings: Object.keys(env), everyPoolHasGateway: true, everyPoolNamesKey: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Step 1 failed, so its lenient rules hid some problems (a mistyped setting, a missing gateway). Every problem is
    // named at once: the definitions are read if they can be, and the settings checked strictly against them.
    const path = env.POOL_DEFINITION_PATH?.trim() || SETTING_DEFAULTS.POOL_DEFINITION_PATH;
    const entries = await load(resolve(options.appRoot, path)).catch(() => []);
    loadConfig(env, strictOptionsFor(entries));
    throw error;
  }
  const entries = await load(resolve(options.appRoot, preliminary.poolDefinitionPath));
  const issues: ConfigIssue[] = [];
  let settings = preliminary;
  try {
    settings = loadConfig(env, strictOptionsFor(entries));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  const pools: FleetPool[] = [];
  for (const entry of entries) {
    try {
      pools.push({ ...entry, secrets: resolvePoolSecrets(entry.pool, env) });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // An app-wide setting that is bad for every pool falling back to it: said once.
      for (const issue of error.issues) {
        if (!issues.some((known) => known.key === issue.key && known.message === issue.message)) issues.push(issue);
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { settings, pools };
}

/** The settings rules once the definitions are known: the names they use, and whether every pool has its gateway and key. */
function strictOptionsFor(entries: readonly FleetEntry[]): LoadConfigOptions {
  return {
    definitionSettings: settingsNamedBy(entries.map((entry) => entry.pool)),
    everyPoolHasGateway: entries.length > 0 && entries.every((entry) => entry.pool.gateway.url !== undefined),
    everyPoolNamesKey: entries.length > 0 && entries.every((entry) => entry.pool.gateway.subscriptionKeySetting !== undefined),
  };
}
