import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm run screenshots`: runs the real demo (`npm start`'s entry point, embedded environment only), waits until
 * the verifier has told the whole story (an incident opened, then a recovery recorded), and photographs the report
 * page with headless Chromium at desktop and phone width into docs/report.png and docs/report-mobile.png, and the
 * fleet overview into docs/fleet.png, so the
 * README's pictures are of the page as it is. Takes the demo's length (about four minutes); bounded by
 * {@link STORY_TIMEOUT_IN_MS}. Needs Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium; Debian: `apt-get
 * install -y chromium`) and playwright-core (a dev dependency).
 */

const appRoot = path.resolve(__dirname, '..', '..', '..');
/** The demo takes about four minutes; on two busy cores, allow twice that. */
const STORY_TIMEOUT_IN_MS = 9 * 60_000;
const POLL_IN_MS = 2_000;
/** The demo fleet's lab pool, whose story (drift, then recovery) the demo scenario plays. */
const LAB_POOL = 'openai-instance-backend-pool';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface ReportShape {
  readonly alerts?: { readonly recent?: readonly { readonly kind: string }[]; readonly state?: { readonly health: string } | null };
}

async function main(): Promise<void> {
  const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM_PATH).`);
  const { chromium } = await import('playwright-core');

  // A private store, and PORT 0: never the developer's own demo data or port. The real environment is not
  // inherited for the settings that could make the run half-real (the demo must be embedded).
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-screenshots-'));
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    STORE_PATH: path.join(work, 'demo.sqlite'),
    APIM_GATEWAY_URL: '',
    VERIFIER_ENVIRONMENT: '',
    ARM_ENDPOINT: '',
    LOCAL_RUN_SECONDS: String(Math.ceil(STORY_TIMEOUT_IN_MS / 1000) + 60),
  };
  const child = spawn(process.execPath, [path.join(appRoot, 'dist', 'src', 'local', 'start.js')], { cwd: appRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let baseUrl: string | undefined;
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    process.stdout.write(text);
    output = (output + text).slice(-20_000);
    baseUrl ??= /Report \(JSON\): (http:\/\/127\.0\.0\.1:\d+\/api)\/report/.exec(output)?.[1];
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  try {
    const started = Date.now();
    const deadline = started + STORY_TIMEOUT_IN_MS;
    const running = (): boolean => child.exitCode === null;
    while (running() && baseUrl === undefined && Date.now() < deadline) await sleep(500);
    if (baseUrl === undefined) throw new Error(`the demo did not start (exit code ${child.exitCode ?? 'none'}).`);
    if (!/on the embedded environment \(no Azure\)/.test(output)) throw new Error('the app did not start on the embedded environment; refusing to photograph a real service.');

    // The story is told when a recovery follows an alert (the alert log is newest first).
    let told = false;
    while (running() && !told && Date.now() < deadline) {
      await sleep(POLL_IN_MS);
      const report = await fetchJson<ReportShape>(`${baseUrl}/report?pool=${LAB_POOL}&window=hour`);
      const kinds = report?.alerts?.recent?.map((e) => e.kind) ?? [];
      told = kinds[0] === 'recovery' && kinds.includes('alert');
    }
    if (!told) throw new Error(`the demo did not reach recovery within ${STORY_TIMEOUT_IN_MS / 60_000} minutes.`);
    console.log(`Story complete after ${Math.round((Date.now() - started) / 1000)} s; taking screenshots.`);

    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
    try {
      // The lab pool's page (the story), and the demo fleet's overview.
      const shots = [
        { file: 'docs/report.png', query: `pool=${LAB_POOL}&format=html`, viewport: { width: 1100, height: 1500 }, fullPage: false },
        { file: 'docs/report-mobile.png', query: `pool=${LAB_POOL}&format=html`, viewport: { width: 390, height: 1700 }, fullPage: false },
        { file: 'docs/fleet.png', query: 'format=html', viewport: { width: 1100, height: 700 }, fullPage: false },
      ];
      for (const shot of shots) {
        const page = await context.newPage();
        await page.setViewportSize(shot.viewport);
        await page.goto(`${baseUrl}/report?${shot.query}`, { waitUntil: 'load' });
        fs.mkdirSync(path.join(appRoot, 'docs'), { recursive: true });
        fs.writeFileSync(path.join(appRoot, shot.file), await page.screenshot({ fullPage: shot.fullPage }));
        console.log(`Wrote ${shot.file}`);
        await page.close();
      }
    } finally {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGINT');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function fetchJson<T>(url: string): Promise<T | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
    return response.ok ? ((await response.json()) as T) : null;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`screenshots: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
