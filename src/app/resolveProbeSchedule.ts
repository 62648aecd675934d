import { CronExpressionParser } from 'cron-parser';

/** The default probe schedule: every 5 minutes (NCRONTAB with seconds, as Azure Functions timers use). */
export const DEFAULT_PROBE_SCHEDULE = '0 */5 * * * *';

/**
 * The timer's schedule at registration time. Registration must not throw (a throw would stop the whole app from
 * indexing), so an invalid PROBE_SCHEDULE falls back to the default here while `loadConfig` reports it as an error
 * that names the key in the logs, the report and `/api/health`.
 */
export function resolveProbeSchedule(env: Readonly<Record<string, string | undefined>>): string {
  const value = env.PROBE_SCHEDULE?.trim();
  if (!value || value.split(/\s+/).length !== 6) return DEFAULT_PROBE_SCHEDULE;
  try {
    CronExpressionParser.parse(value);
    return value;
  } catch {
    return DEFAULT_PROBE_SCHEDULE;
  }
}
