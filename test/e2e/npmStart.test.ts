import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm start` as a user runs it: the compiled app in a plain Node process (no jest module system), the real
 * functions registered through the @azure/functions-core stand-in and served over HTTP by the local host.
 * `npm test` compiles first, so dist/ is current. Bounded: the app stops itself after LOCAL_RUN_SECONDS.
 */
const root = path.resolve(__dirname, '..', '..');
const startJs = path.join(root, 'dist', 'src', 'local', 'start.js');
const DEADLINE_IN_MS = 90_000;

let child: ChildProcess | undefined;
let output = '';
let tmp: string;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function waitForOutput(pattern: RegExp, timeoutInMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = output.match(pattern);
      if (match) resolve(match);
      return match !== null;
    };
    if (check()) return;
    const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${pattern}; output so far:\n${output}`)), timeoutInMs);
    child?.stdout?.on('data', () => check() && clearTimeout(timer));
    child?.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before ${pattern}; output:\n${output}`));
    });
  });
}

it('npm start runs the whole loop on the embedded demo fleet: the overview lists its pools and the lab pool shows at least 60 probes within 90 seconds', async () => {
  expect(fs.existsSync(startJs)).toBe(true);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-start-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', LOCAL_RUN_SECONDS: '120', STORE_PATH: path.join(tmp, 'store.sqlite') };
  const started = Date.now();
  child = spawn(process.execPath, [startJs], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const [, reportUrl] = await waitForOutput(/Report \(JSON\): (http:\/\/\S+)/, 30_000);
  expect(output).toMatch(/Deploy \(deploy\): succeeded/);
  const health = await fetch(reportUrl!.replace('/report', '/health'));
  expect(health.status).toBe(200);

  // The demo watches a fleet (examples/fleet): the report without ?pool= is its overview.
  expect(output).toMatch(/Pools: +3,/);
  const overview = (await (await fetch(reportUrl!)).json()) as { pools: { pool: string; link: string | null }[] };
  expect(overview.pools.map((row) => row.pool).sort()).toEqual(['gpt-4o-mini-pool', 'ondata-backend-pool', 'openai-instance-backend-pool']);

  let total = 0;
  // Poll the lab pool's report until it shows 60 probes; each poll is one request, bounded by the deadline.
  while (Date.now() - started < DEADLINE_IN_MS) {
    const report = (await (await fetch(`${reportUrl}?pool=openai-instance-backend-pool&window=hour`)).json()) as { total: number };
    total = report.total;
    if (total >= 60) break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  expect(total).toBeGreaterThanOrEqual(60);
  expect(Date.now() - started).toBeLessThan(DEADLINE_IN_MS);

  for (const page of [`${reportUrl}?format=html`, `${reportUrl}?format=html&pool=gpt-4o-mini-pool`]) {
    const html = await fetch(page);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  }
  expect(output).not.toMatch(/Unhandled|TypeError|ReferenceError/);
}, 120_000);
