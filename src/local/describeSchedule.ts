/**
 * A six-field NCRONTAB schedule (seconds first, as Azure Functions timers use) in words, for the start-up banner:
 * `*\/15 * * * * *` → "every 15 s", `0 *\/5 * * * *` → "every 5 min", `0 0 * * * *` → "every hour"; anything else
 * is quoted as it stands ("on the schedule \"0 30 9 * * 1-5\""). Pure.
 */
export function describeSchedule(schedule: string): string {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length === 6 && fields.slice(3).every((f) => f === '*')) {
    const [second, minute, hour] = fields as [string, string, string];
    const every = (field: string): number | null => {
      if (field === '*') return 1;
      const match = /^\*\/(\d{1,4})$/.exec(field);
      return match ? Number(match[1]) : null;
    };
    const s = every(second);
    if (s !== null && minute === '*' && hour === '*') return s === 1 ? 'every second' : `every ${s} s`;
    const m = every(minute);
    if (second === '0' && m !== null && hour === '*') return m === 1 ? 'every minute' : `every ${m} min`;
    const h = every(hour);
    if (second === '0' && minute === '0' && h !== null) return h === 1 ? 'every hour' : `every ${h} h`;
  }
  return `on the schedule "${schedule.trim()}"`;
}
