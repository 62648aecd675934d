import fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { apimFieldProblem, type ApimField } from '../lib/pool/apimFieldProblem';
import { DefinitionError } from '../lib/pool/DefinitionError';
import { loadFleetDefinitions, MAX_FLEET_DEFINITIONS, poolCollisions, serviceOf, type FleetEntry } from '../lib/pool/loadFleetDefinitions';
import { loadPoolDefinition } from '../lib/pool/loadPoolDefinition';
import { subscriptionKeySettingOf } from '../lib/config/subscriptionKeySettingOf';
import type { Report } from '../lib/report/types';
import type { FleetPoolResult } from './formatFleetResults';
import type { ApimLocation, ResolvedPool } from '../lib/pool/types';
import { describeFileKind } from '../lib/util/describeFileKind';
import { ensureError } from '../lib/util/errors';
import { httpUrlProblem, redactUrl } from '../lib/util/httpUrl';
import { formatReportText } from './formatReportText';
import { asksForHelp, COMMAND_HELP, COMMANDS, suggestCommand, type CommandName } from './help';
import { ExitCode, exitCodeOfReport } from './exitCodes';

/** Where the CLI writes and what environment it reads (injected so tests capture everything). */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves when the user asks to stop (Ctrl+C); used by `emulate`. */
  readonly untilInterrupted?: () => Promise<void>;
  /** True when stderr is a terminal: `verify` then draws a progress line there. */
  readonly stderrIsTTY?: boolean;
}

const USAGE = `Usage: apim-pool-verifier <command> [options]

Commands:
  verify   --pool <file|folder>... [--gateway <api-base-url>] [--requests N] [--concurrency C] [--timeout-ms MS]
           [--alpha A] [--tolerance POINTS] [--no-early-stop] [--json]
           One-shot check that each pool follows its weights (several pools: one line each, worst exit code).
           The subscription key is read from the setting the definition names, else APIM_SUBSCRIPTION_KEY (never a flag).
  emulate  [--port P] [--pool <file|folder>]... [--fault "<region|host>=<fault>"]... [--instances N]
           [--selection weighted-random|smooth-weighted-round-robin] [--duration-seconds S] [--latency-scale X] [--json]
           Start only the embedded environment (APIM emulator + simulated Azure OpenAI) and print its URLs and key.
           Faults: down, failing[:status], throttled:<retry-after-seconds>, slow:<ms>, auth-reject, healthy.
  deploy   --pool <file> [--dry-run] [--arm-endpoint URL] [--subscription-id ID] [--resource-group RG]
           [--service-name NAME] [--api-version V] [--json]
           Deploy the pool definition through ARM (single backends, then the pool); --dry-run prints the plan.
  export   --pool <file> --format bicep|arm [--out <file>] [--service-name NAME]
           Write a deployable template equivalent to the definition.
  doctor   [--json]
           Check the settings (Key Vault references resolved), ARM read of the pool, the API policy and one probe
           through the gateway, with your Azure sign-in; each failed line says the fix (role and scope, setting).

Run "apim-pool-verifier <command> --help" for a command's options.

Exit codes: 0 ok: every share shown within the tolerance (or command succeeded), 1 drift, failover or outage,
2 inconclusive (the headline says how many more probes ok needs) or no data, 3 invalid input or configuration, 4 could not run (gateway unreachable, 401/403 from the gateway or a
backend refusing its identity, ARM failure).`;

/** Runs the CLI; resolves to the process exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  const help = helpOf(command, rest);
  if (help !== undefined) {
    io.stdout(`${help}\n`);
    return ExitCode.Ok;
  }
  try {
    switch (command) {
      case 'verify':
        return await verifyCommand(rest, io);
      case 'emulate':
        return await emulateCommand(rest, io);
      case 'deploy':
        return await deployCommand(rest, io);
      case 'export':
        return await exportCommand(rest, io);
      case 'doctor': {
        const { values } = parse(rest, { json: { type: 'boolean' } });
        const { doctorCommand } = await import('./doctorCommand');
        return await doctorCommand(values.json === true, io);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(`${USAGE}\n`);
        return command === undefined ? ExitCode.InvalidInput : ExitCode.Ok;
      case '--version':
        io.stdout(`${(require('../../../package.json') as { version: string }).version}\n`);
        return ExitCode.Ok;
      default: {
        const suggestion = suggestCommand(command);
        io.stderr(
          suggestion
            ? `Unknown command "${printable(command)}". Did you mean "${suggestion}"? Run "apim-pool-verifier ${suggestion} --help" for its options.\n`
            : `Unknown command "${printable(command)}".\n\n${USAGE}\n`,
        );
        return ExitCode.InvalidInput;
      }
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof DefinitionError) {
      io.stderr(`${error.message}\n`);
      return ExitCode.InvalidInput;
    }
    io.stderr(`Could not run: ${ensureError(error).message}\n`);
    return ExitCode.CouldNotRun;
  }
}

/**
 * The help text asked for, if any: `<command> --help|-h` and `help <command>` print that command's help.
 * Answered before anything else is parsed or loaded, so a mistake elsewhere on the line does not hide it.
 */
function helpOf(command: string | undefined, rest: readonly string[]): string | undefined {
  const isCommand = (c: string | undefined): c is CommandName => (COMMANDS as readonly string[]).includes(c ?? '');
  if (isCommand(command) && asksForHelp(rest)) return COMMAND_HELP[command];
  if (command === 'help' && isCommand(rest[0])) return COMMAND_HELP[rest[0]];
  return undefined;
}

/** A problem with the command line: exit code 3. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

async function verifyCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    pool: { type: 'string', multiple: true },
    gateway: { type: 'string' },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    'timeout-ms': { type: 'string' },
    alpha: { type: 'string' },
    tolerance: { type: 'string' },
    'no-early-stop': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const problems: string[] = [];
  const poolPaths = ((values.pool as string[] | undefined) ?? []).filter((value) => value.trim() !== '');
  if (poolPaths.length === 0) problems.push('--pool is required');
  // Without a definition to give its gateway.url, the gateway must come from the flag: say so at once.
  if (poolPaths.length === 0 && values.gateway === undefined) {
    problems.push('--gateway is required (or "gateway": { "url": … } in the pool definition): the API\'s base URL on the gateway, e.g. https://apim-x.azure-api.net/openai');
  }
  const gatewayFlag = values.gateway === undefined ? undefined : requireUrl(values.gateway, '--gateway', problems);
  const requests = intFlag(values.requests, '--requests', 1000, 1, 100_000, problems);
  const concurrency = intFlag(values.concurrency, '--concurrency', 16, 1, 256, problems);
  const timeoutInMs = intFlag(values['timeout-ms'], '--timeout-ms', 30_000, 100, 300_000, problems);
  const alpha = floatFlag(values.alpha, '--alpha', 1e-4, 0, 0.5, problems);
  const tolerance = floatFlag(values.tolerance, '--tolerance', 5, 0, 100, problems);

  const { entries, definitionErrors } = await loadVerifyPools(poolPaths);
  if (entries.length > 1 && values.gateway !== undefined) {
    problems.push('--gateway names one API, so it is allowed with one pool only; with several pools give each definition its gateway.url');
  }
  const targets = entries.map((entry) => ({ ...entry, gatewayUrl: entries.length === 1 ? (gatewayFlag ?? entry.pool.gateway.url) : entry.pool.gateway.url }));
  for (const target of targets) {
    if (target.gatewayUrl !== undefined || (values.gateway !== undefined && entries.length === 1)) continue;
    problems.push(
      entries.length === 1
        ? '--gateway is required (or "gateway": { "url": … } in the pool definition): the API\'s base URL on the gateway, e.g. https://apim-x.azure-api.net/openai'
        : `${target.file}: "gateway": { "url": … } is required when several pools are verified (pool "${target.pool.name}")`,
    );
  }
  // Without a definition to name another setting, the key is APIM_SUBSCRIPTION_KEY (as with one pool).
  const keySettings = poolPaths.length === 0 ? [{ setting: 'APIM_SUBSCRIPTION_KEY', namedBy: undefined }] : keySettingsOf(entries);
  const keys = new Map<string, string>();
  for (const { setting, namedBy } of keySettings) {
    const key = io.env[setting]?.trim();
    const whose = namedBy === undefined ? 'the APIM subscription key' : `the subscription key of ${namedBy}`;
    if (!key) problems.push(`${setting} is not set: export ${whose} in this environment variable (it is never taken from a flag).`);
    // A header value Node refuses would fail every probe as a network error (exit 4); it is bad input. Never echoed.
    else if (!/^[\x21-\x7e]{1,4096}$/.test(key)) problems.push(`${setting} must be 1–4096 visible ASCII characters (no spaces or control characters); its value is not shown.`);
    else keys.set(setting, key);
  }
  if (definitionErrors.length === 1 && problems.length === 0) throw definitionErrors[0];
  if (problems.length > 0 || definitionErrors.length > 0) {
    throw new UsageError(`verify: ${[...problems, ...definitionErrors.map((error) => error.message)].join('\n  ')}`);
  }

  const run = async (target: (typeof targets)[number], label: string): Promise<{ exitCode: number; report: Report; summary: RunSummary }> => {
    const { verifyOnce } = await import('../lib/verifier/verifyOnce');
    const progress = await progressFor(io, target.pool, requests);
    const result = await verifyOnce({
      pool: target.pool,
      gatewayUrl: target.gatewayUrl as string,
      subscriptionKey: keys.get(subscriptionKeySettingOf(target.pool)) as string,
      requests,
      concurrency,
      timeoutInMs,
      alpha,
      toleranceInPoints: tolerance,
      sequential: values['no-early-stop'] !== true,
      signal: new AbortController().signal,
      stopOnUniformFailureAfter: UNIFORM_FAILURE_STOP_AFTER,
      ...(progress ? { onProbe: progress.onProbe } : {}),
    });
    progress?.done();
    const gatewaySaid = describeUniformFailure(result);
    if (gatewaySaid) io.stderr(`${label}${gatewaySaid}\n`);
    if (result.fatal) io.stderr(`${label}Could not verify: ${result.fatal.message}\n`);
    return { exitCode: result.fatal ? ExitCode.CouldNotRun : exitCodeOfReport(result.report), report: result.report, summary: result };
  };

  if (targets.length === 1) {
    const outcome = await run(targets[0]!, '');
    if (values.json === true) io.stdout(`${JSON.stringify(outcome.report, null, 2)}\n`);
    else if (!outcome.summary.fatal) io.stdout(formatReportText(outcome.report, outcome.summary));
    return outcome.exitCode;
  }
  // One pool after another: each run's probes and timing are its own, and the gateway sees one verifier at a time.
  const { formatFleetLine, formatFleetSummary, toFleetJson } = await import('./formatFleetResults');
  const results: FleetPoolResult[] = [];
  for (const [index, target] of targets.entries()) {
    if (io.stderrIsTTY === true) io.stderr(`Verifying pool ${index + 1} of ${targets.length}: ${target.pool.name} (${target.file})\n`);
    const outcome = await run(target, `${target.pool.name}: `);
    const result: FleetPoolResult = { pool: target.pool.name, service: serviceOf(target.pool), file: target.file, exitCode: outcome.exitCode, report: outcome.report };
    results.push(result);
    if (values.json !== true) io.stdout(`${formatFleetLine(result)}\n`);
  }
  const fleet = toFleetJson(results);
  io.stdout(values.json === true ? `${JSON.stringify(fleet, null, 2)}\n` : `${formatFleetSummary(results)}\n`);
  return fleet.exitCode;
}

/** What `formatReportText` says about a run besides its report. */
interface RunSummary {
  readonly probesSent: number;
  readonly tokensUsed: number;
  readonly stoppedEarly: boolean;
  readonly stoppedByGatewayThrottle?: boolean;
  /** Set when the run stopped before the pool (unreachable, the gateway refusing the verifier's key). */
  readonly fatal: unknown;
}

/** Most pools one `verify` checks: the same bound as a folder of definitions. */
const MAX_VERIFY_POOLS = MAX_FLEET_DEFINITIONS;

/**
 * Every `--pool` (a file or a folder), each read with `loadFleetDefinitions`; the problems of every path are
 * collected, never only the first. Pools of one name in one APIM service across paths are refused like inside a folder.
 */
async function loadVerifyPools(paths: readonly string[]): Promise<{ entries: FleetEntry[]; definitionErrors: DefinitionError[] }> {
  const entries: FleetEntry[] = [];
  const definitionErrors: DefinitionError[] = [];
  for (const poolPath of paths) {
    try {
      entries.push(...(await loadFleetDefinitions(poolPath)));
    } catch (error) {
      if (!(error instanceof DefinitionError)) throw error;
      definitionErrors.push(error);
    }
  }
  if (entries.length > MAX_VERIFY_POOLS) {
    definitionErrors.push(new DefinitionError([{ path: '$', message: `${entries.length} pools given; verify checks at most ${MAX_VERIFY_POOLS} at once` }], '--pool'));
  }
  const collisions = paths.length > 1 ? poolCollisions(entries) : [];
  if (collisions.length > 0) definitionErrors.push(new DefinitionError(collisions, '--pool', { subject: 'the pool definitions given' }));
  return definitionErrors.length > 0 ? { entries: [], definitionErrors } : { entries, definitionErrors };
}

/** The settings holding the pools' subscription keys, each once, with the first pool that names it. */
function keySettingsOf(entries: readonly FleetEntry[]): { setting: string; namedBy: string | undefined }[] {
  const settings = new Map<string, string | undefined>();
  for (const { pool, file } of entries) {
    const setting = subscriptionKeySettingOf(pool);
    if (!settings.has(setting)) settings.set(setting, pool.gateway.subscriptionKeySetting === undefined ? undefined : `pool "${pool.name}" (gateway.subscriptionKeySetting in ${file})`);
  }
  return [...settings].map(([setting, namedBy]) => ({ setting, namedBy }));
}

/**
 * Leading answers that must all be the same gateway error before `verify` stops: enough that a flaky moment does
 * not end a run, few enough that a pool that is not deployed costs seconds, not 1,000 probes.
 */
const UNIFORM_FAILURE_STOP_AFTER = 30;

/** A progress line on stderr when stderr is a terminal (`io.isTTY`); none in pipes, CI logs or tests by default. */
async function progressFor(io: CliIo, pool: ResolvedPool, requests: number): Promise<import('./progress').Progress | undefined> {
  if (io.stderrIsTTY !== true) return undefined;
  const [{ createProgress }, { labelBackends }] = await Promise.all([import('./progress'), import('../lib/report/format')]);
  return createProgress({ write: io.stderr, maxProbes: requests, labels: labelBackends(pool.backends) });
}

/** `Stopped early: the first 30 answers were all HTTP 500 from the gateway itself, which said: "…"`, or undefined. */
function describeUniformFailure(result: {
  readonly uniformFailure: { readonly status: number; readonly probes: number } | null;
  readonly gatewayMessage: { readonly status: number; readonly message: string } | null;
}): string | undefined {
  const u = result.uniformFailure;
  if (!u) return undefined;
  const said = result.gatewayMessage && result.gatewayMessage.status === u.status ? `, which said: "${result.gatewayMessage.message}"` : ' (with no message)';
  return `Stopped early: the first ${u.probes} answers were all HTTP ${u.status} from the gateway itself${said}`;
}

async function emulateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' },
    pool: { type: 'string', multiple: true },
    fault: { type: 'string', multiple: true },
    instances: { type: 'string' },
    selection: { type: 'string' },
    'duration-seconds': { type: 'string' },
    'latency-scale': { type: 'string' },
    json: { type: 'boolean' },
  });
  const problems: string[] = [];
  const port = intFlag(values.port, '--port', 8080, 0, 65_535, problems);
  // 1 = Azure OpenAI's typical latency (median 400 ms, p95 1.2 s); 0 = answer at once (fast local runs).
  const latencyScale = latencyScaleFlag(values['latency-scale'], problems);
  const instances = intFlag(values.instances, '--instances', 1, 1, 16, problems);
  const durationInSeconds = intFlag(values['duration-seconds'], '--duration-seconds', 0, 0, 86_400, problems);
  const selection = values.selection ?? 'weighted-random';
  if (selection !== 'weighted-random' && selection !== 'smooth-weighted-round-robin') {
    problems.push(`--selection "${printable(selection)}" is not allowed; use weighted-random or smooth-weighted-round-robin`);
  }
  const { parseFaultSpec } = await import('../emulator/parseFaultSpec');
  const faults = ((values.fault as string[] | undefined) ?? []).flatMap((spec: string) => {
    try {
      return [parseFaultSpec(spec)];
    } catch (error) {
      problems.push(`--fault: ${ensureError(error).message}`);
      return [];
    }
  });
  const poolPaths = (values.pool as string[] | undefined) ?? [];
  if (poolPaths.length > 200) problems.push(`--pool is given ${poolPaths.length} times; at most 200 pools`);
  if (problems.length > 0) throw new UsageError(`emulate: ${problems.join('\n  ')}`);
  // Each --pool is a file or a folder of definitions (loadFleetDefinitions: at most 200 per folder).
  const fleetEntries: FleetEntry[] = [];
  for (const poolPath of poolPaths) {
    fleetEntries.push(...(await loadFleetDefinitions(poolPath)));
    if (fleetEntries.length > MAX_FLEET_DEFINITIONS) throw new UsageError(`emulate: --pool names ${fleetEntries.length} or more pools; at most ${MAX_FLEET_DEFINITIONS}`);
  }
  const pools: ResolvedPool[] = fleetEntries.map((entry) => entry.pool);
  const pool = pools[0];

  const { startEmbeddedEnvironment } = await import('../emulator/startEmbeddedEnvironment');
  const { resourcesFromPool } = await import('../emulator/resourcesFromPool');
  const serviceOptions = {
    port,
    gatewayInstances: instances,
    selection: selection as 'weighted-random' | 'smooth-weighted-round-robin',
    latencyScale,
    ...(io.env.EMULATOR_SUBSCRIPTION_KEY ? { subscriptionKey: io.env.EMULATOR_SUBSCRIPTION_KEY } : {}),
  };
  let env: Omit<Awaited<ReturnType<typeof startEmbeddedEnvironment>>, 'gatewayUrl'>;
  // One API per pool when several --pool are given (the fleet); else today's single API.
  let apis: { readonly pool: string; readonly file: string; readonly gatewayUrl: string; readonly policy?: string }[];
  try {
    if (pools.length > 1) {
      const { startEmbeddedFleet } = await import('../emulator/startEmbeddedFleet');
      const { demoFleetApisFor } = await import('../emulator/demoFleet');
      const demoApis = demoFleetApisFor(fleetEntries);
      const fleet = await startEmbeddedFleet(fleetEntries, { ...serviceOptions, apis: demoApis });
      env = fleet;
      apis = fleet.apis.map((api) => {
        const extra = demoApis[api.pool];
        // The API's token limit: the demo option, else the definition's own probe.tokenLimitPerMinute (as the fleet applies it).
        const tokenLimit = extra?.tokenLimitPerMinute ?? fleetEntries.find((entry) => entry.pool.name === api.pool)?.pool.probe.tokenLimitPerMinute;
        const policy = [
          ...(tokenLimit === undefined ? [] : [`token limit ${tokenLimit} tokens/min`]),
          ...(extra?.headerRoutes ?? []).map((route) => `${route.header}: ${route.value} → ${route.backendId}`),
        ].join('; ');
        return { pool: api.pool, file: api.file, gatewayUrl: api.gatewayUrl, ...(policy ? { policy } : {}) };
      });
    } else {
      const single = await startEmbeddedEnvironment({
        ...serviceOptions,
        ...(pool ? { resources: resourcesFromPool(pool.backends, pool.probe.deployment), poolBackendId: pool.name } : {}),
      });
      env = single;
      apis = [{ pool: pool?.name ?? 'openai-instance-backend-pool', file: fleetEntries[0]?.file ?? 'examples/lab-pool.json', gatewayUrl: single.gatewayUrl }];
    }
  } catch (error) {
    const { EmbeddedEnvironmentOptionsError } = await import('../emulator/startEmbeddedEnvironment');
    if (error instanceof EmbeddedEnvironmentOptionsError) throw new UsageError(`emulate: ${error.message}`, { cause: error });
    // A busy or privileged --port is the user's choice to fix (exit 3), like any other bad flag.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`emulate: --port ${port} is already in use (EADDRINUSE); choose a free port or 0 for any`, { cause: error });
    if (code === 'EACCES') throw new UsageError(`emulate: --port ${port} needs privileges (EACCES); choose a port above 1023 or 0 for any`, { cause: error });
    throw error;
  }
  try {
    for (const fault of faults) await env.faults.setFault(fault.target, fault.fault);
    const gatewayUrl = apis[0]?.gatewayUrl ?? '';
    const info = {
      gatewayUrl,
      ...(apis.length > 1 ? { apis } : {}),
      armEndpoint: env.armEndpoint,
      controlUrl: env.controlUrl,
      subscriptionKey: env.subscriptionKey,
      apim: env.apim,
      regions: env.resources.map((r) => ({ host: r.host, region: r.region })),
    };
    if (values.json === true) {
      io.stdout(`${JSON.stringify(info)}\n`);
    } else {
      io.stdout(
        [
          'Embedded environment running (loopback only, no Azure):',
          ...(apis.length > 1
            ? ['  APIM gateway, one API per pool:', ...apis.map((api) => `    ${api.pool}: ${api.gatewayUrl}${api.policy ? `  (${api.policy})` : ''}`)]
            : [`  APIM gateway (API base): ${gatewayUrl}`]),
          `  ARM endpoint:            ${env.armEndpoint}  (subscription ${env.apim.subscriptionId}, resource group ${env.apim.resourceGroup}, service ${env.apim.serviceName})`,
          `  Control API:             ${env.controlUrl}`,
          `  Subscription key:        ${env.subscriptionKey}  (the emulator's own key, valid only here)`,
          `  Regions:                 ${info.regions.map((r) => `${r.region} (${r.host})`).join(', ')}`,
          '',
          apis.length > 1 ? 'Deploy each pool to it, then verify it through its API:' : 'Deploy a pool to it, then verify:',
          ...apis.flatMap((api) => {
            const file = apis.length > 1 ? api.file : 'examples/lab-pool.json';
            return [
              `  apim-pool-verifier deploy --pool ${file} --arm-endpoint ${env.armEndpoint} --subscription-id ${env.apim.subscriptionId} --resource-group ${env.apim.resourceGroup} --service-name ${env.apim.serviceName}`,
              `  APIM_SUBSCRIPTION_KEY=<key above> apim-pool-verifier verify --pool ${file} --gateway ${api.gatewayUrl}`,
            ];
          }),
          '',
        ].join('\n'),
      );
    }
    if (durationInSeconds > 0) {
      await new Promise<void>((resolve) => setTimeout(resolve, durationInSeconds * 1000));
    } else {
      await (io.untilInterrupted ?? waitForSignal)();
    }
  } finally {
    await env.close();
  }
  return ExitCode.Ok;
}

async function deployCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    pool: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'arm-endpoint': { type: 'string' },
    'subscription-id': { type: 'string' },
    'resource-group': { type: 'string' },
    'service-name': { type: 'string' },
    'api-version': { type: 'string' },
    json: { type: 'boolean' },
  });
  const problems: string[] = [];
  const poolPath = requireString(values.pool, '--pool', problems);
  const armFlag = values['arm-endpoint'] !== undefined ? '--arm-endpoint' : 'ARM_ENDPOINT';
  const armEndpoint = checkUrl(values['arm-endpoint'] ?? io.env.ARM_ENDPOINT ?? 'https://management.azure.com', armFlag, problems) ?? '';
  const overrides = {
    subscriptionId: apimFlag(values['subscription-id'], '--subscription-id', io.env.APIM_SUBSCRIPTION_ID, 'APIM_SUBSCRIPTION_ID', 'subscriptionId', problems),
    resourceGroup: apimFlag(values['resource-group'], '--resource-group', io.env.APIM_RESOURCE_GROUP, 'APIM_RESOURCE_GROUP', 'resourceGroup', problems),
    serviceName: apimFlag(values['service-name'], '--service-name', io.env.APIM_SERVICE_NAME, 'APIM_SERVICE_NAME', 'serviceName', problems),
    armApiVersion: apimFlag(values['api-version'], '--api-version', io.env.ARM_API_VERSION, 'ARM_API_VERSION', 'armApiVersion', problems),
  };
  if (problems.length > 0) throw new UsageError(`deploy: ${problems.join('\n  ')}`);
  const pool = await loadPoolDefinition(poolPath as string);
  const location = locationOf(pool, overrides);
  if (!location) {
    throw new UsageError(
      'deploy: where is the APIM service? Give --subscription-id, --resource-group and --service-name (or APIM_SUBSCRIPTION_ID, APIM_RESOURCE_GROUP, APIM_SERVICE_NAME, or the definition\'s "apim" section).',
    );
  }
  const [{ createArmClient }, { deployPool }, { createAzureCredential, createLocalCredential }] = await Promise.all([
    import('../lib/deploy/armClient'),
    import('../lib/deploy/deployPool'),
    import('../lib/deploy/createCredential'),
  ]);
  // A loopback ARM endpoint is the embedded emulator: use the local credential so nothing ever reaches Azure.
  const { credential, description } = isLoopback(armEndpoint)
    ? createLocalCredential()
    : createAzureCredential(io.env.AZURE_CLIENT_ID ? { managedIdentityClientId: io.env.AZURE_CLIENT_ID } : {});
  const client = createArmClient({ endpoint: armEndpoint, credential, apiVersion: location.armApiVersion, identityDescription: description });
  const outcome = await deployPool(pool, { client, location, mode: 'deploy', dryRun: values['dry-run'] === true });
  const signIn = values.json === true ? undefined : signInProblemOf(outcome);
  if (signIn !== undefined) {
    io.stderr(`deploy: ${signIn} Nothing was written.\n`);
  } else if (values.json === true) {
    io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
  } else {
    const lines = [`${values['dry-run'] === true ? 'Plan' : 'Deploy'} for ${pool.name} on ${location.serviceName}: ${outcome.summary}`];
    for (const action of outcome.actions) {
      const fields = action.changedFields.length > 0 ? ` (${action.changedFields.join(', ')})` : '';
      // An error the summary already states (e.g. no Azure sign-in, the same for every resource) is not repeated.
      const error = action.error && !outcome.summary.includes(action.error.message) ? ` — ${action.error.message}` : '';
      lines.push(`  ${action.kind === 'pool' ? 'pool   ' : 'backend'} ${action.resource}: ${action.plan}${fields} → ${action.result}${error}`);
    }
    io.stdout(`${lines.join('\n')}\n`);
  }
  return outcome.status === 'failed' ? ExitCode.CouldNotRun : ExitCode.Ok;
}

/**
 * When every failed action failed for want of a token (no Azure sign-in), the one thing to say is how to sign in:
 * the per-resource lines would repeat it once per backend.
 */
function signInProblemOf(outcome: { readonly status: string; readonly actions: readonly { readonly error?: { readonly code?: string; readonly message: string } }[] }): string | undefined {
  if (outcome.status !== 'failed') return undefined;
  const errors = outcome.actions.map((a) => a.error).filter((e): e is NonNullable<typeof e> => e !== undefined);
  if (errors.length === 0 || !errors.every((e) => e.code === 'CredentialUnavailable')) return undefined;
  const message = errors[0]!.message;
  const reason = message.slice(message.lastIndexOf('): ') >= 0 ? message.lastIndexOf('): ') + 3 : 0);
  return `could not get an Azure token, ${reason}`;
}

async function exportCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    pool: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    'service-name': { type: 'string' },
  });
  const problems: string[] = [];
  const poolPath = requireString(values.pool, '--pool', problems);
  if (values.format !== 'bicep' && values.format !== 'arm') {
    problems.push(values.format === undefined ? '--format is required: bicep or arm' : `--format "${printable(values.format)}" is not allowed; use bicep or arm`);
  }
  // The service name becomes the template's parameter default: "[…]" there would be an ARM expression.
  const serviceName = apimFlag(values['service-name'], '--service-name', undefined, '', 'serviceName', problems);
  if (typeof values.out === 'string' && poolPath !== undefined) {
    const outProblem = outputFileProblem(values.out, poolPath);
    if (outProblem !== undefined) problems.push(outProblem);
  }
  if (problems.length > 0) throw new UsageError(`export: ${problems.join('\n  ')}`);
  const pool = await loadPoolDefinition(poolPath as string);
  const { exportTemplate } = await import('../lib/deploy/exportTemplate');
  const template = exportTemplate(pool, values.format as unknown as 'bicep' | 'arm', serviceName ? { serviceName } : {});
  if (values.out) {
    writeOutputFile(values.out, template.endsWith('\n') ? template : `${template}\n`);
    io.stderr(`Wrote ${values.format} template to ${values.out}\n`);
  } else {
    io.stdout(template.endsWith('\n') ? template : `${template}\n`);
  }
  return ExitCode.Ok;
}

/** Flag values as parsed: strings, booleans and (for `multiple`) string arrays. */
type ParsedValues = { readonly [name: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- shapes vary per command

function parse(args: readonly string[], options: NonNullable<ParseArgsConfig['options']>): { values: ParsedValues } {
  try {
    const { values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
    return { values: values as Record<string, string | boolean | string[] | undefined> as ParsedValues };
  } catch (error) {
    throw new UsageError(`${ensureError(error).message}\nRun "apim-pool-verifier help" for usage.`);
  }
}

function requireString(value: unknown, flag: string, problems: string[]): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`${flag} is required`);
    return undefined;
  }
  return value;
}

function requireUrl(value: unknown, flag: string, problems: string[]): string | undefined {
  const text = requireString(value, flag, problems);
  if (text === undefined) return undefined;
  return checkUrl(text, flag, problems, ' (include the API suffix, e.g. https://apim-x.azure-api.net/openai)');
}

/** The URL without trailing slashes, or undefined with a problem that echoes it only with userinfo removed. */
function checkUrl(text: string, flag: string, problems: string[], hint = ''): string | undefined {
  const problem = httpUrlProblem(text);
  if (problem !== undefined) {
    problems.push(`${flag} "${redactUrl(text)}" ${problem}${problem.startsWith('is not') ? hint : ''}`);
    return undefined;
  }
  return text.replace(/\/+$/, '');
}

/**
 * A value of the definition's `apim` section given as a flag (else the environment variable), checked by the same
 * rule as the JSON Schema; undefined when neither is given or the value is refused (then a problem is recorded).
 */
function apimFlag(flagValue: unknown, flag: string, envValue: string | undefined, envName: string, field: ApimField, problems: string[]): string | undefined {
  const [value, source] = typeof flagValue === 'string' ? [flagValue, flag] : [envValue?.trim() || undefined, envName];
  if (value === undefined) return undefined;
  const problem = apimFieldProblem(field, value);
  if (problem !== undefined) {
    problems.push(`${source} ${problem}`);
    return undefined;
  }
  return value;
}

/**
 * Why `--out` cannot be written: an existing file that is not a regular file (a named pipe would block the write
 * forever, a directory cannot be written), or the definition itself (it would be overwritten by the template).
 */
function outputFileProblem(out: string, poolPath: string): string | undefined {
  let outStats: fs.Stats;
  try {
    outStats = fs.statSync(out);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : `--out ${printable(out, 300)} cannot be used (${code ?? 'unknown error'})`;
  }
  if (!outStats.isFile()) return `--out ${printable(out, 300)} is not a regular file (${describeFileKind(outStats)}); give the path of a file to write`;
  try {
    const poolStats = fs.statSync(poolPath);
    // Same device and inode: the same file by any path (symlink, hard link, "./", another spelling).
    if (poolStats.dev === outStats.dev && poolStats.ino === outStats.ino) {
      return `--out ${printable(out, 300)} is the pool definition given as --pool; writing the template there would overwrite it (choose another file)`;
    }
  } catch {
    // An unreadable --pool is reported when it is loaded.
  }
  return undefined;
}

/**
 * Writes `--out` without ever blocking: O_NONBLOCK makes opening a named pipe with no reader fail (ENXIO) instead of
 * waiting, and the opened handle is checked to be a regular file before anything is written.
 *
 * @throws UsageError naming the path and the system error code.
 */
function writeOutputFile(out: string, text: string): void {
  let fd: number;
  try {
    fd = fs.openSync(out, fs.constants.O_WRONLY | fs.constants.O_CREAT | (fs.constants.O_NONBLOCK ?? 0), 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENXIO' ? 'it is a named pipe' : 'it cannot be opened';
    throw new UsageError(`export: --out ${printable(out, 300)} cannot be written: ${reason} (${code ?? 'unknown error'})`, { cause: error });
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) throw new UsageError(`export: --out ${printable(out, 300)} is not a regular file (${describeFileKind(stats)})`);
    fs.ftruncateSync(fd, 0);
    fs.writeFileSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

function intFlag(value: unknown, flag: string, fallback: number, min: number, max: number, problems: string[]): number {
  if (value === undefined) return fallback;
  const text = String(value);
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    problems.push(`${flag} "${printable(text)}" must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return Number(text);
}

function floatFlag(value: unknown, flag: string, fallback: number, minExclusive: number, max: number, problems: string[]): number {
  if (value === undefined) return fallback;
  const text = String(value);
  const number = Number(text);
  if (text.trim() === '' || !Number.isFinite(number) || number <= minExclusive || number > max) {
    problems.push(`${flag} "${printable(text)}" must be a number greater than ${minExclusive} and at most ${max}`);
    return fallback;
  }
  return number;
}

/** `--latency-scale`: a number from 0 to 10 (0 is allowed, unlike the other number flags); default 1. */
function latencyScaleFlag(value: unknown, problems: string[]): number {
  if (value === undefined) return 1;
  const text = String(value);
  const number = Number(text);
  if (text.trim() === '' || !Number.isFinite(number) || number < 0 || number > 10) {
    problems.push(`--latency-scale "${printable(text)}" must be a number from 0 to 10 (1 = typical Azure OpenAI latency, 0 = none)`);
    return 1;
  }
  return number;
}

function isLoopback(text: string): boolean {
  const host = new URL(text).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}

function locationOf(pool: ResolvedPool, overrides: Partial<Record<keyof ApimLocation, string | undefined>>): ApimLocation | undefined {
  const subscriptionId = overrides.subscriptionId ?? pool.apim?.subscriptionId;
  const resourceGroup = overrides.resourceGroup ?? pool.apim?.resourceGroup;
  const serviceName = overrides.serviceName ?? pool.apim?.serviceName;
  if (!subscriptionId || !resourceGroup || !serviceName) return undefined;
  return { subscriptionId, resourceGroup, serviceName, armApiVersion: overrides.armApiVersion ?? pool.apim?.armApiVersion ?? '2024-05-01' };
}

/** Echoes user input safely: printable ASCII only, at most `maxLength` characters (60 by default; paths get more). */
function printable(value: string, maxLength = 60): string {
  const text = value.replace(/[^\x20-\x7e]/g, '?');
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

function defaultIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}
