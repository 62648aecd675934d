import { CronExpressionParser } from 'cron-parser';

/** Days over which firings are counted: a week covers weekday-only and weekly schedules. */
const DAYS = 7;
const DAY_IN_MS = 86_400_000;

/**
 * A warning when an NCRONTAB schedule fires less than once a day on average over a week (UTC, from a fixed date so
 * the answer does not depend on the clock), else undefined. Such a schedule is valid, but the hour and day windows
 * of the report then hold at most one run's probes, so they can never be conclusive (issue 15: a schedule that
 * fired every four years was accepted without a word).
 */
export function scheduleWarning(schedule: string, key = 'PROBE_SCHEDULE', fromMs = Date.UTC(2026, 0, 5)): string | undefined {
  const expression = CronExpressionParser.parse(schedule, { currentDate: new Date(fromMs - 1), tz: 'UTC' });
  const endMs = fromMs + DAYS * DAY_IN_MS;
  let count = 0;
  // Bounded: stops at the first firing after the week, or once the week is known to have one a day.
  while (count < DAYS && expression.next().getTime() < endMs) {
    count += 1;
  }
  if (count >= DAYS) return undefined;
  return (
    `${key} "${schedule}" fires ${count === 0 ? 'less than once' : `${count} time${count === 1 ? '' : 's'}`} in a week (less than once a day): ` +
    'the hour and day windows hold at most one run each and can never be conclusive; probe at least daily (default every 5 minutes)'
  );
}
