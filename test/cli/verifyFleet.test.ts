import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main, type CliIo } from '../../src/cli/main';
import type { FleetVerifyJson } from '../../src/cli/formatFleetResults';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { closedPortUrl } from '../support/closedPortUrl';
import { deployLabPool } from '../support/deployLabPool';

const LAB_POOL = path.resolve(__dirname, '..', '..', 'examples', 'lab-pool.json');
const KEY_A = 'FLEET-KEY-A-0123456789';
const KEY_B = 'FLEET-KEY-B-9876543210';

async function run(argv: string[], env: Record<string, string | undefined>, stderrIsTTY = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, stderrIsTTY };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

// Two APIM services, each with the lab pool: A deployed 2:1 as defined (ok), B deployed 1:1 (drift).
let envA: EmbeddedEnvironment;
let envB: EmbeddedEnvironment;
let tmp: string;
let fleet: string;

/** The lab definition reached through `gatewayUrl` with the key in setting `keySetting`, written to `file`. */
function writeDefinition(file: string, gatewayUrl: string, keySetting?: string): string {
  const document = JSON.parse(fs.readFileSync(LAB_POOL, 'utf8')) as Record<string, unknown>;
  document['gateway'] = { url: gatewayUrl, ...(keySetting ? { subscriptionKeySetting: keySetting } : {}) };
  fs.writeFileSync(file, JSON.stringify(document));
  return file;
}

beforeAll(async () => {
  [envA, envB] = await Promise.all([
    startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 11, subscriptionKey: KEY_A }),
    startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 12, subscriptionKey: KEY_B }),
  ]);
  await Promise.all([deployLabPool(envA, 2, 1), deployLabPool(envB, 1, 1)]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-fleet-'));
  fleet = path.join(tmp, 'fleet');
  fs.mkdirSync(fleet);
  writeDefinition(path.join(fleet, 'a.json'), envA.gatewayUrl, 'KEY_A');
  writeDefinition(path.join(fleet, 'b.json'), envB.gatewayUrl, 'KEY_B');
});

afterAll(async () => {
  await Promise.all([envA?.close(), envB?.close()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const serviceOfEnv = (env: EmbeddedEnvironment): string => new URL(env.gatewayUrl).host;

describe('verify with several pools', () => {
  it('prints one line per pool of a folder and exits with the worst code (drift beats ok)', async () => {
    const result = await run(['verify', '--pool', fleet], { KEY_A, KEY_B });
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^OK +openai-instance-backend-pool  service ${serviceOfEnv(envA)}  health ok  answers \\d+/\\d+  exit 0  \\(${path.join(fleet, 'a.json')}\\)$`));
    expect(lines[1]).toMatch(new RegExp(`^DRIFT +openai-instance-backend-pool  service ${serviceOfEnv(envB)}  health drift  answers \\d+/\\d+  exit 1  `));
    expect(lines[2]).toBe('2 pools: 1 ok, 1 drift; exit code 1 (the worst).');
    expect(result.code).toBe(1);
    expect(result.stdout).not.toMatch(/FLEET-KEY/);
  });

  it('names each pool before its progress line on a terminal, and keeps stdout to one line per pool', async () => {
    const result = await run(['verify', '--pool', fleet, '--requests', '40'], { KEY_A, KEY_B }, true);
    const a = result.stderr.indexOf(`Verifying pool 1 of 2: openai-instance-backend-pool (${path.join(fleet, 'a.json')})\n`);
    const b = result.stderr.indexOf(`Verifying pool 2 of 2: openai-instance-backend-pool (${path.join(fleet, 'b.json')})\n`);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThan(a);
    // Each pool's own progress line ("probes N/40") is drawn between its heading and the next.
    expect(result.stderr.slice(a, b)).toMatch(/probes \d+\/40/);
    expect(result.stderr.slice(b)).toMatch(/probes \d+\/40/);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(3);
  });

  it('prints the fleet object with --json for several --pool files', async () => {
    const a = path.join(fleet, 'a.json');
    const b = path.join(fleet, 'b.json');
    const result = await run(['verify', '--pool', b, '--pool', a, '--json'], { KEY_A, KEY_B });
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as FleetVerifyJson;
    expect(parsed.schemaVersion).toBe(1);
    expect(parsed.exitCode).toBe(1);
    expect(parsed.pools.map((p) => [p.pool, p.service, p.file, p.exitCode, p.report.status])).toEqual([
      ['openai-instance-backend-pool', serviceOfEnv(envB), b, 1, 'drift'],
      ['openai-instance-backend-pool', serviceOfEnv(envA), a, 0, 'ok'],
    ]);
    expect(result.stdout).not.toMatch(/FLEET-KEY/);
  });

  it('ranks a pool that could not run above drift (exit 4)', async () => {
    const unreachable = writeDefinition(path.join(tmp, 'unreachable.json'), `${await closedPortUrl()}/openai`, 'KEY_A');
    const result = await run(['verify', '--pool', path.join(fleet, 'b.json'), '--pool', unreachable], { KEY_A, KEY_B });
    expect(result.code).toBe(4);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DRIFT /);
    expect(lines[1]).toMatch(/^COULD-NOT-RUN +openai-instance-backend-pool .* exit 4 /);
    expect(lines[2]).toBe('2 pools: 1 drift, 1 could-not-run; exit code 4 (the worst).');
    expect(result.stderr).toMatch(/^openai-instance-backend-pool: Could not verify: /m);
  });

  it('refuses, before any probe, a missing key setting (naming it and its pool, never a value), and --gateway with several pools', async () => {
    const sentBefore = envA.accessLog.entries().length + envB.accessLog.entries().length;
    const result = await run(['verify', '--pool', fleet, '--gateway', envA.gatewayUrl], { KEY_A, KEY_B: '  ' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/--gateway names one API, so it is allowed with one pool only/);
    expect(result.stderr).toMatch(/KEY_B is not set: export the subscription key of pool "openai-instance-backend-pool" \(gateway\.subscriptionKeySetting in .*b\.json\)/);
    expect(result.stderr).not.toContain(KEY_A);
    expect(result.stdout).toBe('');
    expect(envA.accessLog.entries().length + envB.accessLog.entries().length).toBe(sentBefore);
  });

  it('needs a gateway.url in every definition when several pools are verified', async () => {
    const folder = path.join(tmp, 'no-url');
    fs.mkdirSync(folder);
    fs.copyFileSync(LAB_POOL, path.join(folder, 'lab.json'));
    writeDefinition(path.join(folder, 'other.json'), 'https://apim-other.azure-api.net/openai');
    const result = await run(['verify', '--pool', folder], { APIM_SUBSCRIPTION_KEY: 'k' });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`${path.join(folder, 'lab.json')}: "gateway": { "url": … } is required when several pools are verified`);
  });

  it('refuses one pool name twice in one APIM service across --pool paths, naming both files', async () => {
    const copy = writeDefinition(path.join(tmp, 'copy-of-a.json'), envA.gatewayUrl, 'KEY_A');
    const result = await run(['verify', '--pool', fleet, '--pool', copy], { KEY_A, KEY_B });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`${copy}: $.pool.name: "openai-instance-backend-pool" is also the pool of ${path.join(fleet, 'a.json')} in APIM service "${serviceOfEnv(envA)}"`);
  });

  it('verifies one pool through its definition\'s gateway.url and key setting, printing the single-pool report', async () => {
    const result = await run(['verify', '--pool', path.join(fleet, 'a.json')], { KEY_A });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^OK: /);
  });
});
