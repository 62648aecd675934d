import { CronExpressionParser } from 'cron-parser';

/** How many times an NCRONTAB schedule fires in an hour (measured over the next 24 hours, UTC). */
export function runsPerHourOf(schedule: string, fromMs = Date.UTC(2026, 0, 1)): number {
  const expression = CronExpressionParser.parse(schedule, { currentDate: new Date(fromMs), tz: 'UTC' });
  const endMs = fromMs + 24 * 3_600_000;
  let count = 0;
  // Bounded: at most one firing per second for a day.
  while (count <= 86_400) {
    const next = expression.next().getTime();
    if (next >= endMs) break;
    count += 1;
  }
  return count / 24;
}
