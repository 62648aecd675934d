import { createHash } from 'node:crypto';
import { buildReport } from '../../../src/lib/report/buildReport';
import { REPORT_CONTENT_SECURITY_POLICY, renderReport, renderReportHtml } from '../../../src/lib/report/renderReportHtml';
import type { Report } from '../../../src/lib/report/types';
import { hostileReportInput, inputOf, labPool, richReportInput, windowOf } from './fixtures';

function hostileReport(): Report {
  return buildReport(hostileReportInput());
}

function styleOf(html: string): string {
  const match = /<style>([\s\S]*?)<\/style>/.exec(html);
  if (!match?.[1]) throw new Error('no <style> block');
  return match[1];
}

describe('renderReportHtml', () => {
  it('renders hostile backend, region, pool and message text inert', () => {
    const html = renderReportHtml(hostileReport());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<iframe/i);
    expect(html).not.toMatch(/<b>bold/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('east&quot;&amp;&#39;backend');
    expect(html).toContain('pool-&lt;b&gt;bold&lt;/b&gt;');
  });

  it('names every backend and the status, and puts the status in the title', () => {
    const report = buildReport(richReportInput());
    const html = renderReportHtml(report);
    for (const b of report.backends) {
      expect(html).toContain(b.name);
    }
    expect(html).toMatch(/<title>DRIFT · openai-instance-backend-pool · APIM pool verifier<\/title>/);
    expect(html).toContain(report.headline);
  });

  it('puts a healthy report title as OK and a failover as FAILOVER with the status beside it', () => {
    const ok = buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })] }));
    expect(renderReportHtml(ok)).toContain('<title>OK · openai-instance-backend-pool');
    const failover = buildReport(
      inputOf({
        pool: labPool({ withBackup: true }),
        windows: [windowOf({ name: 'hour', status: 'drift', answered: { 'openai-instance1': 450, 'openai-instance2': 229, 'openai-backup': 41 } })],
      }),
    );
    expect(renderReportHtml(failover)).toContain('<title>FAILOVER (drift) · openai-instance-backend-pool');
  });

  it.each([
    ['the rich report', () => buildReport(richReportInput())],
    ['the hostile report', hostileReport],
  ])('references no external resource and contains no script in %s', (_name, make) => {
    const html = renderReportHtml(make());
    expect(html).not.toMatch(/<script/i);
    // Every '<' of text is escaped, so whatever matches a tag is markup; check each attribute of each tag.
    const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
    expect(tags.length).toBeGreaterThan(100);
    const attributes = tags.flatMap((t) => [...t.matchAll(/\s([a-z:-]+)(?:="([^"]*)")?/gi)].map((m) => [m[1]!.toLowerCase(), m[2] ?? ''] as const));
    expect(attributes.filter(([name]) => name.startsWith('on'))).toEqual([]);
    expect(attributes.filter(([name]) => name === 'style')).toEqual([]);
    const references = attributes.filter(([name]) => ['src', 'href', 'xlink:href', 'action', 'srcset', 'poster', 'data'].includes(name));
    // The favicon placeholder, in-page anchors (table of contents) and this page's other windows; nothing else.
    const others = references.filter(([, value]) => value !== 'data:,' && !/^#[a-z-]+$/.test(value) && !/^\?window=(run|hour|day)&amp;format=html$/.test(value));
    expect(others).toEqual([]);
    expect(references).toContainEqual(['href', 'data:,']);
    expect(html).not.toMatch(/@import/i);
    // url() only ever points at an in-document fragment (the SVG hatch patterns).
    expect(html.match(/url\(([^)]*)\)/g)?.every((u) => u.startsWith('url(#')) ?? true).toBe(true);
  });

  it('mentions no http(s) address at all in the rich report', () => {
    expect(renderReportHtml(buildReport(richReportInput()))).not.toMatch(/https?:\/\//);
  });

  it('allows exactly its inline style by hash, never by unsafe-inline, and uses no style attribute', () => {
    const { html, contentSecurityPolicy } = renderReport(buildReport(richReportInput()));
    const hash = createHash('sha256').update(styleOf(html), 'utf8').digest('base64');
    expect(contentSecurityPolicy).toBe(REPORT_CONTENT_SECURITY_POLICY);
    expect(contentSecurityPolicy).toContain(`style-src 'sha256-${hash}'`);
    expect(contentSecurityPolicy).toContain("default-src 'none'");
    expect(contentSecurityPolicy).toContain("frame-ancestors 'none'");
    expect(contentSecurityPolicy).not.toContain('unsafe-inline');
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html.match(/<style>/g)).toHaveLength(1);
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1]?.replace(/&#39;/g, "'");
    expect(meta).toContain(`'sha256-${hash}'`);
    expect(meta).not.toContain('frame-ancestors');
  });

  it('is responsive: it declares the viewport', () => {
    expect(renderReportHtml(buildReport(richReportInput()))).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  });

  it('prints the numbers beside the charts: shares, intervals, per-bin table and errors', () => {
    const html = renderReportHtml(buildReport(richReportInput()));
    expect(html).toContain('observed <strong>73.3%</strong> (69.3%–77.3%) · expected 66.7% · 6.7 points above');
    expect(html).toContain('12 bins of 5 min from 01:00 to 02:00 UTC, 720 identified answers.');
    expect(html).toMatch(/<th scope="row">01:25<\/th><td class="num">60<\/td><td class="num">76\.7%<\/td><td class="num">23\.3%<\/td>/);
    expect(html).toContain('41 × 429');
    expect(html).toContain('538 ms');
    expect(html).toContain('1.5 s');
  });

  it('shows every window verdict, the config differences, the last deploy, recent alerts and the budget', () => {
    const html = renderReportHtml(buildReport(richReportInput()));
    for (const label of ['INCONCLUSIVE', 'DRIFT', 'OK']) expect(html).toContain(`>${label}</span>`);
    expect(html).toContain('pool.members[openai-instance1].weight');
    expect(html).toContain('2 backends unchanged, pool updated (members)');
    expect(html).toContain('yes, to webhook (teams)');
    expect(html).toContain('<strong>720 probes per hour</strong>');
    expect(html).toContain('86,000');
    expect(html).toContain('Dispersion index φ = 1.08 over 12 runs');
  });

  it('marks flagged backends in text and with a hatch pattern, not by colour alone', () => {
    const html = renderReportHtml(buildReport(richReportInput()));
    expect(html.match(/>FLAGGED</g)?.length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('fill="url(#hatch-0)"');
    expect(html).toContain('<pattern id="hatch-0"');
  });

  it('renders a report without data, bins, budget or dispersion', () => {
    const report = buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'no-data', answered: {} })] }));
    const html = renderReportHtml(report);
    expect(html).toContain('NO DATA');
    expect(html).toContain('No probes recorded yet, so there is nothing to chart.');
    expect(html).toContain('No probe budget given.');
  });

  it('renders a hand-built report that predates the optional health, budget and dispersion fields', () => {
    const { health: _health, budget: _budget, dispersion: _dispersion, ...legacy } = buildReport(
      inputOf({ windows: [windowOf({ name: 'hour', status: 'drift', answered: { 'openai-instance1': 590, 'openai-instance2': 130 }, flagged: ['openai-instance2'] })] }),
    );
    const html = renderReportHtml(legacy);
    expect(html).toContain('<title>DRIFT · ');
  });
});

describe('renderReportHtml for a failover', () => {
  it('marks the backup that answered with a FAILOVER tag and a hatched bar', () => {
    const report = buildReport(
      inputOf({
        pool: labPool({ withBackup: true }),
        windows: [windowOf({ name: 'hour', status: 'drift', answered: { 'openai-instance1': 450, 'openai-instance2': 229, 'openai-backup': 41 } })],
      }),
    );
    const html = renderReportHtml(report);
    expect(html).toContain('<span class="tag st-bad">FAILOVER</span>');
    expect(html).toContain('fill="url(#hatch-2)"');
    expect(html).not.toContain('fill="url(#hatch-0)"');
  });
});

describe('renderReportHtml share-over-time chart', () => {
  function dayOf(backendCount: number) {
    const from = Date.UTC(2026, 10, 24, 2);
    const names = Array.from({ length: backendCount }, (_, i) => `backend-${i}`);
    const base = labPool();
    const pool = {
      ...base,
      backends: names.map((name, i) => ({ ...base.backends[0]!, name, region: `Region ${i}`, weight: 1, expectedShare: 1 / backendCount })),
    };
    const bins = Array.from({ length: 288 }, (_, k) => ({
      startMs: from + k * 300_000,
      answered: Object.fromEntries(names.map((n, i) => [n, (k + i) % 2 === 0 ? 3 : 1])),
      unidentified: 0,
      failed: 0,
    }));
    const window = windowOf({ pool, name: 'day', status: 'ok', answered: Object.fromEntries(names.map((n) => [n, 576])), bins, fromMs: from, toMs: from + 86_400_000 });
    return buildReport(inputOf({ pool, primaryWindow: 'day', windows: [window] }));
  }

  it('draws one small chart per backend beyond four backends', () => {
    const html = renderReportHtml(dayOf(6));
    expect(html.match(/<svg class="chart-small"/g)).toHaveLength(6);
    expect(html).not.toContain('<svg class="chart"');
  });

  it('keeps up to four backends in one chart', () => {
    const html = renderReportHtml(dayOf(4));
    expect(html.match(/<svg class="chart"/g)).toHaveLength(1);
  });

  it('merges 288 five-minute bins into 48 half-hour points, shares recomputed from counts', () => {
    const report = dayOf(2);
    const html = renderReportHtml(report);
    expect(html).toContain('48 bins of 30 min from ')
    expect(html).toContain(' UTC, 1,152 identified answers.');
    // Six 5-minute bins alternate 3:1 and 1:3 between the two backends → exactly 50% each once merged.
    expect(html).toMatch(/<th scope="row">02:00<\/th><td class="num">24<\/td><td class="num">50\.0%<\/td><td class="num">50\.0%<\/td>/);
  });

  it('stops the y axis just above the largest share so small shares are not flat on the floor', () => {
    const html = renderReportHtml(dayOf(30));
    const timeline = html.slice(html.indexOf('<section id="timeline"'), html.indexOf('</section>', html.indexOf('<section id="timeline"')));
    // Merged half-hour shares are all 1/30: the axis tops at 5% (labels 0%, 2.5%, 5%), not 100%.
    expect(timeline).toContain('>2.5%</text>');
    expect(timeline).toContain('>5%</text>');
    expect(timeline).not.toContain('>100%</text>');
  });
});

describe('renderReportHtml with values as the pipeline produces them', () => {
  it('labels a 0.9999 interval as 99.99%, never rounded up to 100%', () => {
    const report = buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })] }));
    const strict = { ...report, backends: report.backends.map((b) => ({ ...b, interval: b.interval && { ...b.interval, confidence: 0.9999 } })) };
    const html = renderReportHtml(strict);
    expect(html).toContain('99.99% interval');
    expect(html).not.toContain('100% interval');
  });

  it('labels the 90% interval of a two-backend ok claim as 90%, not 9% (whole percentages keep their zeros)', () => {
    const report = buildReport(inputOf({ windows: [windowOf({ name: 'hour', status: 'ok', answered: { 'openai-instance1': 476, 'openai-instance2': 244 } })] }));
    for (const [confidence, label] of [[0.9, '90%'], [0.8, '80%'], [0.95, '95%'], [0.999, '99.9%']] as const) {
      const html = renderReportHtml({ ...report, backends: report.backends.map((b) => ({ ...b, interval: b.interval && { ...b.interval, confidence } })) });
      expect(html).toContain(`${label} interval`);
    }
  });

  it('says "out of reach" for a drift the planner cannot detect (Infinity, null in JSON)', () => {
    const input = richReportInput();
    const report = buildReport({
      ...input,
      budget: { probesPerRun: 60, runsPerHour: 12, plan: [{ driftInPoints: 5, window: 'run', probesNeeded: Number.POSITIVE_INFINITY, detectable: false }] },
    });
    expect(renderReportHtml(report)).toContain('<td data-label="Probes needed" class="num">out of reach</td>');
    const fromJson = JSON.parse(JSON.stringify(report)) as Report;
    expect(fromJson.budget?.plan[0]?.probesNeeded).toBeNull();
    expect(renderReportHtml(fromJson)).toContain('out of reach');
  });

  it('labels sub-minute bins of a short run in seconds', () => {
    const from = Date.UTC(2026, 10, 25, 2, 19, 21);
    const bins = [0, 1].map((i) => ({ startMs: from + i * 1000, answered: { 'openai-instance1': 18, 'openai-instance2': 0 }, unidentified: 0, failed: 0 }));
    const report = buildReport(
      inputOf({
        primaryWindow: 'run',
        windows: [windowOf({ name: 'run', status: 'drift', answered: { 'openai-instance1': 36 }, flagged: ['openai-instance1'], bins, fromMs: from, toMs: from + 2300 })],
      }),
    );
    const html = renderReportHtml(report);
    expect(html).toContain('2 bins of 1 s from 02:19:21 to 02:19:23 UTC, 36 identified answers.');
    expect(html).toContain('<th scope="row">02:19:22</th>');
  });

describe('renderReportHtml navigation', () => {
  const report = buildReport(richReportInput());

  it('links the other windows as relative URLs and marks the current one', () => {
    const html = renderReportHtml(report);
    expect(html).toContain('<a href="?window=run&amp;format=html">Latest run</a>');
    expect(html).toContain('<a href="?window=day&amp;format=html">Last day</a>');
    expect(html).toContain('<strong aria-current="page">Last hour</strong>');
  });

  it('reloads itself with a meta refresh only for a valid interval, and keeps it in the window links', () => {
    const html = renderReportHtml(report, { refreshSeconds: 60 });
    expect(html).toContain('<meta http-equiv="refresh" content="60">');
    expect(html).toContain('refreshes every 60 s');
    expect(html).toContain('<a href="?window=run&amp;format=html&amp;refresh=60">');
    for (const bad of [5, 4000, 12.5, Number.NaN]) expect(renderReportHtml(report, { refreshSeconds: bad })).not.toContain('http-equiv="refresh"');
    expect(renderReportHtml(report)).not.toContain('http-equiv="refresh"');
  });

  it('links back to the fleet overview only when asked, keeping the refresh, the pool and its service in every link', () => {
    expect(renderReportHtml(report)).not.toContain('All pools');
    const html = renderReportHtml(report, { refreshSeconds: 60, fleet: { pool: 'gpt-4o mini&<x>', service: 'apim-prod' } });
    expect(html).toContain('<a href="?format=html&amp;refresh=60">← All pools (fleet overview)</a>');
    expect(html).toContain('<a href="?pool=gpt-4o%20mini%26%3Cx%3E&amp;service=apim-prod&amp;window=run&amp;format=html&amp;refresh=60">Latest run</a>');
    const noService = renderReportHtml(report, { fleet: { pool: 'gpt-4o' } });
    expect(noService).toContain('<a href="?format=html">← All pools (fleet overview)</a>');
    expect(noService).toContain('<a href="?pool=gpt-4o&amp;window=day&amp;format=html">Last day</a>');
  });

  it('opens on a table of contents and folds the secondary sections', () => {
    const html = renderReportHtml(report);
    const toc = /<nav class="toc"[^>]*>([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
    for (const id of ['findings', 'timeline', 'shares', 'errors', 'windows', 'alerts', 'deploy', 'budget', 'source']) {
      expect(toc).toContain(`href="#${id}"`);
      expect(html).toContain(`<section id="${id}"`);
    }
    expect(html).toContain('<section id="budget" aria-labelledby="h-budget"><details class="fold"><summary><h2');
    expect(html).toContain('<section id="timeline" aria-labelledby="h-timeline"><h2');
  });

  it('says an alert with no channel was not sent anywhere rather than "delivered"', () => {
    const base = richReportInput();
    const html = renderReportHtml(
      buildReport({
        ...base,
        alerts: {
          state: null,
          recent: [{ kind: 'alert', pool: 'p', health: 'drift', previousHealth: 'ok', at: '2026-11-25T01:10:00Z', message: 'm', delivered: true, channels: [] }],
        },
      }),
    );
    expect(html).toContain('not sent: no channel configured (shown here only)');
    expect(html).toContain('incident opened');
    expect(html).not.toContain('no channel)');
  });
});
});
