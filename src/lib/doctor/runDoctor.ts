import { AZURE_REQUIRED_SETTINGS } from '../config/azureSettings';
import { ConfigError } from '../config/ConfigError';
import { SETTING_DEFAULTS } from '../config/loadConfig';
import { loadFleetSettings, type FleetPool } from '../config/loadFleetSettings';
import type { Settings } from '../config/types';
import type { TableClient } from '@azure/data-tables';
import type { QueueServiceClient } from '@azure/storage-queue';
import type { LogsQueryClient } from '@azure/monitor-query-logs';
import { ArmRequestError, type ArmClient } from '../deploy/armClient';
import { checkPolicy } from '../deploy/checkPolicy';
import { mapBounded } from '../util/mapBounded';
import { DefinitionError } from '../pool/DefinitionError';
import { MAX_FLEET_DEFINITIONS, serviceOf, type FleetEntry } from '../pool/loadFleetDefinitions';
import type { ApimLocation, ResolvedPool } from '../pool/types';
import type { ProbeRunResult, RunProbesOptions } from '../probe/runProbes';
import type { AppInsightsSink } from '../telemetry/createAppInsightsSink';
import type { TelemetryHealth } from '../telemetry/createTelemetryHealth';
import { DOCTOR_ROLES, checkGatewayLogs, checkQueueStorage, checkTableStorage, checkTelemetryRoundTrip, checkWritePermission } from './connectionChecks';

/** One line of the doctor's checklist. `fix` says exactly what to do; neither field ever holds a secret. */
export interface DoctorCheck {
  readonly name: string;
  readonly status: 'ok' | 'failed' | 'skipped';
  readonly detail: string;
  readonly fix?: string;
}

/** What the doctor needs from the outside world (real clients in the CLI, loopback fakes in tests). */
export interface DoctorPorts {
  /** App Settings / environment, read once. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads POOL_DEFINITION_PATH, a file or a folder (`loadFleetDefinitions`); throws DefinitionError. */
  readonly loadDefinitions: (path: string) => Promise<readonly FleetEntry[]>;
  /** Folder a relative POOL_DEFINITION_PATH is resolved against, as the app does (default: the working directory). */
  readonly appRoot?: string;
  /** An ARM client for the settings (the caller picks the credential and endpoint). */
  readonly createArm: (settings: Settings) => ArmClient;
  /** Who the ARM token belongs to, named in fixes ("user-assigned managed identity …", "your az login"). */
  readonly identityDescription: string;
  readonly runProbes: (options: RunProbesOptions) => Promise<ProbeRunResult>;
  /**
   * A client for the state table and the account's name for fixes, as the azure environment builds it from
   * AzureWebJobsStorage (either form); undefined when no storage account is configured.
   */
  readonly stateTable: (settings: Settings) => { readonly client: TableClient; readonly accountLabel: string } | undefined;
  /**
   * A client for the queue service of AzureWebJobsStorage (`queueStorageOf`) and the account's name for fixes;
   * undefined when no queue service is configured.
   */
  readonly queueService: (settings: Settings) => { readonly client: QueueServiceClient; readonly accountLabel: string } | undefined;
  /** The real App Insights sink for the settings (with the ingestion credential they ask for), reporting to `health`. */
  readonly createAppInsightsSink: (settings: Settings, pool: ResolvedPool, health: TelemetryHealth) => AppInsightsSink;
  /** A Logs query client for LOGS_ENDPOINT with the identity. */
  readonly createLogsClient: (settings: Settings) => LogsQueryClient;
  /**
   * How long to wait for the marker to be queryable, and between queries. Default 150 s / 10 s: App Insights
   * ingestion usually takes 20 s–3 min (Azure Monitor "Log data ingestion time"), and `GET /api/doctor` must
   * answer within the Functions HTTP limit of 230 s.
   */
  readonly telemetryWait?: { readonly waitInMs: number; readonly pollEveryInMs: number };
}

/** Built-in role ids named in fixes (same table as infra/main.bicep and the README). */
const ROLE = DOCTOR_ROLES;
/** The checks after the settings, in order (a failed step skips the rest of the list that depends on it). */
const AFTER_SETTINGS = [
  'pool definition',
  'APIM pool (ARM read)',
  'API policy',
  'gateway probe',
  'Table Storage (state table read/write)',
  'Queue Storage (probe-runs read/write)',
  'App Insights ingestion',
  'Logs query finds the record',
  'gateway logs (all-traffic source)',
];
const KEY_VAULT_REFERENCE = /^\s*@Microsoft\.KeyVault\(/i;
const MAX_DETAIL = 400;

const clip = (text: string): string => (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text);

/**
 * Checks each connection the app needs and returns the checklist, in order: settings (complete, consistent, Key
 * Vault references resolved; read as `loadFleetSettings` reads them, so a setting a definition names is known and
 * APIM_GATEWAY_URL / APIM_SUBSCRIPTION_KEY are required only when a pool falls back to them), the pool definitions
 * (a file or a folder: "N pools", every problem at once), then per pool — a few pools at a time, each line named
 * `[pool] …` when there are several, ok lines of more than 20 pools collapsed into one — read access to the pool
 * through ARM and, with DEPLOY_MODE=deploy, write permission (ARM's permissions list for the service, nothing
 * written), the API policy routing to the pool and one probe through the pool's own gateway URL with its own key;
 * then Table Storage read/write of the state table (a probe entity written and deleted), Queue Storage (the
 * `probe-runs` queue created if missing, a marker sent and deleted), App Insights ingestion of one marker through
 * the real sink and a Logs query that finds it (bounded wait, {@link DoctorPorts.telemetryWait}), and, with
 * ALL_TRAFFIC_SOURCE=gateway-logs, gateway log rows for the API in the last day — these last once per app, with the
 * first pool where a pool is needed (the line says so). Each failed line names the fix (role with its built-in id
 * and scope, or setting). A failed step skips the steps that depend on it; a connection that is not configured is
 * `skipped` with why. Never throws for an expected failure and never puts a secret in a line (values of settings
 * are not echoed).
 */
export async function runDoctor(ports: DoctorPorts): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const { env } = ports;
  const inFunctionApp = (env.WEBSITE_SITE_NAME ?? '').trim() !== '';

  // 1. Settings: read as the app reads them (loadFleetSettings), with the definitions they depend on.
  const unresolved = Object.entries(env)
    .filter(([, value]) => value !== undefined && KEY_VAULT_REFERENCE.test(value))
    .map(([key]) => key)
    .sort();
  if (unresolved.length > 0) {
    checks.push({
      name: 'Key Vault references',
      status: 'failed',
      detail: `${unresolved.join(', ')} reached the app as the literal @Microsoft.KeyVault(...) text: the reference did not resolve.`,
      fix: `Grant ${ROLE.keyVaultSecretsUser} on the vault to the identity named in the app's keyVaultReferenceIdentity, check the vault and secret names, then restart the app.`,
    });
  } else {
    checks.push({ name: 'Key Vault references', status: 'ok', detail: 'no unresolved @Microsoft.KeyVault(...) value' });
  }
  let loaded: readonly FleetEntry[] | undefined;
  let definitionFailure: { error: unknown } | undefined;
  const loadDefinitions = async (path: string): Promise<readonly FleetEntry[]> => {
    try {
      loaded = await ports.loadDefinitions(path);
      return loaded;
    } catch (error) {
      definitionFailure = { error };
      throw error;
    }
  };
  let fleet: { readonly settings: Settings; readonly pools: readonly FleetPool[] } | undefined;
  let settingsFailed = false;
  try {
    fleet = await loadFleetSettings(env, { appRoot: ports.appRoot ?? process.cwd(), loadDefinitions });
  } catch (error) {
    if (error instanceof ConfigError) {
      settingsFailed = true;
      checks.push({ name: 'settings', status: 'failed', detail: clip(error.message), fix: 'Correct the settings named above.' });
    } else if (definitionFailure === undefined || definitionFailure.error !== error) {
      throw error;
    }
  }
  const required = requiredSettings(inFunctionApp, loaded);
  const missing = required.filter((key) => !isPresent(env, key));
  if (missing.length > 0) {
    const storageHint = missing.includes(STORAGE_SETTING) ? ` (for the storage account, AzureWebJobsStorage__tableServiceUri with __queueServiceUri, or the connection string AzureWebJobsStorage, does too)` : '';
    checks.push({
      name: 'required settings',
      status: 'failed',
      detail: `missing: ${missing.join(', ')}`,
      fix: `Set ${missing.join(', ')}${inFunctionApp ? ' in the App Settings (infra/main.bicep sets them all)' : ' in the environment'}${storageHint}.`,
    });
  } else {
    checks.push({ name: 'required settings', status: 'ok', detail: `${required.length} present` });
  }
  if (settingsFailed || missing.length > 0 || unresolved.length > 0) {
    checks.push(...AFTER_SETTINGS.map((name) => skipped(name, 'settings')));
    return checks;
  }

  // 2. The pool definitions (a file or a folder): every problem at once, as loadFleetDefinitions reports them.
  if (fleet === undefined) {
    const error = definitionFailure?.error;
    const detail = error instanceof DefinitionError || error instanceof Error ? error.message : String(error);
    const path = env.POOL_DEFINITION_PATH?.trim() || SETTING_DEFAULTS.POOL_DEFINITION_PATH;
    checks.push({ name: 'pool definition', status: 'failed', detail: clip(detail), fix: `Fix the file or folder POOL_DEFINITION_PATH names (${path}).` });
    checks.push(...AFTER_SETTINGS.slice(1).map((name) => skipped(name, 'pool definition')));
    return checks;
  }
  const { settings } = fleet;
  const pools = fleet.pools.slice(0, MAX_FLEET_DEFINITIONS);
  const first = pools[0]!;
  checks.push({ name: 'pool definition', status: 'ok', detail: clip(describePools(pools)) });

  // 3. Per pool, a few pools at a time: ARM (read, write permission in deploy mode), the API policy, one probe.
  const arm = ports.createArm(settings);
  const perPool = await mapBounded(pools, POOLS_AT_ONCE, (pool) => checkPool(ports, settings, arm, pool));
  checks.push(...(pools.length === 1 ? perPool[0]! : fleetLines(pools, perPool)));

  // 4. Storage: the state table, then the fan-out queue.
  const table = ports.stateTable(settings);
  checks.push(
    table === undefined
      ? { name: 'Table Storage (state table read/write)', status: 'skipped', detail: 'no storage account configured (AzureWebJobsStorage__accountName or AzureWebJobsStorage)' }
      : await checkTableStorage(table.client, table.accountLabel, ports.identityDescription),
  );
  const queue = ports.queueService(settings);
  if (queue !== undefined) {
    checks.push(await checkQueueStorage(queue.client, queue.accountLabel, ports.identityDescription));
  } else if (inFunctionApp || table !== undefined) {
    checks.push({
      name: QUEUE_CHECK,
      status: 'failed',
      detail: 'no queue service configured: the timer cannot fan pool runs out and the probePool trigger has no queue to read',
      fix: 'Set AzureWebJobsStorage__queueServiceUri (or AzureWebJobsStorage__accountName, or the connection string AzureWebJobsStorage).',
    });
  } else {
    checks.push({ name: QUEUE_CHECK, status: 'skipped', detail: 'no storage account configured (AzureWebJobsStorage__accountName or AzureWebJobsStorage)' });
  }

  // 5. App Insights ingestion, then a Logs query that finds the record: once per app, with the first pool.
  const firstNote = pools.length > 1 ? ` (with pool ${first.pool.name}, the first of ${pools.length}; checked once per app)` : '';
  if (!settings.secrets.appInsightsConnectionString) {
    checks.push(
      { name: 'App Insights ingestion', status: 'skipped', detail: 'APPLICATIONINSIGHTS_CONNECTION_STRING is not set' },
      skipped('Logs query finds the record', 'App Insights ingestion'),
    );
  } else {
    const roundTrip = await checkTelemetryRoundTrip({
      settings,
      pool: first.pool,
      createSink: (health) => ports.createAppInsightsSink(settings, first.pool, health),
      logs: settings.telemetry.logsSource === 'local' ? undefined : ports.createLogsClient(settings),
      identity: ports.identityDescription,
      waitInMs: ports.telemetryWait?.waitInMs ?? 150_000,
      pollEveryInMs: ports.telemetryWait?.pollEveryInMs ?? 10_000,
    });
    checks.push(...roundTrip.map((check, index) => (index === 0 && check.status !== 'skipped' ? { ...check, detail: clip(`${check.detail}${firstNote}`) } : check)));
  }

  // 6. The gateway-logs source: once per app (the API of the settings, else the first pool's).
  const apiId = settings.deploy.apiId ?? first.pool.apim?.apiId;
  if (settings.telemetry.allTrafficSource !== 'gateway-logs') {
    checks.push({ name: 'gateway logs (all-traffic source)', status: 'skipped', detail: `ALL_TRAFFIC_SOURCE is ${settings.telemetry.allTrafficSource}, not gateway-logs` });
  } else if (!apiId || !settings.telemetry.workspaceId) {
    checks.push({ name: 'gateway logs (all-traffic source)', status: 'failed', detail: 'the gateway-logs source needs the API id and the workspace', fix: 'Set APIM_API_ID and LOGS_WORKSPACE_ID.' });
  } else {
    const location = locationOf(settings, first.pool);
    const serviceId = location ? serviceIdOf(location) : 'the APIM service';
    const check = await checkGatewayLogs(ports.createLogsClient(settings), settings.telemetry.workspaceId, apiId, settings.telemetry.gatewayLogsTable, serviceId, ports.identityDescription);
    const note = pools.length > 1 && settings.deploy.apiId === undefined ? firstNote : '';
    checks.push({ ...check, detail: clip(`${check.detail}${note}`) });
  }
  return checks;
}

/** Name of the queue check. */
const QUEUE_CHECK = 'Queue Storage (probe-runs read/write)';
/** Pools checked at once (each check is a few ARM calls and one probe). */
const POOLS_AT_ONCE = 4;
/** With more pools than this passing one check, their ok lines become one "N pools ok" line. */
const MAX_OK_LINES_PER_CHECK = 20;
/** Pool names listed in the definitions line before "and N more". */
const MAX_NAMED_POOLS = 10;
/** How the required-settings check names the storage account (any of its forms satisfies it). */
const STORAGE_SETTING = 'AzureWebJobsStorage__accountName';
const STORAGE_FORMS = ['AzureWebJobsStorage', 'AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__tableServiceUri'];

/**
 * The settings that must be present: POOL_DEFINITION_PATH; APIM_GATEWAY_URL / APIM_SUBSCRIPTION_KEY only when a
 * pool falls back to them (or the definitions could not be read); in a Function App also the storage account (any
 * form loadConfig accepts), APPLICATIONINSIGHTS_CONNECTION_STRING and LOGS_SOURCE. The settings the definitions
 * name are checked by `resolvePoolSecrets` (the `settings` line), which names the pool.
 */
function requiredSettings(inFunctionApp: boolean, entries: readonly FleetEntry[] | undefined): string[] {
  const needsGateway = entries === undefined || entries.some((entry) => entry.pool.gateway.url === undefined);
  const needsKey = entries === undefined || entries.some((entry) => entry.pool.gateway.subscriptionKeySetting === undefined);
  const list = inFunctionApp ? AZURE_REQUIRED_SETTINGS : ['APIM_GATEWAY_URL', 'APIM_SUBSCRIPTION_KEY', 'POOL_DEFINITION_PATH'];
  return list.filter((key) => (key !== 'APIM_GATEWAY_URL' || needsGateway) && (key !== 'APIM_SUBSCRIPTION_KEY' || needsKey));
}

function isPresent(env: Readonly<Record<string, string | undefined>>, key: string): boolean {
  const keys = key === STORAGE_SETTING ? STORAGE_FORMS : [key];
  return keys.some((name) => (env[name] ?? '').trim() !== '');
}

/** `lab-pool: 2 members`, or `3 pools: a (2 members), b (3 members), …` (at most 10 named). */
function describePools(pools: readonly FleetPool[]): string {
  if (pools.length === 1) return `${pools[0]!.pool.name}: ${pools[0]!.pool.backends.length} members`;
  const named = pools.slice(0, MAX_NAMED_POOLS).map((entry) => `${entry.pool.name} (${entry.pool.backends.length} members)`);
  const more = pools.length > named.length ? `, and ${pools.length - named.length} more` : '';
  return `${pools.length} pools: ${named.join(', ')}${more}`;
}

/**
 * The per-pool lines of several pools, check by check: each line named `[pool] check` (`[service/pool]` when two
 * services share a pool name). When more than {@link MAX_OK_LINES_PER_CHECK} pools pass a check, their ok lines
 * become one `N pools ok` line (likewise one line per reason for skipped lines); every failure stays listed.
 */
function fleetLines(pools: readonly FleetPool[], perPool: readonly DoctorCheck[][]): DoctorCheck[] {
  const nameCounts = new Map<string, number>();
  for (const entry of pools) nameCounts.set(entry.pool.name.toLowerCase(), (nameCounts.get(entry.pool.name.toLowerCase()) ?? 0) + 1);
  const labelOf = (entry: FleetPool): string => ((nameCounts.get(entry.pool.name.toLowerCase()) ?? 0) > 1 ? `${serviceOf(entry.pool)}/${entry.pool.name}` : entry.pool.name);
  const kinds = [...new Set(perPool.flat().map((check) => check.name))];
  const lines: DoctorCheck[] = [];
  for (const kind of kinds) {
    const ofKind = perPool.flatMap((checks, index) => checks.filter((check) => check.name === kind).map((check) => ({ check, label: labelOf(pools[index]!) })));
    const ok = ofKind.filter(({ check }) => check.status === 'ok');
    const skippedLines = ofKind.filter(({ check }) => check.status === 'skipped');
    const skippedReasons = new Map<string, number>();
    for (const { check } of skippedLines) skippedReasons.set(check.detail, (skippedReasons.get(check.detail) ?? 0) + 1);
    if (ok.length > MAX_OK_LINES_PER_CHECK) lines.push({ name: kind, status: 'ok', detail: `${ok.length} pools ok` });
    const collapseSkipped = skippedLines.length > MAX_OK_LINES_PER_CHECK;
    if (collapseSkipped) {
      for (const [detail, count] of skippedReasons) lines.push({ name: kind, status: 'skipped', detail: clip(`${count} pools: ${detail}`) });
    }
    for (const { check, label } of ofKind) {
      if (check.status === 'ok' && ok.length > MAX_OK_LINES_PER_CHECK) continue;
      if (check.status === 'skipped' && collapseSkipped) continue;
      lines.push({ ...check, name: `[${label}] ${kind}` });
    }
  }
  return lines;
}

/** One pool's lines: ARM read (and write permission in deploy mode), the API policy, one probe with its own gateway and key. */
async function checkPool(ports: DoctorPorts, settings: Settings, arm: ArmClient, entry: FleetPool): Promise<DoctorCheck[]> {
  const { pool } = entry;
  const checks: DoctorCheck[] = [];
  const location = locationOf(settings, pool);
  if (!location) {
    checks.push({
      name: 'APIM pool (ARM read)',
      status: 'failed',
      detail: 'the APIM service is not located',
      fix: 'Set APIM_SUBSCRIPTION_ID, APIM_RESOURCE_GROUP and APIM_SERVICE_NAME (or apim in the pool definition).',
    });
    if (settings.deploy.mode === 'deploy') checks.push(skipped('APIM pool (ARM write permission)', 'APIM location'));
    checks.push(skipped('API policy', 'APIM location'));
  } else {
    const serviceId = serviceIdOf(location);
    const roleForMode = settings.deploy.mode === 'deploy' ? ROLE.apimContributor : ROLE.apimReader;
    let readWorked = false;
    try {
      const found = await arm.getBackend(location, pool.name);
      if (found) {
        const members = found.body.properties.pool?.services?.length ?? 0;
        checks.push({ name: 'APIM pool (ARM read)', status: 'ok', detail: `${pool.name} is deployed with ${members} members` });
      } else if (settings.deploy.mode === 'deploy') {
        checks.push({ name: 'APIM pool (ARM read)', status: 'ok', detail: `${pool.name} is not deployed yet; DEPLOY_MODE=deploy will create it` });
      } else {
        checks.push({
          name: 'APIM pool (ARM read)',
          status: 'failed',
          detail: `${pool.name} does not exist in ${location.serviceName}`,
          fix: 'Deploy the pool (apim-pool-verifier deploy, or your IaC with apim-pool-verifier export), or set DEPLOY_MODE=deploy.',
        });
      }
      readWorked = true;
    } catch (error) {
      checks.push(armFailure('APIM pool (ARM read)', error, roleForMode, serviceId, ports.identityDescription));
    }
    if (settings.deploy.mode === 'deploy') {
      checks.push(
        readWorked
          ? await checkWritePermission(arm, location, serviceId, ports.identityDescription)
          : skipped('APIM pool (ARM write permission)', 'APIM pool (ARM read)'),
      );
    }
    checks.push(await checkApiPolicy(ports, settings, arm, location, pool));
  }
  checks.push(await checkGatewayProbe(ports, settings, entry));
  return checks;
}

async function checkApiPolicy(ports: DoctorPorts, settings: Settings, arm: ArmClient, location: ApimLocation, pool: ResolvedPool): Promise<DoctorCheck> {
  const apiId = settings.deploy.apiId ?? pool.apim?.apiId;
  if (!apiId) {
    return { name: 'API policy', status: 'skipped', detail: 'no API id', fix: 'Set APIM_API_ID to check that the API routes to the pool.' };
  }
  try {
    const xml = await arm.getApiPolicy(location, apiId);
    const findings = xml === null ? [] : checkPolicy(xml, pool.name, { memberCount: pool.backends.length });
    const routes = xml !== null && !findings.some((finding) => finding.code === 'no-set-backend-service' || finding.code === 'unparsable-policy');
    return routes
      ? { name: 'API policy', status: 'ok', detail: `API ${apiId} routes to ${pool.name}${findings.length > 0 ? ` (${findings.length} warning(s): ${findings.map((f) => f.code).join(', ')})` : ''}` }
      : {
          name: 'API policy',
          status: 'failed',
          detail: xml === null ? `API ${apiId} has no policy` : `API ${apiId}'s policy has no set-backend-service backend-id="${pool.name}"`,
          fix: `Add <set-backend-service backend-id="${pool.name}" /> to the inbound policy of API ${apiId}.`,
        };
  } catch (error) {
    return armFailure('API policy', error, ROLE.apimReader, serviceIdOf(location), ports.identityDescription);
  }
}

/** One probe through the pool's own gateway URL with its own key (resolvePoolSecrets); the key is never printed. */
async function checkGatewayProbe(ports: DoctorPorts, settings: Settings, entry: FleetPool): Promise<DoctorCheck> {
  const { pool, secrets } = entry;
  const keySetting = pool.gateway.subscriptionKeySetting ?? 'APIM_SUBSCRIPTION_KEY';
  const gatewaySetting = pool.gateway.url !== undefined ? `gateway.url of ${entry.file}` : 'APIM_GATEWAY_URL';
  if (secrets.gatewayUrl === undefined) {
    return { name: 'gateway probe', status: 'failed', detail: 'no gateway URL for the pool', fix: `Set APIM_GATEWAY_URL, or gateway.url in ${entry.file}.` };
  }
  const result = await ports.runProbes({
    gatewayUrl: secrets.gatewayUrl,
    subscriptionKey: secrets.subscriptionKey ?? '',
    pool,
    runId: 'doctor',
    maxProbes: 1,
    concurrency: 1,
    timeoutInMs: settings.probe.timeoutInMs,
  });
  const record = result.records[0];
  if (result.fatal) {
    return { name: 'gateway probe', status: 'failed', detail: clip(result.fatal.message), fix: fixOfProbe(result.fatal.kind, keySetting, gatewaySetting) };
  }
  if (record && record.status !== null && record.status >= 200 && record.status < 300 && record.backend !== null) {
    return { name: 'gateway probe', status: 'ok', detail: `answered ${record.status} by ${record.backend}` };
  }
  if (record && record.status !== null && record.status >= 200 && record.status < 300) {
    return {
      name: 'gateway probe',
      status: 'failed',
      detail: `answered ${record.status}, but no member matched the ${pool.probe.identify.header} header`,
      fix: `Make the API return ${pool.probe.identify.header} with a value the definition's members declare (region or identifier).`,
    };
  }
  return {
    name: 'gateway probe',
    status: 'failed',
    detail: record ? `answered ${record.status ?? record.errorCode ?? 'nothing'}` : 'no answer',
    fix: `Check ${gatewaySetting} (with the API suffix) and the deployment name; then run apim-pool-verifier verify for details.`,
  };
}

function serviceIdOf(location: ApimLocation): string {
  return `/subscriptions/${location.subscriptionId}/resourceGroups/${location.resourceGroup}/providers/Microsoft.ApiManagement/service/${location.serviceName}`;
}

function skipped(name: string, after: string): DoctorCheck {
  return { name, status: 'skipped', detail: `needs ${after} first` };
}

function locationOf(settings: Settings, pool: ResolvedPool): ApimLocation | undefined {
  const subscriptionId = settings.deploy.subscriptionId ?? pool.apim?.subscriptionId;
  const resourceGroup = settings.deploy.resourceGroup ?? pool.apim?.resourceGroup;
  const serviceName = settings.deploy.serviceName ?? pool.apim?.serviceName;
  if (!subscriptionId || !resourceGroup || !serviceName) return undefined;
  return { subscriptionId, resourceGroup, serviceName, armApiVersion: settings.deploy.armApiVersion ?? pool.apim?.armApiVersion ?? '2024-05-01' };
}

function armFailure(name: string, error: unknown, role: string, serviceId: string, identity: string): DoctorCheck {
  if (!(error instanceof ArmRequestError)) throw error;
  if (error.status === 403) {
    return { name, status: 'failed', detail: `ARM answered 403 ${error.code} for ${error.operation}`, fix: `Grant ${role} on ${serviceId} to ${identity}.` };
  }
  if (error.status === 401 || error.code === 'CredentialUnavailable') {
    return { name, status: 'failed', detail: `no ARM token (${error.code})`, fix: `Sign in (az login) or give the app its managed identity (${identity}).` };
  }
  if (error.status === 404) {
    return { name, status: 'failed', detail: `ARM answered 404 ${error.code}`, fix: `Check APIM_SUBSCRIPTION_ID, APIM_RESOURCE_GROUP and APIM_SERVICE_NAME (${serviceId}).` };
  }
  return { name, status: 'failed', detail: clip(`${error.code}: ${error.message}`), fix: 'Retry; if it persists, check the ARM endpoint and the network.' };
}

function fixOfProbe(kind: 'unauthorized' | 'forbidden' | 'not-found' | 'unreachable', keySetting: string, gatewaySetting: string): string {
  switch (kind) {
    case 'unauthorized':
      return `Set ${keySetting} to a valid key of a subscription that includes the API (in Azure: the Key Vault secret).`;
    case 'forbidden':
      return 'Check the subscription scope, the product and any IP filter of the API.';
    case 'not-found':
      return `Check ${gatewaySetting} (with the API suffix) and the deployment name of the definition.`;
    case 'unreachable':
      return `Check ${gatewaySetting} and that the gateway is reachable from where the doctor runs.`;
  }
}
