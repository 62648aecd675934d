import { escapeHtml } from './escapeHtml';
import { countOf, describeWindow, formatCount, formatMs, formatPercent, labelBackends } from './format';
import { healthOf } from './healthOf';
import { contentSecurityPolicyFor, HEALTH_LABEL, ICONS, refreshSecondsOf, renderHead, table, tag, utc, utcSeconds, type Tone } from './htmlPage';
import { renderShareBars } from './renderShareBars';
import { renderTimelineChart } from './renderTimelineChart';
import { REPORT_STYLE } from './reportStyle';
import type { Report, ReportFinding } from './types';

export { REFRESH_LIMITS } from './htmlPage';

const POLICY = contentSecurityPolicyFor(REPORT_STYLE);

/**
 * The Content-Security-Policy to send with the report HTML: nothing may load (no script at all, no external
 * font, image or stylesheet); the only style is the inline block, allowed by its hash rather than
 * `'unsafe-inline'`. `frame-ancestors` only works as a header, which is why the page's own `<meta>` copy omits it.
 */
export const REPORT_CONTENT_SECURITY_POLICY = POLICY.header;

/** How the page is served: optional auto-refresh, and whether to link the other windows. */
export interface RenderOptions {
  /**
   * Reload the page every this many seconds (a `<meta http-equiv="refresh">`, which the CSP does not govern and
   * which needs no script). Must already be validated ({@link REFRESH_LIMITS}); anything else is ignored.
   */
  readonly refreshSeconds?: number;
  /** Link to the run / hour / day views as relative `?window=…&format=html` URLs (default true). */
  readonly windowLinks?: boolean;
  /**
   * The page is one pool of a fleet (default: absent, a single-pool page as before): it links back to the fleet
   * overview (`?format=html`, keeping the refresh) and its window links keep `pool` (and `service`, when given).
   */
  readonly fleet?: { readonly pool: string; readonly service?: string };
}

/** The HTML and the CSP header value to serve it with. */
export function renderReport(report: Report, options: RenderOptions = {}): { html: string; contentSecurityPolicy: string } {
  return { html: renderReportHtml(report, options), contentSecurityPolicy: POLICY.header };
}

interface Banner {
  readonly label: string;
  readonly tone: Tone;
  readonly icon: string;
}

function bannerOf(report: Report): Banner {
  const health = report.health ?? healthOf(report);
  const label = HEALTH_LABEL[health];
  if (health !== 'ok' && label !== undefined) return { label, tone: 'bad', icon: ICONS.bad };
  switch (report.status) {
    case 'ok':
      return { label: 'OK', tone: 'ok', icon: ICONS.ok };
    case 'inconclusive':
      return { label: 'INCONCLUSIVE', tone: 'info', icon: ICONS.info };
    case 'no-data':
      return { label: 'NO DATA', tone: 'warn', icon: ICONS.warn };
    default:
      return { label: String(report.status).toUpperCase(), tone: 'bad', icon: ICONS.bad };
  }
}

const STATUS_TONE: Readonly<Record<string, Tone>> = { ok: 'ok', drift: 'bad', inconclusive: 'info', 'no-data': 'warn' };
const SEVERITY_TONE: Readonly<Record<ReportFinding['severity'], Tone>> = { alert: 'bad', warning: 'warn', info: 'info' };

/** A compact span: `01:00–02:00 UTC` within one day, otherwise `11-24 02:00 – 11-25 02:00 UTC`. */
function span(fromIso: string, toIso: string): string {
  const from = new Date(fromIso);
  const to = new Date(toIso);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return `${fromIso} to ${toIso}`;
  const f = from.toISOString();
  const t = to.toISOString();
  return f.slice(0, 10) === t.slice(0, 10)
    ? `${f.slice(11, 16)}–${t.slice(11, 16)} UTC`
    : `${f.slice(5, 10)} ${f.slice(11, 16)} – ${t.slice(5, 10)} ${t.slice(11, 16)} UTC`;
}

/**
 * Renders the report as one self-contained HTML page: inline CSS and SVG only, no script, no external resource,
 * readable on a phone. Every text comes from the report and is HTML-escaped; every chart has its numbers beside
 * it in text; colour always comes with a text label, a marker shape or a hatch pattern. Pure.
 */
export function renderReportHtml(report: Report, options: RenderOptions = {}): string {
  const labels = labelBackends(report.backends.map((b) => ({ name: b.name, region: b.region ?? undefined })));
  const banner = bannerOf(report);
  const title = `${banner.label}${banner.label.toLowerCase() !== report.status ? ` (${report.status})` : ''} · ${report.pool} · APIM pool verifier`;
  const refresh = refreshSecondsOf(options.refreshSeconds);
  const identified = report.backends.reduce((s, b) => s + b.observedCount, 0);
  const sections: Section[] = [
    { id: 'findings', heading: report.findings.length === 0 ? 'Findings' : `Findings (${report.findings.length})`, body: renderFindings(report) },
    {
      id: 'timeline',
      heading: 'Share over time',
      body: renderTimelineChart(report, labels),
    },
    {
      id: 'shares',
      heading: 'Expected vs observed share',
      body: `<p class="small muted">Share of identified answers ${escapeHtml(describeWindow(report.window.name))} (${escapeHtml(`${formatCount(identified)} ${identified === 1 ? 'answer' : 'answers'} of ${formatCount(report.total)} ${report.total === 1 ? 'probe' : 'probes'}`)}${escapeHtml(leftOutNote(report))}).</p>${renderShareBars(report.backends, labels, new Set(report.failover?.backends.filter((b) => b.count > 0).map((b) => b.backend) ?? []))}${renderShareTable(report, labels)}`,
    },
    { id: 'errors', heading: 'Errors and latency per backend', body: renderErrors(report, labels) },
    { id: 'tokens', heading: 'Gateway token limit and the verifier\'s token use', body: renderTokens(report), collapsed: (report.gatewayThrottled?.count ?? 0) === 0 },
    { id: 'failover', heading: 'Failover', body: renderFailover(report, labels), collapsed: !report.failover || report.failover.count === 0 },
    { id: 'windows', heading: 'Verdict per window', body: renderWindows(report) },
    { id: 'alerts', heading: 'Alerts', body: renderAlerts(report) },
    { id: 'deploy', heading: 'Deployed vs declared', body: renderDeploy(report), collapsed: true },
    { id: 'budget', heading: 'Probe budget and what it can detect', body: renderBudget(report), collapsed: true },
    { id: 'source', heading: 'Data source', body: renderSource(report), collapsed: !report.dataSource.degraded },
  ];
  const poolQuery = options.fleet ? poolQueryOf(options.fleet) : '';
  const links =
    (options.fleet ? `<p class="fleet-link"><a href="?format=html${refresh !== undefined ? `&amp;refresh=${refresh}` : ''}">← All pools (fleet overview)</a></p>` : '') +
    (options.windowLinks === false ? '' : renderWindowLinks(report.window.name, refresh, poolQuery));
  return `${renderHead({ title, style: REPORT_STYLE, metaPolicy: POLICY.meta, refreshSeconds: refresh })}
<body>
<header class="banner st-${banner.tone}" role="status">
<div class="banner-inner">
<div class="verdict">${banner.icon}<div><h1>${escapeHtml(banner.label)} · ${escapeHtml(report.pool)}</h1><p class="headline">${escapeHtml(report.headline)}</p></div></div>
<p class="meta">Window: ${escapeHtml(report.window.name)} (${escapeHtml(utc(report.window.from))} to ${escapeHtml(utc(report.window.to))}) · data as of ${escapeHtml(report.dataAsOf ? utcSeconds(report.dataAsOf) : 'no data yet')} · generated ${escapeHtml(utcSeconds(report.generatedAt))}${refresh !== undefined ? ` · refreshes every ${escapeHtml(String(refresh))} s` : ''} · source: ${escapeHtml(report.dataSource.kind)}${report.dataSource.degraded ? ' · <strong>data incomplete</strong>' : ''}</p>
${links}
</div>
</header>
<main>
<nav class="toc" aria-label="Sections"><ul>${sections.map((sec) => `<li><a href="#${escapeHtml(sec.id)}">${escapeHtml(sec.heading)}</a></li>`).join('')}</ul></nav>
${sections.map(section).join('\n')}
</main>
<footer>apim-pool-verifier · report schema v${escapeHtml(report.schemaVersion)} · the same data is served as JSON.</footer>
</body>
</html>
`;
}

interface Section {
  readonly id: string;
  readonly heading: string;
  readonly body: string;
  /** Secondary sections start folded (a `<details>`, no script), so the page opens on the story, not on tables. */
  readonly collapsed?: boolean;
}

function section(s: Section): string {
  const id = escapeHtml(s.id);
  const heading = `<h2 id="h-${id}">${escapeHtml(s.heading)}</h2>`;
  return s.collapsed
    ? `<section id="${id}" aria-labelledby="h-${id}"><details class="fold"><summary>${heading}</summary>\n${s.body}\n</details></section>`
    : `<section id="${id}" aria-labelledby="h-${id}">${heading}\n${s.body}\n</section>`;
}

/** Relative links to the same page for each window; the current one is marked, not linked. */
function renderWindowLinks(current: string, refresh: number | undefined, poolQuery: string): string {
  const items = (['run', 'hour', 'day'] as const).map((w) => {
    const label = w === 'run' ? 'Latest run' : w === 'hour' ? 'Last hour' : 'Last day';
    if (w === current) return `<li><strong aria-current="page">${label}</strong></li>`;
    return `<li><a href="?${poolQuery}window=${w}&amp;format=html${refresh !== undefined ? `&amp;refresh=${refresh}` : ''}">${label}</a></li>`;
  });
  return `<nav class="windows" aria-label="Headline window"><ul>${items.join('')}</ul></nav>`;
}

/** `pool=<name>&amp;` (and `service=<name>&amp;`), URL-encoded then HTML-escaped, to prefix a query string in an href. */
function poolQueryOf(fleet: { readonly pool: string; readonly service?: string }): string {
  const query = `pool=${encodeURIComponent(fleet.pool)}&${fleet.service !== undefined ? `service=${encodeURIComponent(fleet.service)}&` : ''}`;
  return escapeHtml(query);
}

/** ` (124 answers of 4 runs judged on their own left out)` when the primary window left flagged runs out. */
function leftOutNote(report: Report): string {
  const left = report.windows.find((w) => w.name === report.window.name)?.leftOut;
  if (!left || left.runs === 0) return '';
  return `; ${formatCount(left.answers)} ${left.answers === 1 ? 'answer' : 'answers'} of ${formatCount(left.runs)} ${left.runs === 1 ? 'run' : 'runs'} judged on ${left.runs === 1 ? 'its' : 'their'} own left out`;
}

function renderFindings(report: Report): string {
  if (report.findings.length === 0) return '<p>Nothing to report: no drift, failover, errors or configuration differences.</p>';
  const order = { alert: 0, warning: 1, info: 2 } as const;
  const items = [...report.findings]
    .sort((a, b) => order[a.severity] - order[b.severity])
    .map((f) => `<li>${tag(f.severity.toUpperCase(), SEVERITY_TONE[f.severity] ?? 'info')}<span><strong>${escapeHtml(f.kind)}</strong>: ${escapeHtml(f.message)}</span></li>`)
    .join('\n');
  return `<ul class="findings">${items}</ul>`;
}

function renderShareTable(report: Report, labels: ReadonlyMap<string, string>): string {
  const rows = report.backends.map((b) => [
    escapeHtml(labels.get(b.name) === b.name ? b.name : `${labels.get(b.name)} (${b.name})`),
    escapeHtml(String(b.priority)),
    escapeHtml(b.weight === null ? '—' : String(b.weight)),
    escapeHtml(formatPercent(b.expectedShare)),
    escapeHtml(formatCount(b.observedCount)),
    escapeHtml(formatPercent(b.observedShare)),
    escapeHtml(b.interval ? `${formatPercent(b.interval.low)}–${formatPercent(b.interval.high)}` : '—'),
    escapeHtml(b.deviationInPoints === null ? '—' : `${b.deviationInPoints >= 0 ? '+' : '−'}${Math.abs(b.deviationInPoints).toFixed(1)}`),
    b.flagged ? tag('FLAGGED', 'bad') : 'no',
  ]);
  return `<details><summary>Shares (table)</summary>${table(
    ['Backend', 'Priority', 'Weight', 'Expected', 'Answers', 'Observed', 'Interval', 'Points off', 'Flagged'],
    rows,
    new Set([1, 2, 3, 4, 5, 6, 7]),
  )}</details>`;
}

function renderErrors(report: Report, labels: ReadonlyMap<string, string>): string {
  const is5xx = (s: string): boolean => /^5\d\d$/.test(s);
  const sum = (byStatus: Readonly<Record<string, number>>, pick: (s: string) => boolean): number =>
    Object.entries(byStatus).reduce((acc, [s, n]) => acc + (pick(s) ? n : 0), 0);
  const detail = (byStatus: Readonly<Record<string, number>>): string =>
    Object.entries(byStatus)
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([s, n]) => `${formatCount(n)} × ${s}`)
      .join(', ') || 'none';
  const attributed: Record<string, number> = {};
  // Issue 16: the gateway's own 429s beside the probes' (only when a record of them is known).
  const gateway = report.gatewayAttempts ?? null;
  const gatewayCell = (counts: { attempts: number; throttled429: number } | undefined): string[] =>
    gateway === null ? [] : [escapeHtml(counts === undefined ? '—' : `${formatCount(counts.throttled429)} of ${formatCount(counts.attempts)}`)];
  const rows = report.backends.map((b) => {
    for (const [s, n] of Object.entries(b.errorsByStatus)) attributed[s] = (attributed[s] ?? 0) + n;
    return [
      escapeHtml(labels.get(b.name) ?? b.name),
      escapeHtml(formatCount(b.observedCount)),
      escapeHtml(formatCount(sum(b.errorsByStatus, (s) => s === '429'))),
      ...gatewayCell(gateway?.byBackend[b.name]),
      escapeHtml(formatCount(sum(b.errorsByStatus, is5xx))),
      escapeHtml(formatCount(sum(b.errorsByStatus, (s) => s === '401' || s === '403'))),
      '—',
      escapeHtml(formatMs(b.latencyP50InMs)),
      escapeHtml(formatMs(b.latencyP95InMs)),
      escapeHtml(detail(b.errorsByStatus)),
    ];
  });
  const rest: Record<string, number> = {};
  for (const [s, n] of Object.entries(report.errors.byStatus)) {
    const left = n - (attributed[s] ?? 0);
    if (left > 0) rest[s] = left;
  }
  rows.push([
    '<em>not attributed</em>',
    escapeHtml(formatCount(report.unidentified.count)),
    escapeHtml(formatCount(sum(rest, (s) => s === '429'))),
    ...(gateway === null ? [] : [escapeHtml(gateway.unattributed > 0 ? `${formatCount(gateway.unattributed)} ${gateway.unattributed === 1 ? 'call' : 'calls'}` : '—')]),
    escapeHtml(formatCount(sum(rest, is5xx))),
    escapeHtml(formatCount(sum(rest, (s) => s === '401' || s === '403'))),
    escapeHtml(`${formatCount(report.errors.timeout)} / ${formatCount(report.errors.network)}`),
    '—',
    '—',
    escapeHtml(detail(rest)),
  ]);
  const headers = ['Backend', '2xx answers', '429', ...(gateway === null ? [] : ['429 at the gateway']), '5xx', '401/403', 'Timeouts / network', 'Latency p50', 'Latency p95', 'By status'];
  return `${table(headers, rows, new Set(headers.map((_, i) => i).filter((i) => i > 0 && i < headers.length - 1)))}${gateway === null ? '' : `
<p class="small">${escapeHtml(describeGatewayColumn(gateway))}</p>`}
<p class="small muted">Counts are what reached the probes. A 429 that the API policy retried on another backend reaches the probe as that backend's answer, and a backend whose circuit breaker tripped gets no traffic: a throttled backend can show 0 × 429 and only a lower share (the gateway's own logs show its attempts). A timeout or network failure carries no identifying header, so it cannot be attributed to a backend. "Not attributed" 2xx answers are answers whose identifier matched no backend. Latency is the probe's round trip through the gateway.</p>`;
}

/** What the gateway's token limit did to the probes, and the verifier's own token use against the API's limit. */
function renderTokens(report: Report): string {
  const parts: string[] = [];
  const where = describeWindow(report.window.name);
  const throttled = report.gatewayThrottled;
  if (throttled && throttled.count > 0) {
    const details = [
      throttled.lastRetryAfterSeconds === null ? null : `Last Retry-After: ${formatCount(throttled.lastRetryAfterSeconds)} s.`,
      throttled.remainingTokens === null ? null : `Remaining tokens when last seen: ${formatCount(throttled.remainingTokens)}.`,
    ].filter((d): d is string => d !== null);
    parts.push(
      `<p>${tag('THROTTLED', 'warn')} The gateway's token limit throttled ${escapeHtml(formatCount(throttled.count))} of the verifier's ${escapeHtml(countOf(report.total, 'probe'))} ${escapeHtml(where)}: ` +
        `APIM answered 429 itself, before choosing a backend, so these are the verifier's probes being refused, not a backend failing. They are left out of the shares, the errors and the outage check.${details.length > 0 ? ` ${escapeHtml(details.join(' '))}` : ''}</p>`,
    );
  } else if (report.dataSource.kind === 'all-traffic') {
    parts.push('<p class="muted">The evidence is real traffic, in which the gateway\'s token-limit answers are not told apart.</p>');
  } else if (report.total > 0) {
    parts.push(`<p class="muted">No probe ${escapeHtml(where)} was throttled by the gateway's token limit.${throttled !== undefined && throttled.remainingTokens !== null ? ` Remaining tokens when last seen: ${escapeHtml(formatCount(throttled.remainingTokens))}.` : ''}</p>`);
  }
  const use = report.tokenUse;
  if (!use) {
    parts.push('<p class="muted">No token use recorded: no answer carried usage or a consumed-tokens header.</p>');
  } else {
    const perProbe = use.tokensPerProbe === null ? '' : ` (${formatCount(use.tokensPerProbe)} per answered probe${use.tokensPerRun === null ? '' : `, about ${formatCount(use.tokensPerRun)} per run`})`;
    parts.push(`<p>The verifier's probes used ${escapeHtml(countOf(use.tokensUsed, 'token'))} ${escapeHtml(where)}: <strong>${escapeHtml(formatCount(use.tokensPerMinute))} tokens per minute</strong>${escapeHtml(perProbe)}.</p>`);
    if (use.limitPerMinute === null) {
      parts.push('<p class="small muted">The definition declares no token limit (probe.tokenLimitPerMinute), so use is not compared with one.</p>');
    } else if (use.runShareOfLimitPercent !== null) {
      const over = use.runShareOfLimitPercent > use.warnAbovePercent;
      parts.push(
        `<p>${over ? tag('OVER', 'warn') : tag('OK', 'ok')} A full run uses ${escapeHtml(String(use.runShareOfLimitPercent))}% of the API's limit of ${escapeHtml(formatCount(use.limitPerMinute))} tokens per minute (a finding warns above ${escapeHtml(String(use.warnAbovePercent))}%).</p>`,
      );
    } else {
      parts.push(`<p class="small muted">The API's limit is ${escapeHtml(formatCount(use.limitPerMinute))} tokens per minute; no answered probe yet to compare one run's use with it.</p>`);
    }
  }
  return parts.join('\n');
}

/** The sentence under the errors table that says where "429 at the gateway" comes from. */
function describeGatewayColumn(gateway: NonNullable<Report['gatewayAttempts']>): string {
  const span = `${gateway.from.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} to ${gateway.to.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`;
  const trips = Object.values(gateway.byBackend).reduce((acc, c) => acc + (c.breakerTrips ?? 0), 0);
  const tripText = trips > 0 ? ` ${formatCount(trips)} ${trips === 1 ? 'answer' : 'answers'} tripped a circuit breaker; the gateway then sends that backend nothing until the breaker closes.` : '';
  return `"429 at the gateway" (N of M): N answers of 429 among the M calls to that backend the gateway recorded from ${span}. ${gateway.note}${tripText}`;
}

function renderFailover(report: Report, labels: ReadonlyMap<string, string>): string {
  const failoverFindings = report.findings.filter((f) => f.kind === 'failover');
  if (!report.failover || report.failover.count === 0) {
    const elsewhere = failoverFindings.map((f) => `<p>${tag('ALERT', 'bad')} ${escapeHtml(f.message)}</p>`).join('');
    return elsewhere || `<p>${tag('NONE', 'ok')} No answer came from a lower-priority backend ${escapeHtml(describeWindow(report.window.name))}.</p>`;
  }
  const rows = report.failover.backends.map((b) => [escapeHtml(labels.get(b.backend) ?? b.backend), escapeHtml(String(b.priority)), escapeHtml(formatCount(b.count))]);
  return `<p>${tag('FAILOVER', 'bad')} ${escapeHtml(countOf(report.failover.count, 'answer'))} ${escapeHtml(describeWindow(report.window.name))} came from outside the best priority group, which should get none while a preferred backend is available. Possible causes: a preferred backend's circuit breaker was open, a preferred member was removed or disabled, or the deployed pool differs from its definition; the probes alone cannot tell which.</p>
${table(['Backend', 'Priority', 'Answers'], rows, new Set([1, 2]))}`;
}

function renderWindows(report: Report): string {
  if (report.windows.length === 0) return '<p>No window was evaluated.</p>';
  const rows = report.windows.map((w) => [
    `<strong>${escapeHtml(w.name)}</strong>${w.name === report.window.name ? ' <span class="muted small">(primary)</span>' : ''}`,
    tag(w.status.toUpperCase(), STATUS_TONE[w.status] ?? 'info'),
    escapeHtml(span(w.from, w.to)),
    escapeHtml(
      `${formatCount(w.sampleSize)} / ${formatCount(w.total)}` +
        (w.leftOut && w.leftOut.runs > 0 ? ` (${countOf(w.leftOut.answers, 'answer')} of ${formatCount(w.leftOut.runs)} ${w.leftOut.runs === 1 ? 'run' : 'runs'} judged on ${w.leftOut.runs === 1 ? 'its' : 'their'} own left out)` : ''),
    ),
    escapeHtml(String(w.alpha)),
    escapeHtml(w.probesNeeded === null ? '—' : formatCount(w.probesNeeded)),
    [...w.explanations, ...(w.decidedByText ? [`Decided by ${w.decidedByText}.`] : [])].map((e) => escapeHtml(e)).join('<br>') || '—',
  ]);
  return table(['Window', 'Verdict', 'Span', 'Answers / probes', 'α', 'More needed', 'Why'], rows, new Set([3, 4, 5]));
}

function renderDeploy(report: Report): string {
  const parts: string[] = [];
  const drift = report.configDrift;
  if (!drift) {
    parts.push('<p class="muted">The deployed definition was not compared with the declared one (no APIM service configured, or not checked yet).</p>');
  } else if (drift.error) {
    parts.push(`<p>${tag('UNKNOWN', 'warn')} Checked ${escapeHtml(utc(drift.checkedAt))}: the deployed definition could not be read (${escapeHtml(drift.error.message)}).</p>`);
  } else if (drift.differences.length === 0) {
    parts.push(`<p>${tag('MATCHES', 'ok')} Checked ${escapeHtml(utc(drift.checkedAt))}: what is deployed matches the definition.</p>`);
  } else {
    parts.push(`<p>${tag('DIFFERS', 'bad')} Checked ${escapeHtml(utc(drift.checkedAt))}: ${escapeHtml(formatCount(drift.differences.length))} difference(s).</p>`);
    parts.push(
      table(
        ['Resource', 'Field', 'Declared', 'Deployed'],
        drift.differences.map((d) => [escapeHtml(d.resource), `<code>${escapeHtml(d.field)}</code>`, escapeHtml(d.declared ?? '(absent)'), escapeHtml(d.deployed ?? '(absent)')]),
      ),
    );
  }
  const deploy = report.lastDeploy;
  parts.push('<h3>Last deploy</h3>');
  if (!deploy) {
    parts.push('<p class="muted">No deploy recorded.</p>');
  } else {
    const tone = deploy.status === 'succeeded' ? 'ok' : deploy.status === 'failed' ? 'bad' : 'info';
    parts.push(`<p>${tag(deploy.status.toUpperCase(), tone)} ${escapeHtml(deploy.mode)} finished ${escapeHtml(utc(deploy.finishedAt))}: ${escapeHtml(deploy.summary)}</p>`);
    if (deploy.actions.length > 0) {
      parts.push(
        table(
          ['Resource', 'Kind', 'Plan', 'Result', 'Changed fields / error'],
          deploy.actions.map((a) => [
            escapeHtml(a.resource),
            escapeHtml(a.kind),
            escapeHtml(a.plan),
            a.result === 'failed' ? tag('FAILED', 'bad') : escapeHtml(a.result),
            escapeHtml(a.error ? a.error.message : a.changedFields.join(', ') || '—'),
          ]),
        ),
      );
    }
  }
  parts.push('<h3>API policy</h3>');
  parts.push(
    report.policy.length === 0
      ? '<p class="muted">No policy warning.</p>'
      : `<ul class="findings">${report.policy.map((p) => `<li>${tag('WARNING', 'warn')}<span><code>${escapeHtml(p.code)}</code> ${escapeHtml(p.message)}</span></li>`).join('')}</ul>`,
  );
  return parts.join('\n');
}

function renderAlerts(report: Report): string {
  const parts: string[] = [];
  const state = report.alerts.state;
  if (!state) {
    parts.push('<p class="muted">No alert state yet.</p>');
  } else {
    const tone = state.health === 'ok' ? 'ok' : 'bad';
    parts.push(
      `<p>${tag(state.health.toUpperCase(), tone)} since ${escapeHtml(utc(state.since))}; last notified ${escapeHtml(utc(state.lastNotifiedAt))}` +
        (state.pending
          ? `; <strong>a ${escapeHtml(state.pending.kind)} is waiting to be delivered</strong>` +
            (state.pendingNotBefore ? ` (tried again by the first run after ${escapeHtml(utc(state.pendingNotBefore))})` : ' (tried again by a later run)')
          : '') +
        '.</p>',
    );
  }
  if (report.alerts.recent.length === 0) {
    parts.push('<p class="muted">No notification sent recently.</p>');
  } else {
    parts.push(
      table(
        ['When', 'Kind', 'Health', 'Delivered', 'Message'],
        report.alerts.recent.map((a) => [
          escapeHtml(utc(a.at)),
          escapeHtml(a.kind === 'alert' ? 'incident opened' : a.kind === 'recovery' ? 'recovered' : a.kind),
          escapeHtml(`${a.previousHealth} → ${a.health}`),
          !a.delivered
            ? tag('NOT DELIVERED', 'warn')
            : a.channels.length === 0
              ? escapeHtml('not sent: no channel configured (shown here only)')
              : escapeHtml(`yes, to ${a.channels.join(', ')}`),
          escapeHtml(a.message),
        ]),
      ),
    );
  }
  return parts.join('\n');
}

function renderBudget(report: Report): string {
  const parts: string[] = [];
  const budget = report.budget;
  if (!budget) {
    parts.push('<p class="muted">No probe budget given.</p>');
  } else {
    parts.push(
      `<p>${escapeHtml(formatCount(budget.probesPerRun))} probes per run × ${escapeHtml(formatCount(budget.runsPerHour))} runs per hour = <strong>${escapeHtml(formatCount(budget.probesPerHour))} probes per hour</strong>.</p>`,
    );
    const eq = budget.equivalence;
    if (eq) {
      const needed = typeof eq.answersNeeded === 'number' && Number.isFinite(eq.answersNeeded) ? formatCount(eq.answersNeeded) : null;
      parts.push(
        needed === null
          ? `<p>${tag('NO', 'warn')} No window size within reach shows this pool within ±${escapeHtml(String(eq.toleranceInPoints))} points.</p>`
          : `<p>${eq.reachable ? tag('YES', 'ok') : tag('NO', 'warn')} To show a pool that follows its weights <strong>ok</strong> (every share within ±${escapeHtml(String(eq.toleranceInPoints))} points at 95%) with probability ${escapeHtml(String(eq.power))}, the ${escapeHtml(eq.window)} window needs ${escapeHtml(needed)} identified answers: ${escapeHtml(formatCount(eq.probesPerRunNeeded))} probes per run at this pace.</p>`,
      );
    }
    if (budget.plan.length > 0) {
      parts.push(
        table(
          ['Drift', 'Window', 'Probes needed', 'Detectable with this budget'],
          budget.plan.map((p) => [
            escapeHtml(countOf(p.driftInPoints, 'point')),
            escapeHtml(p.window),
            // The planner answers Infinity (null once in JSON) when no sample size within its reach detects the drift.
            typeof p.probesNeeded === 'number' && Number.isFinite(p.probesNeeded) ? escapeHtml(formatCount(p.probesNeeded)) : 'out of reach',
            p.detectable ? tag('YES', 'ok') : tag('NO', 'warn'),
          ]),
          new Set([2]),
        ),
      );
    }
  }
  const d = report.dispersion;
  if (d) {
    const verdict = d.phi === null ? 'not enough runs yet' : d.overdispersed ? `above ${d.warnAbove}: standard errors are inflated by √φ = ${Math.sqrt(d.phi).toFixed(2)}` : `within bounds (≤ ${d.warnAbove})`;
    parts.push(
      `<p>${d.overdispersed ? tag('OVER-DISPERSED', 'warn') : ''} Dispersion index φ = ${escapeHtml(d.phi === null ? 'n/a' : d.phi.toFixed(2))} over ${escapeHtml(formatCount(d.runs))} runs: ${escapeHtml(verdict)}. A pool of independent draws shows 1 ± 0.25.</p>`,
    );
  }
  return parts.join('\n');
}

function renderSource(report: Report): string {
  const kind =
    report.dataSource.kind === 'probes'
      ? "this verifier's own synthetic probes"
      : report.dataSource.kind === 'all-traffic'
        ? "APIM's own telemetry of all traffic (possibly sampled)"
        : report.dataSource.kind;
  const degraded = report.dataSource.degraded
    ? `<p>${tag('INCOMPLETE', 'warn')} ${escapeHtml(report.dataSource.degraded)}</p>`
    : `<p>${tag('COMPLETE', 'ok')} No gap reported by the evidence source.</p>`;
  const arriving = report.dataSource.arrivingRuns ?? [];
  const completeness =
    report.dataSource.completeUpTo === undefined
      ? ''
      : `\n<p>Complete up to ${escapeHtml(report.dataSource.completeUpTo)}${
          arriving.length === 0
            ? '.'
            : `; still arriving (left out until all their records are ingested): ${arriving
                .map((run) => `${escapeHtml(run.runId)} (${run.received}${run.probesSent === null ? ', not finished' : ` of ${run.probesSent}`} probes so far)`)
                .join(', ')}.`
        }</p>`;
  const traffic = report.dataSource.allTraffic;
  const zeroProbe =
    traffic === undefined
      ? ''
      : traffic.conclusive
        ? `\n<p>Real traffic alone is conclusive (${escapeHtml(traffic.status)}, ${traffic.requests} requests in its window): the pool is verified without synthetic probes.</p>`
        : `\n<p>Real traffic alone is not conclusive (${escapeHtml(traffic.status)}, ${traffic.requests} requests in its window): the probes decide.</p>`;
  return `<p>Evidence: ${escapeHtml(kind)}.</p>\n${degraded}${completeness}${zeroProbe}`;
}
