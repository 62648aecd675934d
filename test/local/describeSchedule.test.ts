import { describeSchedule } from '../../src/local/describeSchedule';
import { DEFAULT_PROBE_SCHEDULE } from '../../src/app/resolveProbeSchedule';

describe('describeSchedule (the start-up banner says how often it really probes)', () => {
  it.each([
    ['*/15 * * * * *', 'every 15 s'],
    [DEFAULT_PROBE_SCHEDULE, 'every 5 min'],
    ['0 * * * * *', 'every minute'],
    ['0 0 * * * *', 'every hour'],
    ['0 0 */6 * * *', 'every 6 h'],
    ['0 30 9 * * 1-5', 'on the schedule "0 30 9 * * 1-5"'],
    ['  */30 * * * * *  ', 'every 30 s'],
  ])('%s → %s', (schedule, words) => {
    expect(describeSchedule(schedule)).toBe(words);
  });
});
