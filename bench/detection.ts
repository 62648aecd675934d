import { SETTING_DEFAULTS } from '../src/lib/config/loadConfig';
import { createServices, type Services } from '../src/app/createServices';
import { runStartup } from '../src/app/runStartup';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../src/emulator/startEmbeddedEnvironment';
import { runVerificationCycle } from '../src/lib/verifier/runVerificationCycle';
import { findAppRoot } from './findAppRoot';
import { setDeployedWeights } from '../test/support/setDeployedWeights';

const TRIALS = 5;
const HEALTHY_CYCLES_BEFORE = 1;
const MAX_CYCLES_AFTER = 10;
const TIME_LIMIT_IN_MS = 150_000;

/** A way to break the pool, applied after the healthy cycles. */
interface Scenario {
  readonly name: string;
  readonly apply: (env: EmbeddedEnvironment) => Promise<void>;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'East US down (dead backend)', apply: (env) => env.faults.setFault('East US', { kind: 'down' }) },
  { name: 'East US throttled, Retry-After 86400', apply: (env) => env.faults.setFault('East US', { kind: 'throttled', retryAfterSeconds: 86_400 }) },
  { name: 'deployed weights changed to 1:1 (declared 2:1)', apply: (env) => setDeployedWeights(env, 1, 1) },
];

/** One trial: in which cycle after the fault each signal first appeared (null = not within the cap). */
interface Trial {
  readonly runDrift: number | null;
  readonly anyWindowDrift: number | null;
  readonly weightAlert: number | null;
  readonly configDriftAlert: number | null;
  readonly probesPerRun: number[];
}

async function runTrial(appRoot: string, scenario: Scenario, seed: number): Promise<Trial> {
  const env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed });
  let services: Services | undefined;
  try {
    // Defaults of the product (PROBE_MAX_REQUESTS, concurrency 4, sequential test on, headline window hour).
    services = await createServices({ STORE_PATH: ':memory:' }, { appRoot, embedded: env });
    await runStartup(services, () => undefined);
    const deps = services.cycleDependencies(() => undefined);
    for (let i = 0; i < HEALTHY_CYCLES_BEFORE; i += 1) await runVerificationCycle(deps);
    await scenario.apply(env);
    const trial = { runDrift: null as number | null, anyWindowDrift: null as number | null, weightAlert: null as number | null, configDriftAlert: null as number | null, probesPerRun: [] as number[] };
    for (let cycle = 1; cycle <= MAX_CYCLES_AFTER; cycle += 1) {
      const result = await runVerificationCycle(deps);
      if (!result.ran) throw new Error(`cycle skipped: ${result.reason}`);
      trial.probesPerRun.push(result.probesSent);
      const windows = result.report.windows;
      if (trial.runDrift === null && windows.some((w) => w.name === 'run' && w.status === 'drift')) trial.runDrift = cycle;
      if (trial.anyWindowDrift === null && windows.some((w) => w.status === 'drift')) trial.anyWindowDrift = cycle;
      const alerts = await services.alerts.store.recent(services.declaredPool.name, 20);
      if (trial.weightAlert === null && alerts.some((a) => a.kind === 'alert' && (a.health === 'drift' || a.health === 'failover'))) trial.weightAlert = cycle;
      if (trial.configDriftAlert === null && alerts.some((a) => a.kind === 'alert' && a.health === 'config-drift')) trial.configDriftAlert = cycle;
      if (trial.weightAlert !== null && trial.runDrift !== null) break;
    }
    return trial;
  } finally {
    await services?.close();
    await env.close();
  }
}

function summary(values: readonly (number | null)[]): string {
  const found = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (found.length === 0) return `not within ${MAX_CYCLES_AFTER} (0/${values.length})`;
  const median = found[Math.floor((found.length - 1) / 2)];
  return `median ${median}, max ${found[found.length - 1]} (${found.length}/${values.length} trials; ${values.map((v) => v ?? '–').join(', ')})`;
}

/**
 * Detection latency on the embedded environment, in timer intervals: after one healthy cycle, a fault is applied
 * and cycles run back to back with the product defaults (PROBE_MAX_REQUESTS probes at most, sequential test on). For each
 * scenario and seeded trial: the first cycle whose run window says drift, whose any window says drift, and the
 * first cycle after which a drift (weight) alert and a config-drift alert were raised. 1 = the first run after
 * the fault. Back to back, the hour and day windows also hold the earlier healthy runs.
 */
export async function run(): Promise<string> {
  const appRoot = findAppRoot(__dirname);
  const started = Date.now();
  const lines = [
    '## detection',
    '',
    `Timer intervals from the fault to each signal (1 = the first run after it), product defaults (≤ ${SETTING_DEFAULTS.PROBE_MAX_REQUESTS} probes per run, sequential test, α_run = 1e-4), ${TRIALS} seeded trials per scenario, at most ${MAX_CYCLES_AFTER} cycles each, runs back to back on the embedded environment (latency 0).`,
    '',
    '| scenario | run window says drift | any window says drift | weight-drift alert | config-drift alert | probes per run (mean) |',
    '|---|---|---|---|---|---|',
  ];
  for (const scenario of SCENARIOS) {
    const trials: Trial[] = [];
    for (let t = 0; t < TRIALS && Date.now() - started < TIME_LIMIT_IN_MS; t += 1) trials.push(await runTrial(appRoot, scenario, 1000 + t));
    const probes = trials.flatMap((t) => t.probesPerRun);
    const meanProbes = probes.reduce((a, b) => a + b, 0) / Math.max(1, probes.length);
    lines.push(
      `| ${scenario.name} | ${summary(trials.map((t) => t.runDrift))} | ${summary(trials.map((t) => t.anyWindowDrift))} | ${summary(trials.map((t) => t.weightAlert))} | ${summary(trials.map((t) => t.configDriftAlert))} | ${meanProbes.toFixed(1)} |`,
    );
  }
  lines.push('', 'Target: a dead backend within one interval.');
  return lines.join('\n');
}
