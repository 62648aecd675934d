import path from 'node:path';
import { AggregateAuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { main, type CliIo } from '../../src/cli/main';
import { createProgress } from '../../src/cli/progress';
import { COMMAND_HELP, COMMANDS, suggestCommand } from '../../src/cli/help';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { describeCredentialError, SIGN_IN_HINT } from '../../src/lib/deploy/describeCredentialError';
import { gatewayMessageOf, MAX_GATEWAY_MESSAGE_LENGTH } from '../../src/lib/probe/gatewayMessageOf';
import type { ProbeRecord } from '../../src/lib/probe/types';

const LAB_POOL = path.resolve(__dirname, '..', '..', 'examples', 'lab-pool.json');
const SECRET_KEY = 'SECRET-SUBSCRIPTION-KEY-HELP-0123456789';

async function run(argv: string[], env: Record<string, string | undefined> = {}, tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, stderrIsTTY: tty };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** Every flag each command parses (kept in step with main.ts: a flag missing from its help fails here). */
const FLAGS: Record<(typeof COMMANDS)[number], string[]> = {
  verify: ['--pool', '--gateway', '--requests', '--concurrency', '--timeout-ms', '--alpha', '--tolerance', '--no-early-stop', '--json'],
  emulate: ['--port', '--pool', '--fault', '--instances', '--selection', '--duration-seconds', '--latency-scale', '--json'],
  deploy: ['--pool', '--dry-run', '--arm-endpoint', '--subscription-id', '--resource-group', '--service-name', '--api-version', '--json'],
  export: ['--pool', '--format', '--out', '--service-name'],
};

describe('CLI help', () => {
  it.each(COMMANDS.flatMap((c) => [[c, '--help'], [c, '-h']]))('"%s %s" prints that command\'s help, naming every flag, and exits 0', async (command, flag) => {
    const result = await run([command, flag]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`Usage: apim-pool-verifier ${command}`);
    for (const f of FLAGS[command]) expect(result.stdout).toContain(f);
  });

  it('answers help even when the rest of the line is wrong, and "help <command>" too', async () => {
    expect(await run(['verify', '--bogus', '--help'])).toMatchObject({ code: 0, stdout: `${COMMAND_HELP.verify}\n` });
    expect(await run(['help', 'deploy'])).toMatchObject({ code: 0, stdout: `${COMMAND_HELP.deploy}\n` });
  });

  it('treats --help after "--" as an argument, not a request for help', async () => {
    expect((await run(['export', '--', '--help'])).code).toBe(3);
  });

  it('suggests the command a typo was meant to be, and nothing for a word that is not close', async () => {
    const typo = await run(['verfy', '--pool', 'x']);
    expect(typo.code).toBe(3);
    expect(typo.stderr).toBe('Unknown command "verfy". Did you mean "verify"? Run "apim-pool-verifier verify --help" for its options.\n');
    expect(suggestCommand('exprot')).toBe('export');
    expect(suggestCommand('deplo')).toBe('deploy');
    expect(suggestCommand('emu')).toBe('emulate');
    expect(suggestCommand('frobnicate')).toBeUndefined();
    expect(suggestCommand('x')).toBeUndefined();
    expect((await run(['frobnicate'])).stderr).not.toContain('Did you mean');
  });
});

describe('verify against a gateway whose pool is not deployed', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 5, subscriptionKey: SECRET_KEY });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('stops after the first 30 identical gateway errors instead of sending 1,000, and shows what the gateway said', async () => {
    const result = await run(['verify', '--pool', LAB_POOL, '--gateway', env.gatewayUrl, '--json'], { APIM_SUBSCRIPTION_KEY: SECRET_KEY });
    const report = JSON.parse(result.stdout) as { total: number; health: string };
    expect(report.total).toBeGreaterThanOrEqual(30);
    // 30 plus at most the 16 in flight when the decision was taken.
    expect(report.total).toBeLessThanOrEqual(30 + 16);
    expect(report.health).toBe('outage');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'Stopped early: the first 30 answers were all HTTP 500 from the gateway itself, which said: ' +
        '"Backend \'openai-instance-backend-pool\' named in the API policy (set-backend-service) is not deployed on this APIM service."\n',
    );
    expect(result.stdout + result.stderr).not.toContain(SECRET_KEY);
  });

  it('draws progress on stderr only when stderr is a terminal', async () => {
    const tty = await run(['verify', '--pool', LAB_POOL, '--gateway', env.gatewayUrl, '--requests', '40'], { APIM_SUBSCRIPTION_KEY: SECRET_KEY }, true);
    expect(tty.stderr).toMatch(/probes 40\/40 · West US 0, East US 0 · failed 40 × 500 · verdict so far: not decided within the probe limit\nStopped early: /);
    const pipe = await run(['verify', '--pool', LAB_POOL, '--gateway', env.gatewayUrl, '--requests', '40'], { APIM_SUBSCRIPTION_KEY: SECRET_KEY }, false);
    expect(pipe.stderr).not.toContain('probes ');
  });
});

describe('progress line', () => {
  const record = (over: Partial<ProbeRecord>): ProbeRecord => ({
    runId: 'r',
    probeIndex: 0,
    startedAtMs: 0,
    latencyInMs: 1,
    kind: 'ok',
    status: 200,
    backend: 'w',
    identifierValue: 'West US',
    totalTokens: 9,
    errorCode: null,
    ...over,
  });

  it('counts answers per backend and failures per status, redraws at most every 200 ms, and ends the line', () => {
    let out = '';
    let t = 0;
    const p = createProgress({ write: (s) => (out += s), maxProbes: 10, labels: new Map([['w', 'West US'], ['e', 'East US']]), now: () => t });
    p.onProbe(record({}), { state: 'continue' });
    t = 50;
    p.onProbe(record({ backend: 'e', identifierValue: 'East US' }), { state: 'continue' });
    p.onProbe(record({ kind: 'http', status: 429, backend: null, identifierValue: null }), { state: 'continue' });
    expect(out.split('\r').length - 1).toBe(1);
    t = 250;
    p.onProbe(record({ kind: 'timeout', status: null, backend: null, identifierValue: null }), { state: 'ok', reason: 'x', identified: 2, observed: 4 });
    p.done();
    expect(out.endsWith('probes 4/10 · West US 1, East US 1 · failed 1 × 429, 1 × timeout · verdict so far: every share within the tolerance (sequential stop)\n')).toBe(true);
  });

  it("shows the gateway's token limit apart from failures", () => {
    let out = '';
    const p = createProgress({ write: (s) => (out += s), maxProbes: 10, labels: new Map([['w', 'West US']]), now: () => 0 });
    p.onProbe(record({}), { state: 'continue' });
    p.onProbe(record({ kind: 'gateway-throttled', status: 429, backend: null, identifierValue: null, retryAfterSeconds: 5 }), { state: 'continue' });
    p.done();
    expect(out.endsWith("probes 2/10 · West US 1 · throttled by the gateway's token limit 1 · verdict so far: undecided\n")).toBe(true);
  });

  it('prints nothing when no probe completed', () => {
    let out = '';
    createProgress({ write: (s) => (out += s), maxProbes: 10, labels: new Map() }).done();
    expect(out).toBe('');
  });
});

describe('what the gateway said', () => {
  it('takes APIM\'s and Azure OpenAI\'s message fields, or the text', () => {
    expect(gatewayMessageOf('{"statusCode":500,"message":"Backend \'x\' is not deployed."}', SECRET_KEY)).toBe("Backend 'x' is not deployed.");
    expect(gatewayMessageOf('{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}', SECRET_KEY)).toBe(
      'The API deployment for this resource does not exist.',
    );
    expect(gatewayMessageOf('<html><body><h1>Bad gateway</h1></body></html>', SECRET_KEY)).toBe('Bad gateway');
    expect(gatewayMessageOf('', SECRET_KEY)).toBeNull();
    expect(gatewayMessageOf(undefined, SECRET_KEY)).toBeNull();
  });

  it('never repeats the key, a line break or a control character, and stays bounded', () => {
    const said = gatewayMessageOf(`{"message":"key ${SECRET_KEY} refused\\n\\u001b[31mred\\u0000"}`, SECRET_KEY);
    expect(said).toBe('key [redacted] refused [31mred');
    expect(gatewayMessageOf('x'.repeat(10_000), SECRET_KEY)).toHaveLength(MAX_GATEWAY_MESSAGE_LENGTH);
  });
});

describe('a missing Azure sign-in', () => {
  it('reads as one line that says how to sign in, not one paragraph per credential tried', () => {
    const chain = new AggregateAuthenticationError(
      [
        new CredentialUnavailableError('EnvironmentCredential is unavailable. No underlying credential could be used.\nTo troubleshoot, visit https://aka.ms/x'),
        new CredentialUnavailableError('ManagedIdentityCredential: Network unreachable.'),
        new CredentialUnavailableError("Azure CLI could not be found. Please visit https://aka.ms/azure-cli and then 'az login'."),
      ],
      'ChainedTokenCredential authentication failed.',
    );
    expect(describeCredentialError(chain)).toBe(SIGN_IN_HINT);
    expect(SIGN_IN_HINT).not.toContain('\n');
    expect(SIGN_IN_HINT).toContain('az login');
  });

  it('keeps the first line of any other credential failure, bounded', () => {
    expect(describeCredentialError(new Error('AADSTS700082: The refresh token has expired.\nTrace ID: 1'))).toBe('AADSTS700082: The refresh token has expired.');
    expect(describeCredentialError(new Error('y'.repeat(1000))).length).toBeLessThanOrEqual(301);
  });
});
