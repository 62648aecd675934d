import { buildFleetOverview } from '../../src/lib/report/fleet/buildFleetOverview';
import { renderFleetOverview } from '../../src/lib/report/fleet/renderFleetOverview';
import { FLEET_NOW_MS, hostileFleet, mixedFleet } from '../lib/report/fleet/fleetFixture';
import { describeWithChromium, openPage, startBrowserFixture, type BrowserFixture } from './chromium';

/**
 * Loads the fleet overview (eight pools in eight states; a fleet with hostile and longest-valid names) in a real Chromium under
 * its Content-Security-Policy header, at desktop and phone width. Needs Debian's chromium at /usr/bin/chromium;
 * without it the suite is skipped with a message, as the report's browser test is.
 */
const describeIfChromium = describeWithChromium('test/browser/fleet.browser.test.ts');

/** Per table row: the pool name, whether its sparkline is laid out with a visible size, and its box. */
const ROWS = `[...document.querySelectorAll('#pools tbody tr')].map((tr) => {
  const svg = tr.querySelector('svg.spark'); const box = svg ? svg.getBoundingClientRect() : null;
  return { pool: tr.querySelector('td.pool a, td.pool strong').textContent,
    spark: box ? { width: box.width, height: box.height, visible: getComputedStyle(svg).visibility === 'visible' && box.width > 0 } : null };
})`;
/** Rendered size in CSS px of every visible text node's element. */
const TEXT_SIZES = `[...document.querySelectorAll('body *')].filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '') && e.getClientRects().length > 0)
  .map((e) => ({ tag: e.tagName, text: e.textContent.trim().slice(0, 30), px: parseFloat(getComputedStyle(e).fontSize) }))`;
/** The data-label cards: at phone width each cell's ::before shows its column name. */
const LABEL_SIZES = `[...document.querySelectorAll('#pools td')].map((td) => parseFloat(getComputedStyle(td, '::before').fontSize))`;
/** Sideways scrolling of the page, or of the table inside its scrolling wrapper (which would hide it from the page's). */
const OVERFLOW = `Math.max(document.documentElement.scrollWidth - document.documentElement.clientWidth,
  ...[...document.querySelectorAll('.table-wrap')].map((e) => e.scrollWidth - e.clientWidth))`;

describeIfChromium('the fleet overview in Chromium', () => {
  const overview = buildFleetOverview(mixedFleet(), FLEET_NOW_MS);
  const pages: Record<string, { html: string; contentSecurityPolicy: string }> = {
    '/fleet': renderFleetOverview(overview, { refreshSeconds: 3600 }),
    '/hostile': renderFleetOverview(buildFleetOverview(hostileFleet(), FLEET_NOW_MS)),
  };
  let fixture: BrowserFixture;

  beforeAll(async () => {
    fixture = await startBrowserFixture(pages, { width: 1280, height: 900 });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  async function open(viewport: { width: number; height: number }, path = '/fleet') {
    const opened = await openPage(fixture.context, `${fixture.baseUrl}${path}`, viewport);
    return { ...opened, problems: [...opened.consoleErrors, ...opened.dialogs.map((d) => `dialog: ${d}`)] };
  }

  it.each([
    ['a 1280 px desktop', { width: 1280, height: 900 }],
    ['a 390 px phone', { width: 390, height: 844 }],
  ])('on %s: worst pool first, sparklines visible, labels at least 11 px, nothing scrolls sideways', async (_name, viewport) => {
    const { page, problems, requests, violations } = await open(viewport);
    expect(problems).toEqual([]);
    expect(violations).toEqual([]);
    expect(requests).toEqual([`${fixture.baseUrl}/fleet`]);
    // The stylesheet applied (allowed by its hash): the banner has the alarm colour, not the default transparent.
    expect(await page.evaluate('getComputedStyle(document.querySelector("header.banner")).backgroundColor')).toBe('rgb(255, 235, 233)');

    const rows = (await page.evaluate(ROWS)) as { pool: string; spark: { width: number; height: number; visible: boolean } | null }[];
    expect(rows.map((r) => r.pool)).toEqual(overview.pools.map((r) => r.pool));
    expect(rows[0]!.pool).toBe('broken-pool');
    const withSpark = rows.filter((r) => r.spark !== null);
    expect(withSpark.map((r) => r.pool)).toEqual(overview.pools.filter((r) => r.sparkline !== null).map((r) => r.pool));
    expect(withSpark.length).toBeGreaterThanOrEqual(3);
    for (const r of withSpark) expect(r.spark).toEqual({ width: 132, height: 36, visible: true });

    const sizes = (await page.evaluate(TEXT_SIZES)) as { tag: string; text: string; px: number }[];
    expect(sizes.length).toBeGreaterThan(40);
    expect(sizes.filter((s) => s.px < 11)).toEqual([]);
    if (viewport.width < 600) {
      const labels = (await page.evaluate(LABEL_SIZES)) as number[];
      expect(labels.length).toBe(rows.length * 6);
      expect(labels.filter((px) => px < 11)).toEqual([]);
      // A card per pool: the column headers are hidden and every cell carries its own label.
      expect(await page.evaluate('getComputedStyle(document.querySelector("#pools tbody tr")).display')).toBe('block');
    }
    expect((await page.evaluate(OVERFLOW)) as number).toBeLessThanOrEqual(0);
    await page.close();
  });

  it.each([
    ['a 1280 px desktop', { width: 1280, height: 900 }],
    ['a 390 px phone', { width: 390, height: 844 }],
  ])('on %s, shows hostile and longest-valid pool names as text: nothing runs, nothing loads, nothing overflows', async (_name, viewport) => {
    const { page, problems, requests, violations } = await open(viewport, '/hostile');
    expect(problems).toEqual([]);
    expect(violations).toEqual([]);
    expect(requests).toEqual([`${fixture.baseUrl}/hostile`]);
    expect((await page.evaluate('document.querySelectorAll("script, img, iframe").length')) as number).toBe(0);
    expect(await page.locator('#pools').innerText()).toContain('<script>alert(1)</script>');
    expect((await page.evaluate(OVERFLOW)) as number).toBeLessThanOrEqual(0);
    await page.close();
  });

  it('follows a pool link to that pool, asking for its HTML report', async () => {
    const { page } = await open({ width: 1280, height: 900 });
    const href = await page.locator('#pools a', { hasText: 'drift-pool' }).getAttribute('href');
    expect(href).toBe('?pool=drift-pool&format=html&refresh=3600');
    await Promise.all([page.waitForEvent('load', { timeout: 10_000 }), page.locator('#pools a', { hasText: 'drift-pool' }).click()]);
    expect(page.url()).toBe(`${fixture.baseUrl}/fleet?pool=drift-pool&format=html&refresh=3600`);
    expect(fixture.served[fixture.served.length - 1]).toBe('/fleet?pool=drift-pool&format=html&refresh=3600');
    await page.close();
  });
});
