import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { ensureError } from '../../src/lib/util/errors';
import { main, type CliIo } from '../../src/cli/main';
import { configureServicesExplicitly } from '../../src/app/defaultServices';
import { disposeServices } from '../../src/app/appState';
import { createServices } from '../../src/app/createServices';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { sharedFunctionsCoreShim } from '../../src/local/functionsCoreShim';
import { APP_ROOT, LAB_POOL_PATH, makeTempDir, recordUnhandledRejections, type RejectionRecorder } from './support';

jest.mock('@azure/functions-core', () => require('../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

/**
 * Bad command lines (exit code 3 naming the flag; nothing probed) and bad report query parameters (400 naming
 * what is allowed), through `main(argv, io)` and the real registered `report` handler.
 */

const KEY = 'SECRET-SUBKEY-cli-corpus-9';
let env: EmbeddedEnvironment;
let rejections: RejectionRecorder;

async function runCli(argv: string[], vars: Record<string, string> = { APIM_SUBSCRIPTION_KEY: KEY }): Promise<{ code: number; out: string }> {
  let out = '';
  const io: CliIo = { stdout: (t) => (out += t), stderr: (t) => (out += t), env: vars, untilInterrupted: async () => undefined };
  const code = await main(argv, io);
  return { code, out };
}

const gateway = (): string => env.gatewayUrl;

/** [name, argv builder, text that must name the problem]. */
const CLI_CASES: readonly [string, () => string[], RegExp, Record<string, string>?][] = [
  ['verify without any flag', () => ['verify'], /--pool is required[\s\S]*--gateway is required/],
  ['verify with a negative request count', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--requests=-1'], /--requests "-1" must be a whole number/],
  ['verify with a non-numeric request count', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--requests', 'lots'], /--requests "lots"/],
  ['verify with zero requests', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--requests', '0'], /--requests "0" must be a whole number from 1/],
  ['verify with concurrency 0', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--concurrency', '0'], /--concurrency/],
  ['verify with concurrency 1000', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--concurrency', '1000'], /--concurrency "1000"/],
  ['verify with a 5 ms timeout', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--timeout-ms', '5'], /--timeout-ms "5"/],
  ['verify with alpha 0', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--alpha', '0'], /--alpha "0"/],
  ['verify with alpha 1', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--alpha', '1'], /--alpha "1"/],
  ['verify with a negative tolerance', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway(), '--tolerance=-2'], /--tolerance "-2"/],
  ['verify with an ftp gateway', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', 'ftp://apim/openai'], /--gateway "ftp:\/\/apim\/openai" is not an absolute http\(s\) URL/],
  ['verify with a relative gateway', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', 'apim/openai'], /--gateway/],
  ['verify without APIM_SUBSCRIPTION_KEY', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway()], /APIM_SUBSCRIPTION_KEY is not set/, {}],
  ['verify with a missing definition file', () => ['verify', '--pool', '/no/such/pool.json', '--gateway', gateway()], /\/no\/such\/pool\.json does not exist/],
  ['emulate on port 70000', () => ['emulate', '--port', '70000'], /--port "70000"/],
  ['emulate with an unknown selection', () => ['emulate', '--selection', 'random'], /--selection "random" is not allowed/],
  ['emulate with an unknown fault', () => ['emulate', '--fault', 'East US=explode'], /--fault/],
  ['emulate on a port in use (was exit 4)', () => ['emulate', '--port', new URL(gateway()).port], /--port \d+ is already in use \(EADDRINUSE\)/],
  ['emulate with 99 instances', () => ['emulate', '--instances', '99'], /--instances "99"/],
  ['deploy with a non-URL ARM endpoint', () => ['deploy', '--pool', LAB_POOL_PATH, '--arm-endpoint', 'management'], /--arm-endpoint "management"/],
  ['deploy without knowing where the service is', () => ['deploy', '--pool', LAB_POOL_PATH, '--arm-endpoint', env.armEndpoint], /--subscription-id, --resource-group and --service-name/],
  ['export with format pdf', () => ['export', '--pool', LAB_POOL_PATH, '--format', 'pdf'], /--format "pdf" is not allowed; use bicep or arm/],
  ['export without a format', () => ['export', '--pool', LAB_POOL_PATH], /--format is required/],
  // Issue 15: credentials in URLs are refused and never echoed; a URL needs a host.
  ['verify with user:password in an http gateway (was accepted: Basic auth on every probe)', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway().replace('://', '://user:SECRETPW@')], /--gateway "http:\/\/\*\*\*@127\.0\.0\.1:\d+\/openai" must not contain credentials/],
  ['verify with credentials in an ftp gateway', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', 'ftp://user:SECRETPW@apim.example.net/openai'], /--gateway "ftp:\/\/\*\*\*@apim\.example\.net\/openai" must not contain credentials/],
  ['verify with a gateway that has no host', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', 'https:///openai'], /--gateway "https:\/\/\/openai" must name a host/],
  ['verify with a key Node cannot send as a header', () => ['verify', '--pool', LAB_POOL_PATH, '--gateway', gateway()], /APIM_SUBSCRIPTION_KEY must be 1–4096 visible ASCII characters/, { APIM_SUBSCRIPTION_KEY: 'SECRETPW-key with spaces' }],
  ['deploy with credentials in the ARM endpoint', () => ['deploy', '--pool', LAB_POOL_PATH, '--arm-endpoint', 'ftp://x:SECRETPW@arm.example.net'], /--arm-endpoint "ftp:\/\/\*\*\*@arm\.example\.net" must not contain credentials/],
  ['deploy with credentials in ARM_ENDPOINT', () => ['deploy', '--pool', LAB_POOL_PATH], /ARM_ENDPOINT "https:\/\/\*\*\*@arm\.example\.net" must not contain credentials/, { APIM_SUBSCRIPTION_KEY: KEY, ARM_ENDPOINT: 'https://me:SECRETPW@arm.example.net' }],
  // Issue 15: values ARM would refuse (exit 4 after a round trip) are invalid input.
  ['deploy with a subscription id that is not a GUID', () => ['deploy', '--pool', LAB_POOL_PATH, '--arm-endpoint', env.armEndpoint, '--subscription-id', 'sub/../x', '--resource-group', 'rg', '--service-name', 'svc'], /--subscription-id must be a subscription GUID/],
  ['deploy with a service name ARM refuses', () => ['deploy', '--pool', LAB_POOL_PATH, '--arm-endpoint', env.armEndpoint, '--subscription-id', env.apim.subscriptionId, '--resource-group', env.apim.resourceGroup, '--service-name', 'apim_lab'], /--service-name must start with a letter/],
  ['deploy with an api-version that is not one', () => ['deploy', '--pool', LAB_POOL_PATH, '--arm-endpoint', env.armEndpoint, '--api-version', 'latest'], /--api-version must be an api-version/],
  ['deploy with APIM_RESOURCE_GROUP ending with a period', () => ['deploy', '--pool', LAB_POOL_PATH, '--arm-endpoint', env.armEndpoint], /APIM_RESOURCE_GROUP must contain only letters/, { APIM_SUBSCRIPTION_KEY: KEY, APIM_RESOURCE_GROUP: 'rg.' }],
  ['export arm with an ARM expression as the service name', () => ['export', '--pool', LAB_POOL_PATH, '--format', 'arm', '--service-name', "[concat('a','b')]"], /--service-name must start with a letter/],
  ['export into a folder that does not exist', () => ['export', '--pool', LAB_POOL_PATH, '--format', 'bicep', '--out', '/no/such/folder/pool.bicep'], /--out \/no\/such\/folder\/pool\.bicep cannot be written: its folder does not exist/],
  ['export onto a directory', () => ['export', '--pool', LAB_POOL_PATH, '--format', 'bicep', '--out', APP_ROOT], /--out .+ is not a regular file \(a directory\)/],
  ['an unknown command', () => ['frobnicate'], /Unknown command "frobnicate"/],
  ['a command with control characters', () => ['verify\u001b[31m'], /Unknown command "verify\?\[31m"/],
];

const registry = sharedFunctionsCoreShim.registry;
function context(): InvocationContext {
  return new InvocationContext({ functionName: 'report', logHandler: () => undefined });
}

async function getReport(query: string): Promise<{ status: number; body: unknown }> {
  const fn = registry.functions.get('report');
  if (!fn) throw new Error('report was not registered');
  const url = `http://localhost/api/report${query}`;
  const response = (await fn.handler(new HttpRequest({ method: 'GET', url }), context())) as { status: number; jsonBody?: unknown };
  return { status: response.status, body: response.jsonBody };
}

/** [name, query string, expected status, pattern of the message]. */
const QUERY_CASES: readonly [string, string, number, RegExp][] = [
  ['an unknown window', '?window=week', 400, /window "week" is not allowed; use one of: run, hour, day/],
  ['an empty window', '?window=', 400, /window "" is not allowed; use one of: run, hour, day/],
  ['a window in upper case', '?window=HOUR', 400, /use one of: run, hour, day/],
  ['an unknown format', '?format=pdf', 400, /format "pdf" is not allowed; use one of: json, html/],
  ['a format with a script', '?format=%3Cscript%3Ealert(1)%3C/script%3E', 400, /format "<script>alert\(1\)<\/script>" is not allowed/],
  ['a very long window', `?window=${'w'.repeat(5000)}`, 400, /window "w{40}…" is not allowed/],
  ['a window with control characters', '?window=run%00%1b', 400, /window "run\?\?" is not allowed/],
  ['a pool with a slash', '?pool=a/b', 400, /pool "a\/b" is not a pool name: it must be 1–80 printable characters without whitespace/],
  ['a pool with an ESC character', '?pool=a%1bb', 400, /pool "a\?b" is not a pool name/],
  // Issue 15: names a definition accepts were refused with 400; they are looked up (here: not watched, 404).
  ['a pool named pool(1)', '?pool=pool(1)', 404, /Unknown pool "pool\(1\)"/],
  ['a pool with a non-ASCII name', '?pool=caf%C3%A9', 404, /Unknown pool/],
  ['two bad parameters at once', '?window=week&format=pdf', 400, /window "week"[\s\S]*format "pdf"/],
  ['a pool this verifier does not watch', '?pool=another-pool', 404, /Unknown pool "another-pool"\. This verifier watches "openai-instance-backend-pool"/],
];

beforeAll(async () => {
  rejections = recordUnhandledRejections();
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 3, subscriptionKey: KEY });
  configureServicesExplicitly(() => createServices({ STORE_PATH: ':memory:', DEPLOY_ON_STARTUP: 'false' }, { appRoot: APP_ROOT, embedded: env }));
  await import('../../src/functions/report');
});

afterAll(async () => {
  await disposeServices();
  await env?.close();
  rejections?.uninstall();
});

describe('bad command lines', () => {
  it.each(CLI_CASES.map((c) => [c[0], c] as const))('%s: exit 3 naming the problem, nothing probed, key never printed', async (_name, [, argv, pattern, vars]) => {
    const probesBefore = env.accessLog.entries().length;
    const armBefore = env.armLog.length;
    const { code, out } = await runCli(argv(), vars);
    expect(code).toBe(3);
    expect(out).toMatch(pattern);
    expect(out).not.toContain(KEY);
    expect(out).not.toContain('SECRETPW');
    expect(env.accessLog.entries().length).toBe(probesBefore);
    expect(env.armLog.length).toBe(armBefore);
  });
});

/**
 * Flags that `node:util` parseArgs itself refuses. Run in a plain Node child, as the installed binary runs (under
 * jest, parseArgs' TypeError comes from another realm; see the realm test below).
 */
const PARSE_ARGS_CASES: readonly [string, string[], RegExp][] = [
  ['an unknown flag', ['verify', '--frobnicate'], /Unknown option '--frobnicate'/],
  ['the key given as a flag', ['verify', '--key', 'SECRET-SUBKEY-flag'], /Unknown option '--key'/],
  ['a flag without its value', ['verify', '--pool'], /Option '--pool <value>' argument missing/],
  ['a negative number after a flag', ['verify', '--requests', '-1'], /Option '--requests' argument is ambiguous/],
  ['a positional argument', ['export', 'pool.json'], /Unexpected argument 'pool\.json'/],
];

describe('bad command lines refused by the argument parser, in a plain Node process', () => {
  let results: { code: number; out: string }[] = [];
  beforeAll(() => {
    const script = `
      const { main } = require(${JSON.stringify(path.join(APP_ROOT, 'src', 'cli', 'main.ts'))});
      (async () => {
        const results = [];
        for (const argv of ${JSON.stringify(PARSE_ARGS_CASES.map((c) => c[1]))}) {
          let out = '';
          const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {} });
          results.push({ code, out });
        }
        process.stdout.write(JSON.stringify(results));
      })();`;
    const child = spawnSync(process.execPath, ['-r', path.join(APP_ROOT, 'test', 'faults', 'tsRegister.js'), '-e', script], { cwd: APP_ROOT, encoding: 'utf8', timeout: 30_000 });
    results = JSON.parse(child.stdout) as { code: number; out: string }[];
  });

  it.each(PARSE_ARGS_CASES.map((c, i) => [c[0], i, c[2]] as const))('%s: exit 3 naming the flag', (_name, index, pattern) => {
    expect(results[index]?.code).toBe(3);
    expect(results[index]?.out).toMatch(pattern);
    expect(results[index]?.out).not.toContain('SECRET-SUBKEY');
  });

  it('keeps the message of an error thrown in another realm', () => {
    const foreign: unknown = runInNewContext('new TypeError("Unknown option --frobnicate")');
    expect(ensureError(foreign).message).toBe('Unknown option --frobnicate');
  });

  it.each(PARSE_ARGS_CASES.map((c) => [c[0], c] as const))('%s: also exit 3 naming the flag under the test runner', async (_name, [, argv, pattern]) => {
    const { code, out } = await runCli(argv, {});
    expect(code).toBe(3);
    expect(out).toMatch(pattern);
  });
});

describe('bad report query parameters', () => {
  it.each(QUERY_CASES.map((c) => [c[0], c] as const))('%s: %p with a message naming what is allowed', async (_name, [, query, status, pattern]) => {
    const { status: got, body } = await getReport(query);
    expect(got).toBe(status);
    expect((body as { error: { message: string } }).error.message).toMatch(pattern);
  });

  it('the same handler answers 200 to a good query (the 400s are about the parameters)', async () => {
    const { status } = await getReport('?window=hour&format=json&pool=openai-instance-backend-pool');
    expect(status).toBe(200);
  });
});

describe('export --out that would hang or destroy the definition', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => {
    tmp = makeTempDir('apv-corpus-export-');
  });
  afterAll(() => tmp.remove());

  it('refuses a named pipe (FIFO) as --out, naming the path, instead of blocking forever', async () => {
    const fifo = path.join(tmp.dir, 'template.fifo');
    execFileSync('mkfifo', [fifo]);
    const { code, out } = await runCli(['export', '--pool', LAB_POOL_PATH, '--format', 'bicep', '--out', fifo]);
    expect(code).toBe(3);
    expect(out).toContain(`--out ${fifo} is not a regular file (a named pipe)`);
  });

  it.each([
    ['the same path', (file: string): string => file],
    ['another spelling of the path', (file: string): string => path.join(path.dirname(file), '.', '..', path.basename(path.dirname(file)), path.basename(file))],
    ['a symbolic link to it', (file: string): string => {
      const link = path.join(path.dirname(file), 'link.json');
      fs.symlinkSync(file, link);
      return link;
    }],
  ])('refuses --out that is the --pool file (%s) and leaves the definition intact', async (_name, outOf) => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'same-'));
    const poolFile = path.join(dir, 'pool.json');
    fs.copyFileSync(LAB_POOL_PATH, poolFile);
    const before = fs.readFileSync(poolFile, 'utf8');
    const { code, out } = await runCli(['export', '--pool', poolFile, '--format', 'arm', '--out', outOf(poolFile)]);
    expect(code).toBe(3);
    expect(out).toMatch(/is the pool definition given as --pool/);
    expect(fs.readFileSync(poolFile, 'utf8')).toBe(before);
  });

  it('still writes a template to a new file (the refusals above are about the path)', async () => {
    const file = path.join(tmp.dir, 'pool.bicep');
    const { code } = await runCli(['export', '--pool', LAB_POOL_PATH, '--format', 'bicep', '--out', file]);
    expect(code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/Microsoft\.ApiManagement\/service\/backends/);
  });
});

describe('after every bad command line and query', () => {
  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
