import { formatReportText } from '../../../src/cli/formatReportText';
import { buildReport } from '../../../src/lib/report/buildReport';
import { renderReportHtml } from '../../../src/lib/report/renderReportHtml';
import type { Report } from '../../../src/lib/report/types';
import { describeSentNotification } from '../../../src/lib/verifier/runVerificationCycle';
import { inputOf, labPool, richReportInput, windowOf } from './fixtures';
import { storyReport } from './storyFixture';
import { RULES, textOf } from './proofreading';

/**
 * Proofreading every sentence the report and the logs can produce, over reports of every kind: healthy,
 * inconclusive, drift (with and without the story over the last hour), failover, outage, no data. Each rule
 * names a slip that once shipped ("Alert alert for drift", "Delivered: yes (no channel)", "1 bins").
 */
function reports(): [string, Report][] {
  const pool = labPool({ withBackup: true });
  return [
    ['rich (drift)', buildReport(richReportInput())],
    ['story, run window', storyReport({ primaryWindow: 'run', alerts: true })],
    ['story, hour window', storyReport({ primaryWindow: 'hour', alerts: false })],
    ['ok', buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })] }))],
    ['one answer', buildReport(inputOf({ windows: [windowOf({ name: 'run', status: 'inconclusive', answered: { 'openai-instance1': 1 }, probesNeeded: 1 })], primaryWindow: 'run' }))],
    [
      'failover',
      buildReport(inputOf({ pool, windows: [windowOf({ name: 'hour', pool, status: 'drift', answered: { 'openai-instance1': 450, 'openai-instance2': 229, 'openai-backup': 1 } })] })),
    ],
    ['outage', buildReport(inputOf({ windows: [windowOf({ name: 'run', status: 'no-data', answered: {}, unattributedByStatus: { '500': 1 } })], primaryWindow: 'run' }))],
    ['no data', buildReport(inputOf({ windows: [], primaryWindow: 'hour' }))],
    ['gateway-throttled, over the token budget', throttledReport()],
    // Issue 16: the gateway's own 429s, from the emulator's access log (one breaker trip) and from gateway logs.
    ...(['emulator-access-log', 'gateway-logs'] as const).map((source): [string, Report] => [
      `drift with gateway attempts (${source})`,
      {
        ...buildReport(richReportInput()),
        gatewayAttempts: {
          source,
          perAttempt: source === 'emulator-access-log',
          note: 'Where the numbers come from.',
          from: '2026-11-25T01:00:00.000Z',
          to: '2026-11-25T02:00:00.000Z',
          byBackend: {
            'openai-instance1': { attempts: 120, throttled429: 0, serverErrors: 0, breakerTrips: source === 'gateway-logs' ? null : 0 },
            'openai-instance2': { attempts: 1, throttled429: 1, serverErrors: 0, breakerTrips: source === 'gateway-logs' ? null : 1 },
          },
          unattributed: source === 'gateway-logs' ? 1 : 0,
        },
      },
    ]),
  ];
}

/** A run the gateway's token limit mostly throttled, on a pool whose declared limit one run's probes exceed by 10%. */
function throttledReport(): Report {
  const pool = labPool();
  const run = windowOf({ name: 'run', status: 'inconclusive', answered: { 'openai-instance1': 2, 'openai-instance2': 1 } });
  const evidence = { ...run.evidence, total: run.evidence.total + 1, gatewayThrottled: { count: 1, lastRetryAfterSeconds: 1, remainingTokens: 1 } };
  return buildReport(
    inputOf({
      pool: { ...pool, probe: { ...pool.probe, tokenLimitPerMinute: 100 } },
      windows: [{ ...run, evidence }],
      primaryWindow: 'run',
      budget: { probesPerRun: 100, runsPerHour: 12, plan: [] },
    }),
  );
}

describe('proofreading what the report and the logs say', () => {
  it.each(reports())('the %s report: headline, findings, window explanations, page and CLI text', (_name, report) => {
    const texts = [
      report.headline,
      ...report.findings.map((f) => f.message),
      ...report.windows.flatMap((w) => w.explanations),
      textOf(renderReportHtml(report)),
      formatReportText(report, { probesSent: report.total, tokensUsed: 0, stoppedEarly: false }),
    ];
    for (const text of texts) {
      for (const [rule, pattern] of RULES) {
        const match = pattern.exec(text);
        expect({ rule, found: match ? text.slice(Math.max(0, match.index - 20), match.index + 50) : null }).toEqual({ rule, found: null });
      }
    }
  });

  it.each([
    ['alert', 'ok', 'drift'],
    ['reminder', 'drift', 'drift'],
    ['recovery', 'drift', 'ok'],
  ] as const)('the log line of a %s notification', (kind, previousHealth, health) => {
    for (const [channels, delivered] of [
      [0, true],
      [1, true],
      [1, false],
    ] as const) {
      const line = describeSentNotification({ kind, previousHealth, health, message: 'Weight drift: West US answered 96.3%.' }, channels, delivered);
      for (const [rule, pattern] of RULES) expect({ rule, line, bad: pattern.test(line) }).toEqual({ rule, line, bad: false });
      expect(line).not.toMatch(/^Alert alert/);
    }
    expect(describeSentNotification({ kind: 'alert', previousHealth: 'ok', health: 'drift', message: 'm.' }, 0, true)).toBe(
      'Incident opened (drift), recorded in the report only (no channel configured): m.',
    );
  });
});
