import type { Services } from '../../src/app/createServices';
import { cachedReport, invalidateReports, REPORT_CACHE_TTL_IN_MS } from '../../src/app/reportCache';
import type { Report } from '../../src/lib/report/types';

/** Just what the cache reads of the services: the newest run of the declared pool. */
function fakeServices(latest: { runId: string; state: string }[]): Services {
  return { declaredPool: { name: 'p' }, state: { recentRuns: async () => latest } } as unknown as Services;
}

describe('the report cache', () => {
  it('builds once for many concurrent requests of one window', async () => {
    const services = fakeServices([{ runId: 'r1', state: 'complete' }]);
    let builds = 0;
    const build = async (): Promise<Report> => {
      builds += 1;
      return { status: 'ok' } as Report;
    };
    const answers = await Promise.all(Array.from({ length: 50 }, () => cachedReport(services, 'hour', build, 1_000)));
    expect(builds).toBe(1);
    expect(new Set(answers).size).toBe(1);
  });

  it('builds afresh after the time to live, after a run finishes, and after invalidation', async () => {
    const runs = [{ runId: 'r1', state: 'running' }];
    const services = fakeServices(runs);
    let builds = 0;
    const build = async (): Promise<Report> => ({ status: `build-${(builds += 1)}` }) as unknown as Report;
    await cachedReport(services, 'hour', build, 0);
    await cachedReport(services, 'hour', build, REPORT_CACHE_TTL_IN_MS - 1);
    expect(builds).toBe(1);
    await cachedReport(services, 'hour', build, REPORT_CACHE_TTL_IN_MS);
    expect(builds).toBe(2);
    runs[0] = { runId: 'r1', state: 'complete' };
    await cachedReport(services, 'hour', build, REPORT_CACHE_TTL_IN_MS);
    expect(builds).toBe(3);
    invalidateReports();
    await cachedReport(services, 'hour', build, REPORT_CACHE_TTL_IN_MS);
    expect(builds).toBe(4);
    // Each window has its own entry.
    await cachedReport(services, 'day', build, REPORT_CACHE_TTL_IN_MS);
    expect(builds).toBe(5);
  });

  it('does not keep a failed build', async () => {
    const services = fakeServices([]);
    await expect(cachedReport(services, 'hour', () => Promise.reject(new Error('logs down')), 0)).rejects.toThrow('logs down');
    await expect(cachedReport(services, 'hour', async () => ({ status: 'ok' }) as Report, 1)).resolves.toEqual({ status: 'ok' });
  });
});
