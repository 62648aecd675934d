import { CronExpressionParser } from 'cron-parser';

/** Firings counted at most (an every-second schedule fires 86,400 times a day). */
const MAX_FIRINGS = 86_400;

/**
 * How many times an NCRONTAB schedule fires in an hour, averaged over one day [fromMs, fromMs + 24 h) in UTC.
 * Firings exactly at `fromMs` count (cron-parser's `next()` is strictly after its start, hence `fromMs − 1`).
 * Call once per schedule: the schedule does not change while the app runs.
 */
export function runsPerHourOf(schedule: string, fromMs = Date.UTC(2026, 0, 1)): number {
  const expression = CronExpressionParser.parse(schedule, { currentDate: new Date(fromMs - 1), tz: 'UTC' });
  const endMs = fromMs + 24 * 3_600_000;
  let count = 0;
  while (count < MAX_FIRINGS) {
    if (expression.next().getTime() >= endMs) break;
    count += 1;
  }
  return count / 24;
}

/**
 * The longest gap between two consecutive firings of an NCRONTAB schedule over one day from `fromMs` (UTC), in
 * milliseconds; a day when it fires at most once a day.
 */
export function longestIntervalInMsOf(schedule: string, fromMs = Date.UTC(2026, 0, 1)): number {
  const expression = CronExpressionParser.parse(schedule, { currentDate: new Date(fromMs - 1), tz: 'UTC' });
  const endMs = fromMs + 24 * 3_600_000;
  let previous: number | undefined;
  let longest = 0;
  for (let count = 0; count < MAX_FIRINGS; count++) {
    const next = expression.next().getTime();
    if (previous !== undefined) longest = Math.max(longest, next - previous);
    if (next >= endMs) break;
    previous = next;
  }
  return longest > 0 ? longest : 24 * 3_600_000;
}
