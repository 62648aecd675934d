import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { createServices } from '../../src/app/createServices';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import type { AccessLogEntry } from '../../src/emulator/startEmbeddedEnvironment';
import { openSqliteStore } from '../../src/lib/store/sqliteStore';
import { evidenceScope } from '../../src/lib/state/evidenceScope';
import { runVerificationCycle, type RunBookkeeping } from '../../src/lib/verifier/runVerificationCycle';
import { APP_ROOT, LAB_POOL_PATH, makeTempDir, recordUnhandledRejections, type RejectionRecorder } from '../corpus/support';

/**
 * A process killed in the middle of a probe run: a child process runs one cycle against a slow emulator with a
 * file-based SQLite store and is SIGKILLed after some probes were answered. The probes it recorded are kept; the
 * next cycle (once the dead run's lock has expired) marks that run incomplete and runs normally.
 */

const POOL = 'openai-instance-backend-pool';
const HOUR_IN_MS = 3_600_000;
const PROBES_BEFORE_KILL = 12;

let env: EmbeddedEnvironment;
let tmp: ReturnType<typeof makeTempDir>;
let child: ChildProcess | undefined;
let rejections: RejectionRecorder;

/** Resolves once the gateway has answered `count` requests (observed by wrapping its access log). */
function whenGatewayAnswered(count: number): Promise<void> {
  return new Promise((resolve) => {
    const log = env.accessLog;
    const add = log.add.bind(log);
    let seen = 0;
    log.add = (entry: AccessLogEntry): void => {
      add(entry);
      seen += 1;
      if (seen === count) resolve();
    };
  });
}

beforeAll(async () => {
  rejections = recordUnhandledRejections();
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 5 });
  tmp = makeTempDir('apv-killed-');
  const deployed = await main(
    ['deploy', '--pool', LAB_POOL_PATH, '--arm-endpoint', env.armEndpoint, '--subscription-id', env.apim.subscriptionId, '--resource-group', env.apim.resourceGroup, '--service-name', env.apim.serviceName],
    { stdout: () => undefined, stderr: () => undefined, env: {} },
  );
  if (deployed !== 0) throw new Error(`deploy to the emulator failed (${deployed})`);
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await env?.close();
  tmp?.remove();
  rejections.uninstall();
});

describe('a probe run killed mid-way', () => {
  const storePath = (): string => path.join(tmp.dir, 'verifier.sqlite');
  const settings = (): Record<string, string> => ({
    APIM_GATEWAY_URL: env.gatewayUrl,
    APIM_SUBSCRIPTION_KEY: env.subscriptionKey,
    VERIFIER_ENVIRONMENT: 'embedded',
    STORE_PATH: storePath(),
    PROBE_SEQUENTIAL: 'false',
    PROBE_MAX_REQUESTS: '200',
    PROBE_CONCURRENCY: '2',
    PROBE_TIMEOUT_MS: '5000',
    REPORT_PRIMARY_WINDOW: 'run',
  });

  it('keeps the probes the killed process recorded', async () => {
    await env.faults.setFault('West US', { kind: 'slow', delayInMs: 100 });
    await env.faults.setFault('East US', { kind: 'slow', delayInMs: 100 });
    const answered = whenGatewayAnswered(PROBES_BEFORE_KILL);
    const script = `
      const { createServices } = require(${JSON.stringify(path.join(APP_ROOT, 'src', 'app', 'createServices.ts'))});
      const { runVerificationCycle } = require(${JSON.stringify(path.join(APP_ROOT, 'src', 'lib', 'verifier', 'runVerificationCycle.ts'))});
      (async () => {
        const services = await createServices(${JSON.stringify(settings())}, { appRoot: ${JSON.stringify(APP_ROOT)} });
        process.stdout.write('started\\n');
        await runVerificationCycle(services.cycleDependencies(() => undefined));
        process.stdout.write('finished\\n');
      })();`;
    let output = '';
    child = spawn(process.execPath, ['-r', path.join(APP_ROOT, 'test', 'faults', 'tsRegister.js'), '-e', script], { cwd: APP_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child?.once('exit', (_code, signal) => resolve(signal)));
    await Promise.race([answered, exited]);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(output).not.toContain('finished');
    await env.faults.heal();

    const store = openSqliteStore(storePath());
    try {
      // The store keys evidence by pool *and* gateway (the scope this verifier's settings give).
      const key = evidenceScope({ embedded: false, gatewayUrl: env.gatewayUrl, apim: undefined }).key(POOL);
      const [run] = store.recentRuns(key, 1);
      expect(run?.state).toBe('running');
      const kept = store.readWindowSync(key, { fromMs: 0, toMs: Date.now() + 1 }, 60_000);
      expect(kept.total).toBeGreaterThanOrEqual(PROBES_BEFORE_KILL - 2);
      expect(kept.total).toBeLessThan(200);
      expect(kept.answered).toBe(kept.total);
    } finally {
      store.close();
    }
  }, 150_000); // The child transpiles the sources on load: slow on a busy machine.

  it('the next cycle, once the dead run lock has expired, marks that run incomplete and runs normally', async () => {
    const services = await createServices(settings(), { appRoot: APP_ROOT, embedded: env });
    try {
      const lines: string[] = [];
      const deps = services.cycleDependencies((line) => lines.push(line));
      // Two hours later for the run lock and abandonment only (an injected clock, no sleeping): the killed
      // process's lock has expired and its run has seen no activity since.
      const later = (nowMs: number): number => nowMs + 2 * HOUR_IN_MS;
      // Every other bookkeeping call goes to the store unchanged.
      const shifted: Partial<RunBookkeeping> = {
        tryAcquireLock: (name, owner, ttlInMs, nowMs) => services.state.tryAcquireLock(name, owner, ttlInMs, later(nowMs)),
        renewLock: (name, owner, ttlInMs, nowMs) => services.state.renewLock(name, owner, ttlInMs, later(nowMs)),
        markAbandonedRuns: (nowMs, olderThanMs, pool) => services.state.markAbandonedRuns(later(nowMs), olderThanMs, pool),
      };
      const bookkeeping = new Proxy(services.state, {
        get(target, property, receiver) {
          const override = shifted[property as keyof RunBookkeeping];
          if (override) return override;
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }) as RunBookkeeping;
      const killed = (await services.state.recentRuns(POOL, 1))[0];
      const result = await runVerificationCycle({ ...deps, bookkeeping, settings: { ...deps.settings, maxProbes: 30 } });
      expect(result.ran).toBe(true);
      expect(lines.join('\n')).toMatch(/Marked 1 unfinished earlier run\(s\) as incomplete; their probes are kept/);
      const runs = await services.state.recentRuns(POOL, 2);
      expect(runs[0]).toMatchObject({ state: 'complete', probesSent: 30 });
      expect(runs[1]).toMatchObject({ runId: killed?.runId, state: 'incomplete' });
      if (result.ran) expect(result.report.total).toBe(30);
      const all = services.localStore!.readWindowSync(services.scope.key(POOL), { fromMs: 0, toMs: Date.now() + 1 }, 60_000);
      expect(all.incompleteRuns).toBe(1);
    } finally {
      await services.close();
    }
  });

  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
