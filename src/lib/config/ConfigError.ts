import type { ConfigIssue } from './types';

/**
 * The settings cannot be used. Carries every bad setting at once (not just the first), each naming its key;
 * the bad value is echoed only for keys that are not secret.
 *
 * The message reads:
 * ```
 * 2 invalid settings:
 *   PROBE_MAX_REQUESTS: must be an integer from 1 to 10000, got "6e1"
 *   APIM_SUBSCRIPTION_KEY: is required when APIM_GATEWAY_URL is set
 * ```
 */
export class ConfigError extends Error {
  /** Every bad setting, in the order the settings are read. Never empty. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const heading = `${issues.length} invalid setting${issues.length === 1 ? '' : 's'}:`;
    super([heading, ...issues.map((issue) => `  ${issue.key}: ${issue.message}`)].join('\n'), options);
    this.name = 'ConfigError';
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ key: issue.key, message: issue.message })));
  }
}
