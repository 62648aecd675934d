import fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DefinitionError } from '../lib/pool/DefinitionError';
import { loadPoolDefinition } from '../lib/pool/loadPoolDefinition';
import type { ApimLocation, ResolvedPool } from '../lib/pool/types';
import { ensureError } from '../lib/util/errors';
import { formatReportText } from './formatReportText';
import { ExitCode, exitCodeOfReport } from './exitCodes';

/** Where the CLI writes and what environment it reads (injected so tests capture everything). */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves when the user asks to stop (Ctrl+C); used by `emulate`. */
  readonly untilInterrupted?: () => Promise<void>;
}

const USAGE = `Usage: apim-pool-verifier <command> [options]

Commands:
  verify   --pool <file> --gateway <api-base-url> [--requests N] [--concurrency C] [--timeout-ms MS]
           [--alpha A] [--tolerance POINTS] [--no-early-stop] [--json]
           One-shot check that the pool behind <api-base-url> follows its weights.
           The subscription key is read from APIM_SUBSCRIPTION_KEY (never a flag).
  emulate  [--port P] [--pool <file>] [--fault "<region|host>=<fault>"]... [--instances N]
           [--selection weighted-random|smooth-weighted-round-robin] [--duration-seconds S] [--json]
           Start only the embedded environment (APIM emulator + simulated Azure OpenAI) and print its URLs and key.
           Faults: down, failing[:status], throttled:<retry-after-seconds>, slow:<ms>, auth-reject, healthy.
  deploy   --pool <file> [--dry-run] [--arm-endpoint URL] [--subscription-id ID] [--resource-group RG]
           [--service-name NAME] [--api-version V] [--json]
           Deploy the pool definition through ARM (single backends, then the pool); --dry-run prints the plan.
  export   --pool <file> --format bicep|arm [--out <file>] [--service-name NAME]
           Write a deployable template equivalent to the definition.

Exit codes: 0 ok: every share shown within the tolerance (or command succeeded), 1 drift, failover or outage,
2 inconclusive (the headline says how many more probes ok needs) or no data, 3 invalid input or configuration, 4 could not run (gateway unreachable, 401/403 from the gateway or a
backend refusing its identity, ARM failure).`;

/** Runs the CLI; resolves to the process exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
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
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(`${USAGE}\n`);
        return command === undefined ? ExitCode.InvalidInput : ExitCode.Ok;
      case '--version':
        io.stdout(`${(require('../../../package.json') as { version: string }).version}\n`);
        return ExitCode.Ok;
      default:
        io.stderr(`Unknown command "${printable(command)}".\n\n${USAGE}\n`);
        return ExitCode.InvalidInput;
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

/** A problem with the command line: exit code 3. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

async function verifyCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    pool: { type: 'string' },
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
  const poolPath = requireString(values.pool, '--pool', problems);
  const gateway = requireUrl(values.gateway, '--gateway', problems);
  const requests = intFlag(values.requests, '--requests', 1000, 1, 100_000, problems);
  const concurrency = intFlag(values.concurrency, '--concurrency', 16, 1, 256, problems);
  const timeoutInMs = intFlag(values['timeout-ms'], '--timeout-ms', 30_000, 100, 300_000, problems);
  const alpha = floatFlag(values.alpha, '--alpha', 1e-4, 0, 0.5, problems);
  const tolerance = floatFlag(values.tolerance, '--tolerance', 5, 0, 100, problems);
  const key = io.env.APIM_SUBSCRIPTION_KEY;
  if (!key) problems.push('APIM_SUBSCRIPTION_KEY is not set: export the APIM subscription key in this environment variable (it is never taken from a flag).');
  if (problems.length > 0) throw new UsageError(`verify: ${problems.join('\n  ')}`);

  const pool = await loadPoolDefinition(poolPath as string);
  const { verifyOnce } = await import('../lib/verifier/verifyOnce');
  const controller = new AbortController();
  const result = await verifyOnce({
    pool,
    gatewayUrl: gateway as string,
    subscriptionKey: key as string,
    requests,
    concurrency,
    timeoutInMs,
    alpha,
    toleranceInPoints: tolerance,
    sequential: values['no-early-stop'] !== true,
    signal: controller.signal,
  });
  if (result.fatal) {
    io.stderr(`Could not verify: ${result.fatal.message}\n`);
    if (values.json === true) io.stdout(`${JSON.stringify(result.report, null, 2)}\n`);
    return ExitCode.CouldNotRun;
  }
  if (values.json === true) io.stdout(`${JSON.stringify(result.report, null, 2)}\n`);
  else io.stdout(formatReportText(result.report, { probesSent: result.probesSent, tokensUsed: result.tokensUsed, stoppedEarly: result.stoppedEarly }));
  return exitCodeOfReport(result.report);
}

async function emulateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' },
    pool: { type: 'string' },
    fault: { type: 'string', multiple: true },
    instances: { type: 'string' },
    selection: { type: 'string' },
    'duration-seconds': { type: 'string' },
    json: { type: 'boolean' },
  });
  const problems: string[] = [];
  const port = intFlag(values.port, '--port', 8080, 0, 65_535, problems);
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
  if (problems.length > 0) throw new UsageError(`emulate: ${problems.join('\n  ')}`);
  const pool = values.pool ? await loadPoolDefinition(values.pool) : undefined;

  const { startEmbeddedEnvironment } = await import('../emulator/startEmbeddedEnvironment');
  const { resourcesFromPool } = await import('../emulator/resourcesFromPool');
  const env = await startEmbeddedEnvironment({
    port,
    gatewayInstances: instances,
    selection: selection as 'weighted-random' | 'smooth-weighted-round-robin',
    ...(pool ? { resources: resourcesFromPool(pool.backends, pool.probe.deployment), poolBackendId: pool.name } : {}),
    ...(io.env.EMULATOR_SUBSCRIPTION_KEY ? { subscriptionKey: io.env.EMULATOR_SUBSCRIPTION_KEY } : {}),
  });
  try {
    for (const fault of faults) await env.faults.setFault(fault.target, fault.fault);
    const info = {
      gatewayUrl: env.gatewayUrl,
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
          `  APIM gateway (API base): ${env.gatewayUrl}`,
          `  ARM endpoint:            ${env.armEndpoint}  (subscription ${env.apim.subscriptionId}, resource group ${env.apim.resourceGroup}, service ${env.apim.serviceName})`,
          `  Control API:             ${env.controlUrl}`,
          `  Subscription key:        ${env.subscriptionKey}  (the emulator's own key, valid only here)`,
          `  Regions:                 ${info.regions.map((r) => `${r.region} (${r.host})`).join(', ')}`,
          '',
          'Deploy a pool to it, then verify:',
          `  apim-pool-verifier deploy --pool examples/lab-pool.json --arm-endpoint ${env.armEndpoint} --subscription-id ${env.apim.subscriptionId} --resource-group ${env.apim.resourceGroup} --service-name ${env.apim.serviceName}`,
          `  APIM_SUBSCRIPTION_KEY=<key above> apim-pool-verifier verify --pool examples/lab-pool.json --gateway ${env.gatewayUrl}`,
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
  const armEndpoint = values['arm-endpoint'] ?? io.env.ARM_ENDPOINT ?? 'https://management.azure.com';
  if (!isHttpUrl(armEndpoint)) problems.push(`--arm-endpoint "${printable(armEndpoint)}" is not an absolute http(s) URL`);
  if (problems.length > 0) throw new UsageError(`deploy: ${problems.join('\n  ')}`);
  const pool = await loadPoolDefinition(poolPath as string);
  const location = locationOf(pool, {
    subscriptionId: values['subscription-id'] ?? io.env.APIM_SUBSCRIPTION_ID,
    resourceGroup: values['resource-group'] ?? io.env.APIM_RESOURCE_GROUP,
    serviceName: values['service-name'] ?? io.env.APIM_SERVICE_NAME,
    armApiVersion: values['api-version'] ?? io.env.ARM_API_VERSION,
  });
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
  if (values.json === true) {
    io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
  } else {
    const lines = [`${values['dry-run'] === true ? 'Plan' : 'Deploy'} for ${pool.name} on ${location.serviceName}: ${outcome.summary}`];
    for (const action of outcome.actions) {
      const fields = action.changedFields.length > 0 ? ` (${action.changedFields.join(', ')})` : '';
      lines.push(`  ${action.kind === 'pool' ? 'pool   ' : 'backend'} ${action.resource}: ${action.plan}${fields} → ${action.result}${action.error ? ` — ${action.error.message}` : ''}`);
    }
    io.stdout(`${lines.join('\n')}\n`);
  }
  return outcome.status === 'failed' ? ExitCode.CouldNotRun : ExitCode.Ok;
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
  if (problems.length > 0) throw new UsageError(`export: ${problems.join('\n  ')}`);
  const pool = await loadPoolDefinition(poolPath as string);
  const { exportTemplate } = await import('../lib/deploy/exportTemplate');
  const template = exportTemplate(pool, values.format as unknown as 'bicep' | 'arm', values['service-name'] ? { serviceName: values['service-name'] } : {});
  if (values.out) {
    fs.writeFileSync(values.out, template.endsWith('\n') ? template : `${template}\n`);
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
  if (!isHttpUrl(text)) {
    problems.push(`${flag} "${printable(text)}" is not an absolute http(s) URL (include the API suffix, e.g. https://apim-x.azure-api.net/openai)`);
    return undefined;
  }
  return text.replace(/\/+$/, '');
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

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
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

/** Echoes user input safely: printable ASCII only, at most 60 characters. */
function printable(value: string): string {
  const text = value.replace(/[^\x20-\x7e]/g, '?');
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
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
  };
}
