import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { main, type CliIo } from '../../src/cli/main';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { DefinitionError } from '../../src/lib/pool/DefinitionError';
import { loadPoolDefinition } from '../../src/lib/pool/loadPoolDefinition';
import { APP_ROOT, definition, makeTempDir, member, recordUnhandledRejections, type RejectionRecorder } from './support';

/**
 * Bad pool definitions: each one is refused with a DefinitionError naming the JSON path (and the cause), the CLI
 * `deploy` exits 3 naming the same path, and the ARM endpoint of the emulator receives no request at all
 * (nothing is written half-way).
 */

interface ManifestEntry {
  readonly file: string;
  readonly issues: readonly string[];
  readonly message?: string;
}

const FIXTURES = path.join(APP_ROOT, 'test', 'fixtures', 'definitions');
const manifest = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as { fixtures: ManifestEntry[] }).fixtures.filter(
  (entry) => entry.issues.length > 0,
);

/** One bad definition: how to write it, the path that must be named, and a pattern of the cause. */
interface Case {
  readonly name: string;
  readonly content: () => string | Buffer;
  readonly path: string;
  readonly cause: RegExp;
}

const json = (value: unknown): (() => string) => () => JSON.stringify(value, null, 2);

const GENERATED: readonly Case[] = [
  { name: 'weight given as a string', content: json(definition([member(1, { weight: '2' }), member(2)])), path: '$.pool.backends[0].weight', cause: /integer/ },
  { name: 'priority given as a boolean', content: json(definition([member(1, { priority: true }), member(2)])), path: '$.pool.backends[0].priority', cause: /integer/ },
  { name: 'backend name given as a number', content: json(definition([member(1, { name: 5 }), member(2)])), path: '$.pool.backends[0].name', cause: /string/ },
  { name: 'backends given as an object', content: json({ pool: { name: 'p', backends: { a: member(1) } } }), path: '$.pool.backends', cause: /array/ },
  { name: 'url given as an array', content: json(definition([member(1, { url: ['https://a.example'] }), member(2)])), path: '$.pool.backends[0].url', cause: /URL|string/ },
  { name: 'negative weight', content: json(definition([member(1, { weight: -1 }), member(2)])), path: '$.pool.backends[0].weight', cause: /0 to 100/ },
  { name: 'weight above 100', content: json(definition([member(1, { weight: 101 }), member(2)])), path: '$.pool.backends[0].weight', cause: /0 to 100/ },
  { name: 'fractional priority', content: json(definition([member(1, { priority: 1.5 }), member(2)])), path: '$.pool.backends[0].priority', cause: /integer/ },
  { name: 'pool name longer than 80 characters', content: json({ pool: { name: 'p'.repeat(81), backends: [member(1)] } }), path: '$.pool.name', cause: /80/ },
  { name: 'two members with the same name (case differs)', content: json(definition([member(1), member(2, { name: 'OPENAI-INSTANCE1' })])), path: '$.pool.backends[1].name', cause: /ignoring case|duplicate/i },
  {
    name: 'thirty-one members',
    content: json(definition(Array.from({ length: 31 }, (_, i) => member(i + 1)))),
    path: '$.pool.backends',
    cause: /at most 30/,
  },
  {
    name: 'a pool nested inside the pool',
    content: json(definition([member(1), { name: 'inner', type: 'Pool', pool: { services: [{ id: '/backends/x' }] }, priority: 1, weight: 1 }])),
    path: '$.pool.backends[1]',
    cause: /pools cannot contain pools/,
  },
  {
    name: 'two backends in one region with region identification',
    content: json(definition([member(1, { region: 'West US' }), member(2, { region: 'westus' })])),
    path: '$.pool.backends[1].region',
    cause: /cannot tell these backends apart/,
  },
  { name: 'no pool section', content: json({ probe: { deployment: 'gpt-4o' } }), path: '$.pool', cause: /required|missing/i },
  { name: 'member without a name', content: json(definition([{ url: 'https://a.openai.azure.com/openai', region: 'West US' }])), path: '$.pool.backends[0].name', cause: /required|missing/i },
  { name: 'pool without a name', content: json({ pool: { backends: [member(1)] } }), path: '$.pool.name', cause: /required|missing/i },
  { name: 'trailing garbage after the document', content: () => `${JSON.stringify(definition([member(1)]))}\n}garbage`, path: '$', cause: /trailing/ },
  { name: 'a 5 MB file', content: () => `{"pool":{"name":"p","backends":[${' '.repeat(5 * 1024 * 1024)}]}}`, path: '$', cause: /at most 1048576 bytes/ },
  { name: 'Latin-1 bytes (not UTF-8)', content: () => Buffer.concat([Buffer.from('{"pool":{"name":"caf'), Buffer.from([0xe9]), Buffer.from('","backends":[]}}')]), path: '$', cause: /not valid UTF-8/ },
  { name: 'UTF-16 with a byte-order mark', content: () => Buffer.from(`\ufeff${JSON.stringify(definition([member(1)]))}`, 'utf16le'), path: '$', cause: /UTF-8/ },
  { name: 'NUL bytes', content: () => Buffer.from([0, 0, 0, 0]), path: '$', cause: /./ },
  { name: 'ten thousand nested arrays', content: () => `${'['.repeat(10_000)}${']'.repeat(10_000)}`, path: '$', cause: /./ },
  { name: 'a __proto__ key in a member', content: () => `{"pool":{"name":"p","backends":[{"__proto__":{"weight":1},"name":"a","url":"https://a.openai.azure.com/openai","region":"West US"}]}}`, path: '$.pool.backends[0].__proto__', cause: /unknown key/ },
  { name: 'http URL with credentials', content: json(definition([member(1, { url: 'https://user:pw@a.openai.azure.com/openai' })])), path: '$.pool.backends[0].url', cause: /./ },
  { name: 'a JSON array at the top', content: json([definition([member(1)])]), path: '$', cause: /object/ },
  { name: 'a number at the top', content: () => '42', path: '$', cause: /object/ },
  // Text that prints differently from what is compared (issue 15): refused by JSON path, never echoed raw.
  { name: 'an ESC sequence in a backend name', content: json(definition([member(1, { name: 'a\u001b[2Jb' }), member(2)])), path: '$.pool.backends[0].name', cause: /U\+001B \(a control character\)/ },
  { name: 'a NUL in a region', content: json(definition([member(1, { region: 'West\u0000US' }), member(2)])), path: '$.pool.backends[0].region', cause: /U\+0000/ },
  { name: 'a zero-width space in an identifier', content: json(definition([member(1, { identifier: 'a\u200b' }), member(2, { identifier: 'a' })], { probe: { identify: { header: 'x-backend' } } })), path: '$.pool.backends[0].identifier', cause: /U\+200B/ },
  { name: 'a bidi override in the pool name', content: json({ pool: { name: 'pool\u202egnp.exe', backends: [member(1)] } }), path: '$.pool.name', cause: /U\+202E \(a bidi control\)/ },
  { name: 'a lone surrogate in a backend name', content: () => `{"pool":{"name":"p","backends":[{"name":"a\\ud800","url":"https://a.openai.azure.com/openai","region":"West US"}]}}`, path: '$.pool.backends[0].name', cause: /lone surrogate/ },
  { name: 'a bidi isolate in an apim section string', content: json(definition([member(1)], { apim: { apiId: 'api\u2066x' } })), path: '$.apim.apiId', cause: /U\+2066/ },
  { name: 'two names that print the same (NFC and NFD)', content: json(definition([member(1, { name: 'caf\u00e9' }), member(2, { name: 'cafe\u0301' })])), path: '$.pool.backends[1].name', cause: /duplicates the name/ },
  // Numbers JavaScript would round (issue 15): 1e-400 reads as 0, which is a valid weight.
  { name: 'a weight of 1e-400', content: () => JSON.stringify(definition([member(1), member(2)])).replace('"weight":1', '"weight":1e-400'), path: '$.pool.backends[0].weight', cause: /exact whole number, got 1e-400/ },
  { name: 'a weight of 100.00000000000000001', content: () => JSON.stringify(definition([member(1), member(2)])).replace('"weight":1', '"weight":100.00000000000000001'), path: '$.pool.backends[0].weight', cause: /exact whole number/ },
  { name: 'a priority of 1e400', content: () => JSON.stringify(definition([member(1), member(2)])).replace('"priority":1', '"priority":1e400'), path: '$.pool.backends[0].priority', cause: /exact whole number/ },
  {
    name: 'a breaker count of 9007199254740993 (above 2^53)',
    content: () =>
      JSON.stringify(definition([member(1, { circuitBreaker: { name: 'cb', failureCondition: { count: 7, interval: 'PT1M' }, tripDuration: 'PT1M' } })])).replace('"count":7', '"count":9007199254740993'),
    path: '$.pool.backends[0].circuitBreaker.failureCondition.count',
    cause: /exact whole number/,
  },
];

/** A named pipe with no writer: opening it for reading the ordinary way waits forever. */
function makeFifo(file: string): string {
  if (!fs.existsSync(file)) execFileSync('mkfifo', [file]);
  return file;
}

let env: EmbeddedEnvironment;
let tmp: ReturnType<typeof makeTempDir>;
let rejections: RejectionRecorder;

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

function deployArgs(file: string): string[] {
  return ['deploy', '--pool', file, '--arm-endpoint', env.armEndpoint, '--subscription-id', env.apim.subscriptionId, '--resource-group', env.apim.resourceGroup, '--service-name', env.apim.serviceName];
}

beforeAll(async () => {
  rejections = recordUnhandledRejections();
  env = await startEmbeddedEnvironment({ port: 0, latencyScale: 0, seed: 1 });
  tmp = makeTempDir('apv-corpus-def-');
});

afterAll(async () => {
  await env?.close();
  tmp?.remove();
  rejections?.uninstall();
});

describe('bad pool definitions from the fixtures', () => {
  it.each(manifest.map((entry) => [entry.file, entry] as const))('%s is refused naming its paths, and deploy exits 3 without calling ARM', async (file, entry) => {
    const full = path.join(FIXTURES, file);
    const error = await loadPoolDefinition(full).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DefinitionError);
    const issues = (error as DefinitionError).issues;
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining([...entry.issues]));
    if (entry.message) expect((error as DefinitionError).message).toContain(entry.message);

    const before = env.armLog.length;
    const cli = await runCli(deployArgs(full));
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain(entry.issues[0]);
    expect(env.armLog.length).toBe(before);
  });
});

describe('bad pool definitions generated here', () => {
  it.each(GENERATED.map((c) => [c.name, c] as const))('%s: refused naming the path, deploy exits 3 and ARM receives nothing', async (name, c) => {
    const file = tmp.write(`${name.replace(/[^a-z0-9]+/gi, '-')}.json`, c.content());
    const error = await loadPoolDefinition(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DefinitionError);
    const issue = (error as DefinitionError).issues.find((i) => i.path === c.path);
    expect({ paths: (error as DefinitionError).issues.map((i) => i.path), found: issue !== undefined }).toEqual(expect.objectContaining({ found: true }));
    expect(issue?.message).toMatch(c.cause);

    const before = env.armLog.length;
    const cli = await runCli(deployArgs(file));
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain(c.path);
    expect(cli.stdout).toBe('');
    expect(env.armLog.length).toBe(before);
    // Nothing a terminal would act on or hide reaches it raw.
    expect(cli.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/);
  });

  it.each([
    ['a file that does not exist', (): string => path.join(tmp.dir, 'missing.json'), /does not exist \(ENOENT\)/],
    ['a directory', (): string => tmp.dir, /not a regular file \(a directory\)/],
    ['a named pipe (FIFO), which would block a read forever', (): string => makeFifo(path.join(tmp.dir, 'pool.fifo')), /pool\.fifo is not a regular file \(a named pipe\)/],
  ])('%s is refused at $ with the cause, and deploy exits 3', async (_name, where, cause) => {
    const file = where();
    await expect(loadPoolDefinition(file)).rejects.toThrow(cause);
    const before = env.armLog.length;
    const cli = await runCli(deployArgs(file));
    expect(cli.code).toBe(3);
    expect(cli.stderr).toMatch(cause);
    expect(env.armLog.length).toBe(before);
  });
});

describe('after every bad definition', () => {
  it('a valid definition does reach ARM through the same command (the zero-request check can fail)', async () => {
    const before = env.armLog.filter((e) => e.method === 'PUT').length;
    const cli = await runCli(deployArgs(path.join(APP_ROOT, 'examples', 'lab-pool.json')));
    expect(cli.code).toBe(0);
    expect(env.armLog.filter((e) => e.method === 'PUT').length).toBeGreaterThan(before);
  });

  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
