import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { buildReport } from '../../src/lib/report/buildReport';
import { renderReport } from '../../src/lib/report/renderReportHtml';
import { HOSTILE, hostileReportInput, richReportInput } from '../lib/report/fixtures';

/**
 * Loads the rendered report in a real Chromium under its Content-Security-Policy header and writes the
 * screenshots in docs/. Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`); without it
 * the suite is skipped with a message, so CI without a browser stays green.
 */
const CHROMIUM_PATH = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) {
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED test/browser/report.browser.test.ts: ${CHROMIUM_PATH} not found (install Debian's chromium to run it).`);
}
const describeWithChromium = hasChromium ? describe : describe.skip;

// Playwright sets --headless and --user-data-dir itself (launchPersistentContext), so they are not repeated here.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describeWithChromium('the HTML report in Chromium', () => {
  const report = buildReport(richReportInput());
  const { html, contentSecurityPolicy } = renderReport(report);
  const hostile = renderReport(buildReport(hostileReportInput()));
  const served: string[] = [];
  let server: Server;
  let baseUrl: string;
  let userDataDir: string;
  let context: BrowserContext;

  beforeAll(async () => {
    server = createServer((req, res) => {
      served.push(req.url ?? '');
      if (req.url === '/report' || req.url === '/hostile') {
        const page = req.url === '/report' ? { html, contentSecurityPolicy } : hostile;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': page.contentSecurityPolicy });
        res.end(page.html);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    userDataDir = mkdtempSync(join(tmpdir(), 'report-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1000, height: 800 },
    });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  async function open(viewport: { width: number; height: number }, path = '/report') {
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    // Injected through the DevTools protocol, which the page's CSP does not govern. (Strings, not functions: the
    // project compiles without DOM types.)
    await page.addInitScript({
      content:
        'window.__violations = []; document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));',
    });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const response = await page.goto(`${baseUrl}${path}`, { waitUntil: 'load' });
    const violations = (await page.evaluate('window.__violations')) as string[];
    return { page, response, consoleErrors, requests, violations, dialogs };
  }

  it('loads under its CSP with no console error, no violation and no request but the page itself', async () => {
    const { page, response, consoleErrors, requests, violations } = await open({ width: 1000, height: 800 });
    expect(response?.headers()['content-security-policy']).toBe(contentSecurityPolicy);
    expect(consoleErrors).toEqual([]);
    expect(violations).toEqual([]);
    expect(requests).toEqual([`${baseUrl}/report`]);
    expect(served.filter((u) => u !== '/report' && u !== '/hostile')).toEqual([]);

    // The stylesheet applied (allowed by its hash): the banner has the drift colour, not the default transparent.
    const bannerBackground = await page.evaluate('getComputedStyle(document.querySelector("header.banner")).backgroundColor');
    expect(bannerBackground).toBe('rgb(255, 235, 233)');
    await page.close();
  });

  it('shows the verdict banner and every backend, and writes the desktop screenshot', async () => {
    const { page } = await open({ width: 1000, height: 800 });
    const banner = page.locator('header.banner');
    await expect(banner.innerText()).resolves.toContain(report.headline);
    await expect(page.title()).resolves.toContain('DRIFT');
    const text = await page.locator('main').innerText();
    for (const b of report.backends) {
      expect(text).toContain(b.name);
    }
    mkdirSync('docs', { recursive: true });
    writeFileSync('docs/report.png', await page.screenshot({ fullPage: true }));
    await page.close();
  });

  it('shows hostile backend names as text: nothing runs, nothing loads', async () => {
    const { page, consoleErrors, requests, violations, dialogs } = await open({ width: 1000, height: 800 }, '/hostile');
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(violations).toEqual([]);
    expect(requests).toEqual([`${baseUrl}/hostile`]);
    expect((await page.evaluate('document.querySelectorAll("script, img, iframe").length')) as number).toBe(0);
    expect(await page.locator('main').innerText()).toContain(HOSTILE);
    await page.close();
  });

  it('fits a phone screen without horizontal scrolling and writes the mobile screenshot', async () => {
    const { page } = await open({ width: 390, height: 844 });
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    writeFileSync('docs/report-mobile.png', await page.screenshot({ fullPage: true }));
    await page.close();
  });
});
