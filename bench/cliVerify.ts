import path from 'node:path';
import { main } from '../src/cli/main';
import { startEmbeddedEnvironment } from '../src/emulator/startEmbeddedEnvironment';
import { findAppRoot } from './findAppRoot';

/**
 * Wall time of `apim-pool-verifier verify` with its defaults (≤ 1,000 probes, concurrency 16, sequential test)
 * against the embedded environment `emulate` starts, healthy 2:1 lab pool: once with the simulated Azure OpenAI
 * latency `emulate` uses by default (median 400 ms, p95 1.2 s) and once with `--latency-scale 0`. The README's
 * figures for `verify` come from this table. One run each (the time is dominated by latency × probes / concurrency).
 */
export async function run(): Promise<string> {
  const appRoot = findAppRoot(__dirname);
  const pool = path.join(appRoot, 'examples', 'lab-pool.json');
  const rows: string[] = [];
  for (const latencyScale of [1, 0]) {
    const env = await startEmbeddedEnvironment({ port: 0, latencyScale, seed: 31 });
    try {
      const quiet = { stdout: () => undefined, stderr: () => undefined, env: {} };
      const deployed = await main(
        ['deploy', '--pool', pool, '--arm-endpoint', env.armEndpoint, '--subscription-id', env.apim.subscriptionId, '--resource-group', env.apim.resourceGroup, '--service-name', env.apim.serviceName],
        quiet,
      );
      if (deployed !== 0) throw new Error(`deploy to the emulator failed (exit ${deployed})`);
      let stdout = '';
      const started = process.hrtime.bigint();
      const code = await main(['verify', '--pool', pool, '--gateway', env.gatewayUrl, '--json'], {
        stdout: (t) => (stdout += t),
        stderr: () => undefined,
        env: { APIM_SUBSCRIPTION_KEY: env.subscriptionKey },
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const report = JSON.parse(stdout) as { total: number; status: string };
      rows.push(
        `| ${latencyScale === 1 ? '`emulate` default (median 400 ms, p95 1.2 s)' : '`emulate --latency-scale 0`'} | ${report.total.toLocaleString('en-US')} | ${seconds.toFixed(1)} | ${report.status} (exit ${code}) |`,
      );
    } finally {
      await env.close();
    }
  }
  return [
    '## cliVerify',
    '',
    '`apim-pool-verifier verify` with its defaults (≤ 1,000 probes, concurrency 16, sequential test) against the embedded environment, healthy 2:1 lab pool, one run each.',
    '',
    '| simulated Azure OpenAI latency | probes | wall time (s) | verdict |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}
