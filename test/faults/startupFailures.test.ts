import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readLocalSettings, readPort, StartupError } from '../../src/local/start';

/**
 * `npm start` when start-up cannot succeed (issue 15): the compiled app in a plain Node process, as a user runs it.
 * Every failure prints "Cannot start: …", closes what it opened and ends the process by itself with exit code 3.
 * Before, a bad STORE_PATH left the emulator running and the process never exited; a bad or busy PORT ended in
 * a raw Node error (exit 1) after the deploy had already run. `npm test` compiles first, so dist/ is current.
 */

const root = path.resolve(__dirname, '..', '..');
const startJs = path.join(root, 'dist', 'src', 'local', 'start.js');
/**
 * Far above a failed start-up (a second or two alone; ~25 s seen on a machine loaded 10×); a process still
 * running then is the bug. Each test's own timeout is above it.
 */
const EXIT_DEADLINE_IN_MS = 60_000;
const TEST_TIMEOUT_IN_MS = EXIT_DEADLINE_IN_MS + 30_000;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-startfail-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs start.js with the given settings; resolves with its exit code and output, or `null` if it did not exit. */
function startApp(settings: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', LOCAL_RUN_SECONDS: '20', ...settings };
    const child = spawn(process.execPath, [startJs], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, output });
    }, EXIT_DEADLINE_IN_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('npm start with a start-up failure exits by itself with code 3', () => {
  it.each([
    ['a directory as STORE_PATH', (): string => fs.mkdtempSync(path.join(tmp, 'store-dir-')), /Cannot start: .*cannot open/],
    [
      'a corrupt file as STORE_PATH',
      (): string => {
        const file = path.join(tmp, 'corrupt.sqlite');
        fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
        return file;
      },
      /Cannot start: .*(not a database|cannot prepare)/,
    ],
    // Chmod cannot make a folder read-only for root (these tests may run as root); sysfs refuses new files to anyone.
    ['a folder where no file can be created (sysfs) as STORE_PATH', (): string => '/sys/apv-store.sqlite', /Cannot start: .*cannot open \/sys\/apv-store\.sqlite/],
  ])('%s', async (_name, storePath, message) => {
    const { code, output } = await startApp({ STORE_PATH: storePath() });
    expect({ code, output }).toEqual({ code: 3, output: expect.stringMatching(message) });
    expect(output).not.toMatch(/is running/);
  }, TEST_TIMEOUT_IN_MS);

  it('a named pipe as POOL_DEFINITION_PATH is refused with its path instead of blocking the start forever', async () => {
    const fifo = path.join(tmp, 'pool.fifo');
    execFileSync('mkfifo', [fifo]);
    const { code, output } = await startApp({ STORE_PATH: path.join(tmp, 'fifo.sqlite'), POOL_DEFINITION_PATH: fifo });
    expect(code).toBe(3);
    expect(output).toContain(`${fifo} is not a regular file (a named pipe)`);
  }, TEST_TIMEOUT_IN_MS);

  it('a PORT that is not a port is refused before any start-up work', async () => {
    const { code, output } = await startApp({ STORE_PATH: path.join(tmp, 'port.sqlite'), PORT: '70000' });
    expect(code).toBe(3);
    expect(output).toMatch(/Cannot start: PORT must be a port number from 0 to 65535 \(0 = any free port\), got "70000"/);
    expect(output).not.toMatch(/Deploy \(/);
  }, TEST_TIMEOUT_IN_MS);

  it('a busy PORT names the port and the PORT setting, and nothing is deployed first', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, output } = await startApp({ STORE_PATH: path.join(tmp, 'busy.sqlite'), PORT: String(port) });
      expect(code).toBe(3);
      expect(output).toContain(`Cannot start: port ${port} is already in use (EADDRINUSE): stop what listens there or set PORT to a free port`);
      expect(output).not.toMatch(/Deploy \(/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  }, TEST_TIMEOUT_IN_MS);
});

describe('local.settings.json', () => {
  const SECRET = 'LSJ-KEY-SECRET-0042';
  const write = (content: string | Buffer): string => {
    const dir = fs.mkdtempSync(path.join(tmp, 'lsj-'));
    fs.writeFileSync(path.join(dir, 'local.settings.json'), content);
    return dir;
  };

  it('when malformed, is reported by line and column without any of its text (it holds secrets)', () => {
    const dir = write(`{\n  "Values": {\n    "APIM_SUBSCRIPTION_KEY": ${SECRET}"\n  }\n}\n`);
    let error: unknown;
    try {
      readLocalSettings(dir, {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toMatch(/local\.settings\.json is not valid JSON \(line 3, column 30\)/);
    expect((error as Error).message).not.toMatch(/LSJ|SECRET|0042/);
  });

  it('is read with a UTF-8 byte-order mark', () => {
    const dir = write(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"Values":{"PROBE_MAX_REQUESTS":"30"}}')]));
    expect(readLocalSettings(dir, {}).PROBE_MAX_REQUESTS).toBe('30');
  });

  it.each([
    ['an array', '{"Values":[{"APIM_GATEWAY_URL":"https://x"}]}', /"Values" must be an object .*got an array/],
    ['a string', '{"Values":"APIM_GATEWAY_URL=https://x"}', /"Values" must be an object .*got a string/],
    ['null', '{"Values":null}', /"Values" must be an object .*got null/],
  ])('refuses "Values" given as %s instead of ignoring it', (_name, content, message) => {
    expect(() => readLocalSettings(write(content), {})).toThrow(message);
  });

  it('keeps the real environment above the file', () => {
    const dir = write('{"Values":{"PROBE_MAX_REQUESTS":"30"}}');
    expect(readLocalSettings(dir, { PROBE_MAX_REQUESTS: '40' }).PROBE_MAX_REQUESTS).toBe('40');
  });
});

describe('readPort', () => {
  it.each([['abc'], ['-1'], ['65536'], ['80.5'], ['0x50']])('refuses PORT=%p naming the setting', (value) => {
    expect(() => readPort({ PORT: value })).toThrow(/^PORT must be a port number/);
  });

  it('prefers FUNCTIONS_HTTPWORKER_PORT, as the Functions host does, and names it', () => {
    expect(readPort({ FUNCTIONS_HTTPWORKER_PORT: '8081', PORT: '9' })).toEqual({ port: 8081, setting: 'FUNCTIONS_HTTPWORKER_PORT' });
    expect(() => readPort({ FUNCTIONS_HTTPWORKER_PORT: 'x' })).toThrow(/^FUNCTIONS_HTTPWORKER_PORT must be/);
    expect(readPort({})).toEqual({ port: 7071, setting: 'PORT' });
  });
});
