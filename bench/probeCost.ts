import { SETTING_DEFAULTS } from '../src/lib/config/loadConfig';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServices, type Services } from '../src/app/createServices';
import { runStartup } from '../src/app/runStartup';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../src/emulator/startEmbeddedEnvironment';
import { loadPoolDefinition } from '../src/lib/pool/loadPoolDefinition';
import { runProbes } from '../src/lib/probe/runProbes';
import { runVerificationCycle } from '../src/lib/verifier/runVerificationCycle';
import { verifyOnce } from '../src/lib/verifier/verifyOnce';
import { findAppRoot } from './findAppRoot';
import { setDeployedWeights } from '../test/support/setDeployedWeights';

const TIMER_TRIALS = 10;
const CLI_TRIALS = 5;

/** The reference lab notebook's request: a system prompt and a question, no max_tokens. */
const LAB_REQUEST = {
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'What is the capital of France?' },
  ],
};

async function labRequestTokens(env: EmbeddedEnvironment): Promise<{ prompt: number; completion: number; total: number }> {
  const response = await fetch(`${env.gatewayUrl}/deployments/gpt-4o/chat/completions?api-version=2024-02-01`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': env.subscriptionKey },
    body: JSON.stringify(LAB_REQUEST),
  });
  if (response.status !== 200) throw new Error(`the lab request answered ${response.status}`);
  const usage = ((await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } }).usage;
  return { prompt: usage.prompt_tokens, completion: usage.completion_tokens, total: usage.total_tokens };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

/** Healthy timer runs: probes and tokens per verdict, with or without the sequential stop. */
async function timerRuns(appRoot: string, env: EmbeddedEnvironment, sequential: boolean): Promise<{ probes: number[]; tokens: number[] }> {
  let services: Services | undefined;
  try {
    services = await createServices({ STORE_PATH: ':memory:', PROBE_SEQUENTIAL: String(sequential) }, { appRoot, embedded: env });
    await runStartup(services, () => undefined);
    const deps = services.cycleDependencies(() => undefined);
    const probes: number[] = [];
    const tokens: number[] = [];
    for (let t = 0; t < TIMER_TRIALS; t += 1) {
      const result = await runVerificationCycle(deps);
      if (!result.ran) throw new Error(`cycle skipped: ${result.reason}`);
      probes.push(result.probesSent);
      tokens.push(result.tokensUsed);
    }
    return { probes, tokens };
  } finally {
    await services?.close();
  }
}

/**
 * Token cost of probing, measured on the embedded environment with its token counting (≈ 4 characters a token,
 * +4 per message, +3 priming): one probe, one verdict of a healthy timer run (sequential stop vs a fixed PROBE_MAX_REQUESTS), and
 * one CLI `verify` (defaults: ≤ 1000 probes, sequential) on a 1:1 pool — each against the reference lab's notebook
 * request as the baseline.
 */
export async function run(): Promise<string> {
  const appRoot = findAppRoot(__dirname);
  const env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 23 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-cost-'));
  try {
    const labPoolPath = path.join(appRoot, 'examples', 'lab-pool.json');
    const lab = await loadPoolDefinition(labPoolPath);
    const sequentialRuns = await timerRuns(appRoot, env, true);
    const fixedRuns = await timerRuns(appRoot, env, false);
    const baseline = await labRequestTokens(env);
    const single = await runProbes({ gatewayUrl: env.gatewayUrl, subscriptionKey: env.subscriptionKey, pool: lab, runId: 'cost', maxProbes: 20, concurrency: 4, timeoutInMs: 5000 });
    const perProbe = single.tokensUsed / Math.max(1, single.records.filter((r) => r.kind === 'ok').length);

    // CLI verify on a 1:1 pool: declared and deployed 1:1.
    const document = JSON.parse(fs.readFileSync(labPoolPath, 'utf8')) as { pool: { backends: { weight: number }[] } };
    for (const backend of document.pool.backends) backend.weight = 1;
    const equalPath = path.join(dir, 'equal-pool.json');
    fs.writeFileSync(equalPath, JSON.stringify(document));
    const equal = await loadPoolDefinition(equalPath);
    await setDeployedWeights(env, 1, 1);
    const cliProbes: number[] = [];
    const cliTokens: number[] = [];
    const cliStatuses: string[] = [];
    for (let t = 0; t < CLI_TRIALS; t += 1) {
      const result = await verifyOnce({ pool: equal, gatewayUrl: env.gatewayUrl, subscriptionKey: env.subscriptionKey, requests: 1000, concurrency: 16, timeoutInMs: 30_000, alpha: 1e-4, toleranceInPoints: 5, sequential: true });
      cliProbes.push(result.probesSent);
      cliTokens.push(result.tokensUsed);
      cliStatuses.push(result.report.status);
    }
    // How many probes the sequential test needs to say ok on its own (cap 10,000, one run).
    const long = await verifyOnce({ pool: equal, gatewayUrl: env.gatewayUrl, subscriptionKey: env.subscriptionKey, requests: 10_000, concurrency: 16, timeoutInMs: 30_000, alpha: 1e-4, toleranceInPoints: 5, sequential: true });
    const longState = long.decision?.state === 'cap' ? 'cap reached' : long.decision?.state ?? 'none';

    const ratio = (tokens: number): string => `${(tokens / baseline.total).toFixed(2)} ×`;
    const row = (name: string, probes: readonly number[], tokens: readonly number[], note: string): string =>
      `| ${name} | ${mean(probes).toFixed(1)} (${Math.min(...probes)}–${Math.max(...probes)}) | ${mean(tokens).toFixed(0)} | ${ratio(mean(tokens))} | ${note} |`;
    return [
      '## probeCost',
      '',
      `Baseline: the reference lab notebook's request (system "You are a helpful assistant.", user "What is the capital of France?", no max_tokens) costs **${baseline.total} tokens** on the emulator (${baseline.prompt} prompt + ${baseline.completion} completion; the emulator counts ≈ 4 characters a token, +4 per message, +3 priming, and answers one fixed sentence).`,
      '',
      `One probe (\`ping\`, max_tokens 1) costs **${perProbe.toFixed(1)} tokens** = ${ratio(perProbe)} the lab request.`,
      '',
      '| verdict | probes per verdict (mean, min–max) | tokens per verdict (mean) | vs one lab request | note |',
      '|---|---|---|---|---|',
      row('timer run, healthy 2:1, sequential stop (default)', sequentialRuns.probes, sequentialRuns.tokens, `${TIMER_TRIALS} runs`),
      row(`timer run, healthy 2:1, fixed ${SETTING_DEFAULTS.PROBE_MAX_REQUESTS} probes (sequential test off)`, fixedRuns.probes, fixedRuns.tokens, `${TIMER_TRIALS} runs`),
      row('CLI verify on a 1:1 pool (≤ 1000 probes, sequential)', cliProbes, cliTokens, `${CLI_TRIALS} runs; verdicts: ${cliStatuses.join(', ')}`),
      row('CLI verify on a 1:1 pool, --requests 10000 (sequential)', [long.probesSent], [long.tokensUsed], `1 run; sequential decision: ${longState}, stopped early: ${long.stoppedEarly}`),
      '',
      `Sequential stop saves ${(100 * (1 - mean(sequentialRuns.tokens) / Math.max(1, mean(fixedRuns.tokens)))).toFixed(0)}% of the tokens of a fixed ${SETTING_DEFAULTS.PROBE_MAX_REQUESTS}-probe run on a healthy pool (a run cannot show ±5 points on its own, so a healthy run never stops early).`,
    ].join('\n');
  } finally {
    await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
