import { describeEarlyStop } from '../lib/probe/describeEarlyStop';
import { countOf } from '../lib/report/format';
import type { Report } from '../lib/report/types';

/** Plain-text rendering of a report for terminals and pipeline logs. */
export function formatReportText(report: Report, run: { probesSent: number; tokensUsed: number; stoppedEarly: boolean; stoppedByGatewayThrottle?: boolean }): string {
  const percent = (share: number | null): string => (share === null ? '   –  ' : `${(share * 100).toFixed(1).padStart(5)}%`);
  const lines = [
    `${report.status.toUpperCase()}: ${report.headline}`,
    '',
    '  backend                      region         prio weight  expected  observed  answers  interval',
  ];
  for (const b of report.backends) {
    const interval = b.interval ? `${(b.interval.low * 100).toFixed(1)}–${(b.interval.high * 100).toFixed(1)}%` : '–';
    lines.push(
      `  ${b.name.padEnd(28).slice(0, 28)} ${(b.region ?? '–').padEnd(14).slice(0, 14)} ${String(b.priority).padStart(4)} ${String(b.weight ?? '–').padStart(6)}  ${percent(b.expectedShare)}    ${percent(b.observedShare)}  ${String(b.observedCount).padStart(7)}  ${interval}${b.flagged ? '  ← flagged' : ''}`,
    );
  }
  lines.push('');
  for (const window of report.windows) for (const sentence of window.explanations) lines.push(`  ${sentence}`);
  for (const finding of report.findings) lines.push(`  [${finding.severity}] ${finding.message}`);
  lines.push('');
  lines.push(`  ${countOf(run.probesSent, 'probe')} sent${describeEarlyStop(run)}, ${countOf(run.tokensUsed, 'token')} used.`);
  return `${lines.join('\n')}\n`;
}
