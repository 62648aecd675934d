import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Azurite's well-known development account (public, documented; not a secret). */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  readonly connectionString: string;
  readonly port: number;
  /** The queue service's port, when started with `{ queue: true }`. */
  readonly queuePort?: number;
  stop(): Promise<void>;
}

/** A free loopback port: Azurite's `--tablePort 0` would bind but not report which port it got. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Runs one Azurite service (`dist/src/<service>/main.js`) in memory, on loopback, without telemetry, in a scratch
 * working directory. The child watches its stdin, a pipe from this process: when this process dies the pipe closes
 * and the child exits by itself, so a crashed test run leaves no Azurite behind. Readiness: the port is polled with a
 * bounded number of connection attempts (every 25 ms, at most 60 s).
 */
async function startService(service: 'table' | 'queue'): Promise<{ readonly port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const workDir = mkdtempSync(join(tmpdir(), `azurite-${service}-`));
  const entry = require.resolve(`azurite/dist/src/${service}/main.js`);
  const watchdog = `process.stdin.on('end',()=>process.exit(0));process.stdin.on('error',()=>process.exit(0));process.stdin.resume();process.argv.splice(1,0,${JSON.stringify(entry)});require(${JSON.stringify(entry)});`;
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', watchdog, '--', `--${service}Host`, '127.0.0.1', `--${service}Port`, String(port), '--inMemoryPersistence', '--silent', '--skipApiVersionCheck', '--loose', '--disableTelemetry'],
    { cwd: workDir, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));

  const stop = async (): Promise<void> => {
    if (!exited) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    rmSync(workDir, { recursive: true, force: true });
  };

  // Up to 60 s: on a busy machine loading Azurite's modules alone can take several seconds.
  for (let attempt = 0; attempt < 2_400 && !exited; attempt++) {
    if (await canConnect(port)) return { port, stop };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stop();
  throw new Error(`Azurite ${service} did not listen on 127.0.0.1:${port} within 2400 attempts (60 s): ${output.slice(0, 500)}`);
}

/**
 * Starts Azurite's table service (the `azurite-table` bin), and with `{ queue: true }` its queue service too (the
 * fleet's fan-out queue, issue 17); the connection string then names both endpoints.
 */
export async function startAzurite(options: { readonly queue?: boolean } = {}): Promise<RunningAzurite> {
  const [table, queue] = await Promise.all([startService('table'), options.queue ? startService('queue') : Promise.resolve(undefined)]);
  const queueEndpoint = queue ? `QueueEndpoint=http://127.0.0.1:${queue.port}/${DEV_ACCOUNT};` : '';
  return {
    port: table.port,
    ...(queue ? { queuePort: queue.port } : {}),
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};TableEndpoint=http://127.0.0.1:${table.port}/${DEV_ACCOUNT};${queueEndpoint}`,
    stop: async () => {
      await Promise.all([table.stop(), queue?.stop()]);
    },
  };
}
