import { buildReport } from '../../src/lib/report/buildReport';
import { renderReport } from '../../src/lib/report/renderReportHtml';
import { HOSTILE, hostileReportInput, richReportInput } from '../lib/report/fixtures';
import { storyReport } from '../lib/report/storyFixture';
import { describeWithChromium, openPage, startBrowserFixture, type BrowserFixture } from './chromium';

/**
 * Loads the rendered report in a real Chromium under its Content-Security-Policy header, at desktop and phone
 * width. (The README's screenshots come from the running demo: `npm run screenshots`.) Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`); without it
 * the suite is skipped with a message, so CI without a browser stays green.
 */
const describeIfChromium = describeWithChromium('test/browser/report.browser.test.ts');

describeIfChromium('the HTML report in Chromium', () => {
  const report = buildReport(richReportInput());
  const { html, contentSecurityPolicy } = renderReport(report);
  const hostile = renderReport(buildReport(hostileReportInput()));
  // The demo's story over the last hour: healthy runs, four drifting runs (an incident opened and closed), healthy again.
  // With the gateway's own record of backend calls (issue 16): one more column in the errors table, which must fit a phone too.
  const story = renderReport({
    ...storyReport({ primaryWindow: 'run', alerts: true }),
    gatewayAttempts: {
      source: 'emulator-access-log',
      perAttempt: true,
      note: "Every backend call the embedded gateway made, from its access log (/_emulator/access-log).",
      from: '2026-11-25T01:00:00.000Z',
      to: '2026-11-25T01:00:06.000Z',
      byBackend: { 'openai-instance1': { attempts: 1_031, throttled429: 0, serverErrors: 0, breakerTrips: 0 }, 'openai-instance2': { attempts: 12, throttled429: 12, serverErrors: 0, breakerTrips: 3 } },
      unattributed: 0,
    },
  });
  let fixture: BrowserFixture;

  beforeAll(async () => {
    fixture = await startBrowserFixture({ '/report': { html, contentSecurityPolicy }, '/hostile': hostile, '/story': story }, { width: 1000, height: 800 });
  });

  afterAll(async () => {
    await fixture?.close();
  });

  function open(viewport: { width: number; height: number }, path = '/report') {
    return openPage(fixture.context, `${fixture.baseUrl}${path}`, viewport);
  }

  it('loads under its CSP with no console error, no violation and no request but the page itself', async () => {
    const { page, response, consoleErrors, requests, violations } = await open({ width: 1000, height: 800 });
    expect(response?.headers()['content-security-policy']).toBe(contentSecurityPolicy);
    expect(consoleErrors).toEqual([]);
    expect(violations).toEqual([]);
    expect(requests).toEqual([`${fixture.baseUrl}/report`]);
    expect(fixture.served.filter((u) => u !== '/report' && u !== '/hostile' && u !== '/story')).toEqual([]);

    // The stylesheet applied (allowed by its hash): the banner has the drift colour, not the default transparent.
    const bannerBackground = await page.evaluate('getComputedStyle(document.querySelector("header.banner")).backgroundColor');
    expect(bannerBackground).toBe('rgb(255, 235, 233)');
    await page.close();
  });

  it('shows the verdict banner and every backend', async () => {
    const { page } = await open({ width: 1000, height: 800 });
    const banner = page.locator('header.banner');
    await expect(banner.innerText()).resolves.toContain(report.headline);
    await expect(page.title()).resolves.toContain('DRIFT');
    const text = await page.locator('main').innerText();
    for (const b of report.backends) {
      expect(text).toContain(b.name);
    }
    await page.close();
  });

  it('shows hostile backend names as text: nothing runs, nothing loads', async () => {
    const { page, consoleErrors, requests, violations, dialogs } = await open({ width: 1000, height: 800 }, '/hostile');
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(violations).toEqual([]);
    expect(requests).toEqual([`${fixture.baseUrl}/hostile`]);
    expect((await page.evaluate('document.querySelectorAll("script, img, iframe").length')) as number).toBe(0);
    expect(await page.locator('main').innerText()).toContain(HOSTILE);
    await page.close();
  });

  it('fits a phone screen without horizontal scrolling', async () => {
    const { page } = await open({ width: 390, height: 844 });
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });

  /** Rendered size in CSS px of every text in the share-over-time chart: font size × the SVG's on-screen scale. */
  const CHART_TEXT_SIZES = `[...document.querySelectorAll('#timeline svg text')].map((t) => {
    const svg = t.ownerSVGElement; const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return { text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale };
  })`;
  /** The shaded incidents: their health and on-screen box. */
  const INCIDENTS = `[...document.querySelectorAll('#timeline rect.incident')].map((r) => {
    const b = r.getBoundingClientRect(); return { health: r.getAttribute('data-health'), width: b.width, height: b.height };
  })`;

  it.each([
    ['a desktop', { width: 1000, height: 800 }],
    ['a 390 px phone', { width: 390, height: 844 }],
  ])('on %s, charts the last hour run by run with the drift incident shaded and every label at least 11 px', async (_name, viewport) => {
    const { page, consoleErrors, violations } = await open(viewport, '/story');
    expect(consoleErrors).toEqual([]);
    expect(violations).toEqual([]);
    const incidents = (await page.evaluate(INCIDENTS)) as { health: string; width: number; height: number }[];
    expect(incidents).toHaveLength(1);
    expect(incidents[0]!.health).toBe('drift');
    // Four of twenty runs wide, and the plot's full height: visible, not a hairline.
    expect(incidents[0]!.width).toBeGreaterThan(viewport.width / 20);
    expect(incidents[0]!.height).toBeGreaterThan(80);
    const sizes = (await page.evaluate(CHART_TEXT_SIZES)) as { text: string; px: number }[];
    expect(sizes.length).toBeGreaterThan(8);
    expect(sizes.filter((s) => s.px < 11)).toEqual([]);
    expect(await page.locator('#timeline figcaption').innerText()).toContain('Shaded: drift from');
    expect(await page.locator('#errors').textContent()).toContain('429 at the gateway');
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });

  it('folds the secondary sections and opens one when its table-of-contents link is followed', async () => {
    const { page } = await open({ width: 390, height: 844 }, '/story');
    const isOpen = 'document.querySelector("#budget details").open';
    expect(await page.evaluate(isOpen)).toBe(false);
    expect(await page.locator('#budget').innerText()).not.toContain('probes per hour');
    await page.locator('nav.toc a[href="#budget"]').click();
    expect(await page.evaluate('location.hash')).toBe('#budget');
    await page.locator('#budget summary').click();
    expect(await page.evaluate(isOpen)).toBe(true);
    expect(await page.locator('#budget').innerText()).toContain('probes per hour');
    await page.close();
  });
});
