import type { ConfigIssue } from './types';

/**
 * Prefixes that mark a setting as ours. `ARM_` and `AZURE_` are left out on purpose: Terraform (`ARM_CLIENT_ID`)
 * and the Azure SDK (`AZURE_TENANT_ID`) use them for their own settings, which may share the environment; so is
 * `AzureWebJobsStorage__`, whose other keys belong to the Functions host.
 */
export const OUR_PREFIXES: readonly string[] = Object.freeze([
  'APIM_',
  'PROBE_',
  'VERDICT_',
  'REPORT_',
  'LOGS_',
  'DEPLOY_',
  'ALERT_',
  'STORE_',
  'TELEMETRY_',
  'VERIFIER_',
  'ALL_TRAFFIC_',
]);

/** Names longer than this are not compared (bounds the edit-distance work; no real setting is this long). */
const MAX_NAME_LENGTH = 100;
/** Unknown names reported at most (an environment could hold thousands). */
const MAX_REPORTED = 20;

/**
 * Setting names in `env` that look like ours (a prefix of {@link OUR_PREFIXES}, any case) but are not in `known`,
 * each with the closest known name when one is near (edit distance ≤ 3, or the same name but for case), e.g.
 * `PROBE_MAX_REQUEST: is not a known setting; did you mean PROBE_MAX_REQUESTS?`. Values are never read.
 */
export function unknownSettingIssues(env: Readonly<Record<string, string | undefined>>, known: readonly string[]): ConfigIssue[] {
  const knownSet = new Set(known);
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(env).sort()) {
    if (knownSet.has(key) || !OUR_PREFIXES.some((prefix) => key.toUpperCase().startsWith(prefix.toUpperCase()))) continue;
    if (issues.length >= MAX_REPORTED) break;
    const suggestion = closest(key, known);
    issues.push({
      key: key.length > MAX_NAME_LENGTH ? `${key.slice(0, MAX_NAME_LENGTH)}…` : key,
      message: suggestion ? `is not a known setting; did you mean ${suggestion}?` : 'is not a known setting (see the settings table in the README)',
    });
  }
  return issues;
}

function closest(name: string, known: readonly string[]): string | undefined {
  if (name.length > MAX_NAME_LENGTH) return undefined;
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = key.toUpperCase() === name.toUpperCase() ? 0 : editDistance(name.toUpperCase(), key.toUpperCase());
    if (distance <= 3 && (best === undefined || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

/** Levenshtein distance, two rows of memory. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
