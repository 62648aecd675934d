import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type Response } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (no bundled browser), shared by the browser suites. Without
 * /usr/bin/chromium a suite is skipped with a message, so CI without a browser stays green (see README.md here).
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

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

/** `describe` when Chromium is installed, otherwise `describe.skip` after saying why. */
export function describeWithChromium(suiteFile: string): jest.Describe {
  if (existsSync(CHROMIUM_PATH)) return describe;
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED ${suiteFile}: ${CHROMIUM_PATH} not found (install Debian's chromium to run it).`);
  return describe.skip;
}

/** A page as the verifier serves it: the HTML and its Content-Security-Policy header. */
export interface ServedPage {
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

/** A loopback server for the pages and a headless Chromium with a fresh profile; `close` stops both and removes the profile. */
export interface BrowserFixture {
  readonly baseUrl: string;
  readonly context: BrowserContext;
  /** Every URL requested from the server (path and query), in order. */
  readonly served: readonly string[];
  close(): Promise<void>;
}

/** Serves each page at its path (any query) on 127.0.0.1, port 0, with its CSP header; 404 elsewhere. */
export async function startBrowserFixture(pages: Readonly<Record<string, ServedPage>>, viewport: { width: number; height: number }): Promise<BrowserFixture> {
  const served: string[] = [];
  const server = createServer((req, res) => {
    served.push(req.url ?? '');
    const page = pages[new URL(req.url ?? '/', 'http://127.0.0.1').pathname];
    if (page === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': page.contentSecurityPolicy });
    res.end(page.html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'report-chromium-'));
  const stopServer = (): Promise<void> => new Promise<void>((resolve) => server.close(() => resolve()));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, viewport });
  } catch (error) {
    await stopServer();
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    baseUrl,
    context,
    served,
    async close() {
      await context.close();
      await stopServer();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A loaded page with everything it did: console errors and warnings, page errors, requests, CSP violations, dialogs. */
export interface OpenedPage {
  readonly page: Page;
  readonly response: Response | null;
  readonly consoleErrors: string[];
  readonly requests: string[];
  readonly violations: string[];
  readonly dialogs: string[];
}

/** Opens `url` at `viewport` and waits for `load`, recording what the page did (dialogs are dismissed). */
export async function openPage(context: BrowserContext, url: string, viewport: { width: number; height: number }): Promise<OpenedPage> {
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
  const response = await page.goto(url, { waitUntil: 'load' });
  const violations = (await page.evaluate('window.__violations')) as string[];
  return { page, response, consoleErrors, requests, violations, dialogs };
}
