import { buildReport } from '../../../src/lib/report/buildReport';
import { renderReportHtml } from '../../../src/lib/report/renderReportHtml';
import { inputOf, windowOf } from './fixtures';
import { E, RUN_EVERY_MS, START_MS, storyReport, W } from './storyFixture';

describe('the report tells the story over the last hour whatever the headline window', () => {
  it('charts one point per run of the last hour when the headline window is a single run', () => {
    const report = storyReport({ primaryWindow: 'run', alerts: true });
    expect(report.timeline).toHaveLength(1);
    expect(report.history?.window).toBe('hour');
    expect(report.history?.pointsAre).toBe('run');
    expect(report.history?.points).toHaveLength(20);
    expect(report.history?.points[8]).toMatchObject({ verdict: 'drift', shares: { [W]: 1, [E]: 0 } });
    const html = renderReportHtml(report);
    expect(html).toContain('20 runs, one point each, from 01:40:00 to 01:49:30 UTC, 620 identified answers');
    expect(html).not.toMatch(/\b1 bins\b/);
  });

  it('shades the incident the alert log opened and closed, named in text as well as colour', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: true });
    expect(report.history?.incidents).toEqual([{ health: 'drift', fromMs: START_MS + 8 * RUN_EVERY_MS + 5_000, toMs: START_MS + 13 * RUN_EVERY_MS + 5_000 }]);
    const html = renderReportHtml(report);
    expect(html.match(/<rect class="incident" data-health="drift"/g)).toHaveLength(1);
    expect(html).toContain('Shaded: drift from 01:44:05 to 01:46:35.');
  });

  it('without alerting, shades the runs judged drift on their own', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: false });
    expect(report.history?.incidents).toEqual([{ health: 'drift', fromMs: START_MS + 8 * RUN_EVERY_MS, toMs: START_MS + 12 * RUN_EVERY_MS }]);
  });

  it('counts the runs judged on their own as left out, never as lost probes, and caption and headline agree', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: true });
    const hour = report.windows.find((w) => w.name === 'hour')!;
    expect(hour.leftOut).toEqual({ runs: 4, answers: 124 });
    expect(hour.total).toBe(620);
    expect(hour.sampleSize).toBe(496);
    expect(hour.explanations.join(' ')).not.toMatch(/lost|no recorded outcome/);
    expect(hour.explanations.join(' ')).toContain('124 answers of 4 runs judged on their own (see the run verdicts and alerts) are left out of this window');
    expect(report.headline).toContain('over 496 answers from 620 probes in the last hour; 124 answers of 4 runs judged on their own are left out');
    const html = renderReportHtml(report);
    // 496 judged + 124 left out = the 620 answers the chart shows.
    expect(html).toContain('620 identified answers (including those of 4 runs judged on their own, which the hour verdict leaves out)');
    expect(html).toContain('496 / 620 (124 answers of 4 runs judged on their own left out)');
  });

  it('still calls probes with no recorded outcome lost, and only those', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: true, lostProbes: 5 });
    const hour = report.windows.find((w) => w.name === 'hour')!;
    expect(hour.explanations.join(' ')).toContain('5 probes in the last hour have no recorded outcome (lost).');
  });

  it('says when the data is from: the end of the latest run', () => {
    const report = storyReport({ primaryWindow: 'hour', alerts: true });
    expect(report.dataAsOf).toBe(new Date(START_MS + 19 * RUN_EVERY_MS + 5_000).toISOString());
    expect(renderReportHtml(report)).toContain('data as of 2026-11-25 01:49:35 UTC');
  });
});

describe('a throttled backend whose 429s never reach the probes', () => {
  it('is explained: the API policy retried the 429s elsewhere, so only the share shows it, and the gateway logs have them', () => {
    const report = buildReport(
      inputOf({ windows: [windowOf({ name: 'run', status: 'drift', answered: { [W]: 58, [E]: 2 }, flagged: [W, E] })], primaryWindow: 'run' }),
    );
    const hidden = report.findings.filter((f) => f.backend === E && f.message.includes('no 429 reached the probes'));
    expect(hidden).toHaveLength(1);
    expect(hidden[0]!.severity).toBe('info');
    expect(hidden[0]!.message).toContain('ApiManagementGatewayLogs (BackendId, BackendResponseCode)');
    // Only the backend below its share; the one above it is not "throttled".
    expect(report.findings.some((f) => f.backend === W && f.message.includes('no 429'))).toBe(false);
  });

  it('says nothing of the kind when the probes did see its 429s (they are in the errors table)', () => {
    const report = buildReport(
      inputOf({
        windows: [windowOf({ name: 'run', status: 'drift', answered: { [W]: 58, [E]: 2 }, flagged: [W, E], errorsByBackend: { [E]: { '429': 7 } } })],
        primaryWindow: 'run',
      }),
    );
    expect(report.findings.some((f) => f.message.includes('no 429 reached the probes'))).toBe(false);
    expect(report.findings.some((f) => f.kind === 'errors' && f.message.includes('7 × 429'))).toBe(true);
  });
});
