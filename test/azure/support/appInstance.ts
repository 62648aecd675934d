import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const APP_ROOT = path.resolve(__dirname, '..', '..', '..');

/** One app process (test/azure/support/appProcess.ts) and everything it printed. */
export interface AppInstance {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  baseUrl: string;
  /** Resolves with the first line matching `pattern` printed from now on (or already printed when `past`). */
  waitFor(pattern: RegExp, timeoutInMs?: number, past?: boolean): Promise<string>;
  send(command: string): void;
}

/** The compiled app process when dist/ is newer than every source it loads (fast), else the sources through ts-node. */
function loaderArgs(): string[] {
  const compiled = path.join(APP_ROOT, 'dist', 'test', 'azure', 'support', 'appProcess.js');
  const sources = ['src', path.join('test', 'azure', 'support')].flatMap((dir) => listTs(path.join(APP_ROOT, dir)));
  const fresh = sources.every((file) => {
    const built = path.join(APP_ROOT, 'dist', path.relative(APP_ROOT, file).replace(/\.ts$/, '.js'));
    return existsSync(built) && statSync(built).mtimeMs >= statSync(file).mtimeMs;
  });
  if (fresh) return [compiled];
  const script = `require(${JSON.stringify(path.join(APP_ROOT, 'test', 'azure', 'support', 'appProcess.ts'))});`;
  return ['-r', path.join(APP_ROOT, 'test', 'faults', 'tsRegister.js'), '-e', script];
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listTs(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  );
}

/**
 * Starts one app process (real functions on the local host, the azure environment, a fake credential) in `appDir`
 * with exactly `env`, under the guard that makes `better-sqlite3` unresolvable; stdout is kept line by line.
 */
export function startAppInstance(name: string, appDir: string, env: Record<string, string>): AppInstance {
  const child = spawn(process.execPath, ['-r', path.join(APP_ROOT, 'test', 'azure', 'support', 'forbidNativeSqlite.js'), ...loaderArgs()], {
    cwd: appDir,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let partial = '';
  const onData = (chunk: Buffer): void => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const listener of [...listeners]) listener(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', (chunk: Buffer) => lines.push(`stderr ${chunk.toString()}`));
  return {
    name,
    child,
    lines,
    baseUrl: '',
    waitFor(pattern, timeoutInMs = 30_000, past = false) {
      const earlier = past ? lines.find((line) => pattern.test(line)) : undefined;
      if (earlier !== undefined) return Promise.resolve(earlier);
      return new Promise((resolve, reject) => {
        const fail = (why: string): void => {
          clearTimeout(timer);
          listeners.delete(listener);
          child.off('exit', onExit);
          reject(new Error(`${name}: no line matching ${pattern} ${why}; last lines:\n${lines.slice(-30).join('\n')}`));
        };
        const onExit = (): void => fail('before the process exited');
        const timer = setTimeout(() => fail(`within ${timeoutInMs} ms`), timeoutInMs);
        const listener = (line: string): void => {
          if (!pattern.test(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          child.off('exit', onExit);
          resolve(line);
        };
        listeners.add(listener);
        child.once('exit', onExit);
      });
    },
    send(command) {
      child.stdin?.write(`${command}\n`);
    },
  };
}
