import { createHash } from 'node:crypto';
import { buildFleetOverview } from '../../../../src/lib/report/fleet/buildFleetOverview';
import { formatDuration, renderFleetOverview } from '../../../../src/lib/report/fleet/renderFleetOverview';
import { HOSTILE } from '../fixtures';
import { firstSlip, textOf } from '../proofreading';
import { FLEET_NOW_MS, healthyReport, hostileFleet, mixedFleet } from './fleetFixture';

/** Every aria-label and <title> of the charts: text read aloud is proofread like the rest. */
function spokenOf(html: string): string[] {
  return [...html.matchAll(/aria-label="([^"]*)"/g)].map((m) => textOf(m[1]!));
}

describe('renderFleetOverview', () => {
  const overview = buildFleetOverview(mixedFleet(), FLEET_NOW_MS);

  it('serves a CSP that allows exactly its one inline style by hash, and nothing else to load', () => {
    const { html, contentSecurityPolicy } = renderFleetOverview(overview);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    expect(style.length).toBeGreaterThan(1000);
    const hash = createHash('sha256').update(style, 'utf8').digest('base64');
    expect(contentSecurityPolicy).toBe(`default-src 'none'; style-src 'sha256-${hash}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-${hash}&#39;`);
    expect(html.match(/<style>/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script|\sstyle="|\son[a-z]+=|javascript:/i);
    const urls = [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) => m[1]!);
    expect(urls.filter((u) => !u.startsWith('?') && u !== 'data:,')).toEqual([]);
  });

  it('lists the pools worst first, each linking to its own HTML report', () => {
    const { html } = renderFleetOverview(overview);
    const order = overview.pools.map((r) => html.indexOf(`>${r.pool}</a>`));
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(html).toContain('<a href="?pool=broken-pool&amp;format=html">broken-pool</a>');
    expect(html).toMatch(/<title>NO REPORT · fleet of 8 pools · APIM pool verifier<\/title>/);
    expect(textOf(html)).toContain('8 pools: 1 without a report, 1 with poisoned runs, 1 in outage, 1 in failover, 1 drifting, 1 with no data, 1 inconclusive, 1 ok.');
  });

  it('refreshes like the pool page and keeps the refresh in the pool links; an out-of-range refresh is ignored', () => {
    const { html } = renderFleetOverview(overview, { refreshSeconds: 30 });
    expect(html).toContain('<meta http-equiv="refresh" content="30">');
    expect(html).toContain('href="?pool=drift-pool&amp;format=html&amp;refresh=30"');
    expect(textOf(html)).toContain('refreshes every 30 s');
    for (const bad of [5, 3601, 12.5]) expect(renderFleetOverview(overview, { refreshSeconds: bad }).html).not.toContain('http-equiv="refresh"');
  });

  it('draws one sparkline per pool with history: a line and an expected-share tick per backend, numbers in its description', () => {
    const { html } = renderFleetOverview(overview);
    const sparks = html.match(/<svg class="spark"[\s\S]*?<\/svg>/g) ?? [];
    expect(sparks).toHaveLength(overview.pools.filter((r) => r.sparkline !== null).length);
    expect(sparks.length).toBeGreaterThanOrEqual(3);
    for (const svg of sparks) {
      expect(svg.match(/<path d="M/g)).toHaveLength(2);
      expect(svg).toContain('expected 66.7%');
      expect(svg).toContain('20 runs from 01:40 to 01:49 UTC');
      // West US's range over the story: 67.7% on a healthy run, 100% on a drifting one.
      expect(svg).toContain('67.7%–100.0%');
    }
    expect(textOf(html)).toContain('no shares to chart');
  });

  it('shows the open incident with its age, the poisoned runs with their reason, and when the data is from', () => {
    const text = textOf(renderFleetOverview(overview).html);
    expect(text).toContain('since 2026-11-25 01:35 UTC (25 min)');
    expect(text).toContain('3 poisoned run messages, the last at 2026-11-25 01:58 UTC: probe run threw: gateway URL setting APIM_GW_URL is empty');
    expect(text).toContain('2026-11-25 01:49 UTC');
    expect(text).toContain('no data yet');
  });

  it('renders hostile pool, service and error text inert, in text and in link URLs', () => {
    const { html } = renderFleetOverview(buildFleetOverview(hostileFleet(), FLEET_NOW_MS));
    expect(html).not.toMatch(/<script|<img|<iframe/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(5)&gt;');
    expect(html).toContain('a&quot;b&amp;c&#39;d');
    expect(html).toContain(`href="?pool=${encodeURIComponent(HOSTILE)}&amp;format=html"`);
    expect(html).toContain('href="?pool=a%22b%26c\'d&amp;format=html"'.replace("'", '&#39;'));
    // Every tag's attributes are the renderer's own: none comes from the input.
    const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
    for (const t of tags) expect(t).not.toMatch(/\son[a-z]+=|<(script|img|iframe)/i);
  });

  it('says so when no pool is watched', () => {
    const { html } = renderFleetOverview(buildFleetOverview([], FLEET_NOW_MS));
    expect(textOf(html)).toContain('No pool is watched');
    expect(html).toContain('<title>NO POOLS · fleet of 0 pools');
  });

  it('names a healthy fleet ALL OK and counts one pool in the singular', () => {
    const { html } = renderFleetOverview(buildFleetOverview([{ pool: 'only', service: 'apim', report: healthyReport('only'), error: null }], FLEET_NOW_MS));
    expect(html).toContain('<title>ALL OK · fleet of 1 pool · APIM pool verifier</title>');
    expect(textOf(html)).toContain('1 pool: 1 ok.');
  });

  it('says how many pools were left out when the fleet is larger than the table', () => {
    const inputs = Array.from({ length: 503 }, (_, i) => ({ pool: `p${i}`, service: 'apim', report: healthyReport(`p${i}`), error: null }));
    const text = textOf(renderFleetOverview(buildFleetOverview(inputs, FLEET_NOW_MS)).html);
    expect(text).toContain('showing the 500 worst of 503 pools, the 3 healthiest pools left out');
  });

  it.each([
    ['the mixed fleet', () => buildFleetOverview(mixedFleet(), FLEET_NOW_MS)],
    ['the hostile fleet', () => buildFleetOverview(hostileFleet(), FLEET_NOW_MS)],
    ['an empty fleet', () => buildFleetOverview([], FLEET_NOW_MS)],
    ['one pool', () => buildFleetOverview([{ pool: 'only', service: 'apim', report: healthyReport('only'), error: null }], FLEET_NOW_MS)],
  ])('proofreads every sentence of %s, read or spoken', (_name, make) => {
    const html = renderFleetOverview(make(), { refreshSeconds: 60 }).html;
    for (const text of [textOf(html), ...spokenOf(html)]) expect(firstSlip(text)).toBeNull();
  });

  it('writes durations a person reads at a glance', () => {
    expect([0, 59_999, 60_000, 25 * 60_000, 60 * 60_000, 185 * 60_000, 47 * 3_600_000, 48 * 3_600_000, 30 * 86_400_000].map(formatDuration)).toEqual([
      'under a minute',
      'under a minute',
      '1 min',
      '25 min',
      '1 h',
      '3 h 5 min',
      '47 h',
      '2 days',
      '30 days',
    ]);
  });
});
