import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main, type CliIo } from '../../src/cli/main';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import type { Report } from '../../src/lib/report/types';
import { closedPortUrl } from '../support/closedPortUrl';
import { setDeployedWeights } from '../support/setDeployedWeights';

const LAB_POOL = path.resolve(__dirname, '..', '..', 'examples', 'lab-pool.json');
const SECRET_KEY = 'SECRET-SUBSCRIPTION-KEY-0123456789';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], env: Record<string, string | undefined> = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

let env: EmbeddedEnvironment;
let tmp: string;

function deployArgs(): string[] {
  return [
    'deploy',
    '--pool',
    LAB_POOL,
    '--arm-endpoint',
    env.armEndpoint,
    '--subscription-id',
    env.apim.subscriptionId,
    '--resource-group',
    env.apim.resourceGroup,
    '--service-name',
    env.apim.serviceName,
  ];
}

beforeAll(async () => {
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 11, subscriptionKey: SECRET_KEY });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-cli-'));
});

afterAll(async () => {
  await env?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('apim-pool-verifier CLI', () => {
  it('prints usage and exits 3 without a command, or with an unknown one', async () => {
    expect((await run([])).code).toBe(3);
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/Unknown command "frobnicate"/);
    expect((await run(['help'])).code).toBe(0);
  });

  it('names every missing or malformed verify input at once and exits 3', async () => {
    const result = await run(['verify', '--requests', 'many', '--gateway', 'not a url']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/--pool is required/);
    expect(result.stderr).toMatch(/--gateway "not a url" is not an absolute http\(s\) URL/);
    expect(result.stderr).toMatch(/--requests "many" must be a whole number/);
    expect(result.stderr).toMatch(/APIM_SUBSCRIPTION_KEY is not set/);
  });

  it('rejects unknown flags and a key passed as a flag with exit 3', async () => {
    const result = await run(['verify', '--pool', LAB_POOL, '--gateway', 'http://127.0.0.1:1/x', '--key', 'abc']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/--key/);
  });

  it('exits 3 with the JSON path of each problem in an invalid definition', async () => {
    const file = path.join(tmp, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ pool: { name: 'p', backends: [{ name: 'a', url: 'nope', region: 'West US', weight: 101 }] } }));
    const result = await run(['verify', '--pool', file, '--gateway', env.gatewayUrl], { APIM_SUBSCRIPTION_KEY: SECRET_KEY });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('$.pool.backends[0].weight');
    expect(result.stderr).toContain('$.pool.backends[0].url');
  });

  it('deploy --dry-run prints the plan and writes nothing; deploy then writes; a second deploy is a no-op', async () => {
    const dry = await run([...deployArgs(), '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/openai-instance1: create → planned/);
    const check = await fetch(
      `${env.armEndpoint}/subscriptions/${env.apim.subscriptionId}/resourceGroups/${env.apim.resourceGroup}/providers/Microsoft.ApiManagement/service/${env.apim.serviceName}/backends/openai-instance1?api-version=2024-05-01`,
      { headers: { authorization: 'Bearer test' } },
    );
    expect(check.status).toBe(404);

    const real = await run(deployArgs());
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/openai-instance-backend-pool: create → written/);
    const again = await run([...deployArgs(), '--json']);
    expect(again.code).toBe(0);
    const outcome = JSON.parse(again.stdout) as { actions: { result: string }[] };
    expect(outcome.actions.map((a) => a.result)).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });

  it('verify exits 0 for a healthy 2:1 pool and prints the same report object as the HTTP endpoint with --json', async () => {
    const result = await run(['verify', '--pool', LAB_POOL, '--gateway', env.gatewayUrl, '--json'], { APIM_SUBSCRIPTION_KEY: SECRET_KEY });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.status).toBe('ok');
    expect(report.backends.map((b) => b.name)).toEqual(['openai-instance1', 'openai-instance2']);
    expect(report.total).toBeGreaterThan(0);
    expect(report.total).toBeLessThanOrEqual(1000);
    expect(result.stdout).not.toContain(SECRET_KEY);
  });

  it('verify exits 1 when the pool is deployed 1:1 instead of 2:1', async () => {
    await setDeployedWeights(env, 1, 1);
    try {
      const result = await run(['verify', '--pool', LAB_POOL, '--gateway', env.gatewayUrl], { APIM_SUBSCRIPTION_KEY: SECRET_KEY });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^DRIFT:/);
      expect(result.stdout).not.toContain(SECRET_KEY);
    } finally {
      await setDeployedWeights(env, 2, 1);
    }
  });

  it('verify exits 2 when too few probes are allowed to decide', async () => {
    const result = await run(['verify', '--pool', LAB_POOL, '--gateway', env.gatewayUrl, '--requests', '3'], { APIM_SUBSCRIPTION_KEY: SECRET_KEY });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^INCONCLUSIVE:/);
  });

  it('verify exits 4 on a wrong subscription key — a configuration error, never drift — and never prints the key', async () => {
    const wrong = 'WRONG-KEY-SHOULD-NOT-APPEAR-42';
    const result = await run(['verify', '--pool', LAB_POOL, '--gateway', env.gatewayUrl], { APIM_SUBSCRIPTION_KEY: wrong });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/401|unauthori[sz]ed|subscription key/i);
    expect(result.stdout + result.stderr).not.toContain(wrong);
  });

  it('verify exits 4 quickly when the gateway is unreachable', async () => {
    const gateway = `${await closedPortUrl()}/openai`;
    const started = Date.now();
    const result = await run(['verify', '--pool', LAB_POOL, '--gateway', gateway], { APIM_SUBSCRIPTION_KEY: SECRET_KEY });
    expect(result.code).toBe(4);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('export writes a Bicep or ARM template and refuses an unknown format with exit 3', async () => {
    const bicep = await run(['export', '--pool', LAB_POOL, '--format', 'bicep']);
    expect(bicep.code).toBe(0);
    expect(bicep.stdout).toContain('openai-instance-backend-pool');
    const out = path.join(tmp, 'pool.json');
    const arm = await run(['export', '--pool', LAB_POOL, '--format', 'arm', '--out', out]);
    expect(arm.code).toBe(0);
    const template = JSON.parse(fs.readFileSync(out, 'utf8')) as { resources: unknown[] };
    expect(template.resources.length).toBeGreaterThanOrEqual(3);
    const bad = await run(['export', '--pool', LAB_POOL, '--format', 'xml']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/--format "xml" is not allowed; use bicep or arm/);
  });

  it('emulate prints its URLs and key as JSON, stops by itself with --duration-seconds, and rejects a bad fault', async () => {
    const result = await run(['emulate', '--port', '0', '--duration-seconds', '1', '--json', '--fault', 'East US=throttled:86400']);
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout) as { gatewayUrl: string; subscriptionKey: string; regions: unknown[] };
    expect(info.gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/openai$/);
    expect(info.subscriptionKey.length).toBeGreaterThan(10);
    expect(info.regions).toHaveLength(2);
    const bad = await run(['emulate', '--port', '0', '--duration-seconds', '1', '--fault', 'East US=melting']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/--fault/);
  });

  it('emulate with several --pool hosts a fleet: one API per pool, each answering "not deployed" until deployed', async () => {
    const fleetDir = path.resolve(__dirname, '..', '..', 'examples', 'fleet');
    const files = ['01-lab-gpt-4o.json', '02-gpt-4o-mini.json', '03-on-your-data.json'].map((file) => path.join(fleetDir, file));
    let stdout = '';
    const answers: { status: number; message: string }[] = [];
    const io: CliIo = {
      stdout: (text) => (stdout += text),
      stderr: () => undefined,
      env: { EMULATOR_SUBSCRIPTION_KEY: SECRET_KEY },
      // Runs once the environment is up and has printed its URLs; resolving stops it.
      untilInterrupted: async () => {
        const info = JSON.parse(stdout) as { apis: { gatewayUrl: string }[] };
        for (const api of info.apis) {
          const response = await fetch(`${api.gatewayUrl}/deployments/gpt-4o/chat/completions?api-version=2024-02-01`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'api-key': SECRET_KEY },
            body: JSON.stringify({ messages: [{ role: 'user', content: 'ping' }] }),
          });
          answers.push({ status: response.status, message: ((await response.json()) as { message: string }).message });
        }
      },
    };
    const code = await main(['emulate', '--port', '0', '--json', ...files.flatMap((file) => ['--pool', file])], io);
    expect(code).toBe(0);
    const info = JSON.parse(stdout) as { apis: { pool: string; gatewayUrl: string; policy?: string }[] };
    expect(info.apis.map((api) => [api.pool, new URL(api.gatewayUrl).pathname])).toEqual([
      ['openai-instance-backend-pool', '/openai'],
      ['gpt-4o-mini-pool', '/gpt-4o-mini-pool'],
      ['ondata-backend-pool', '/ondata-backend-pool'],
    ]);
    expect(info.apis[2]?.policy).toBe('token limit 20000 tokens/min; x-route: on-your-data → openai-instance1');
    expect(answers.map((answer) => answer.status)).toEqual([500, 500, 500]);
    expect(answers[1]?.message).toBe("Backend 'gpt-4o-mini-pool' named in the API policy (set-backend-service) is not deployed on this APIM service.");
    const twice = await run(['emulate', '--port', '0', '--duration-seconds', '1', '--pool', files[0] as string, '--pool', files[0] as string]);
    expect(twice.code).toBe(3);
    expect(twice.stderr).toContain("Invalid emulator option 'entries[1].pool.name'");
  });

  it('emulate with --pool <folder> hosts every definition of the folder, in file-name order', async () => {
    const fleetDir = path.resolve(__dirname, '..', '..', 'examples', 'fleet');
    const result = await run(['emulate', '--port', '0', '--duration-seconds', '1', '--json', '--pool', fleetDir]);
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout) as { apis: { pool: string; file: string; gatewayUrl: string }[] };
    expect(info.apis.map((api) => [api.pool, path.basename(api.file), new URL(api.gatewayUrl).pathname])).toEqual([
      ['openai-instance-backend-pool', '01-lab-gpt-4o.json', '/openai'],
      ['gpt-4o-mini-pool', '02-gpt-4o-mini.json', '/gpt-4o-mini-pool'],
      ['ondata-backend-pool', '03-on-your-data.json', '/ondata-backend-pool'],
    ]);
    // A folder without definitions is bad input (exit 3), named.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-emulate-empty-'));
    const none = await run(['emulate', '--port', '0', '--duration-seconds', '1', '--pool', empty]);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('holds no pool definition');
  });
});
