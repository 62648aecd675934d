import { AZURE_REQUIRED_SETTINGS } from '../config/azureSettings';
import { ConfigError } from '../config/ConfigError';
import { loadConfig } from '../config/loadConfig';
import type { Settings } from '../config/types';
import type { TableClient } from '@azure/data-tables';
import type { LogsQueryClient } from '@azure/monitor-query-logs';
import { ArmRequestError, type ArmClient } from '../deploy/armClient';
import { checkPolicy } from '../deploy/checkPolicy';
import { DefinitionError } from '../pool/DefinitionError';
import type { ApimLocation, ResolvedPool } from '../pool/types';
import type { ProbeRunResult, RunProbesOptions } from '../probe/runProbes';
import type { AppInsightsSink } from '../telemetry/createAppInsightsSink';
import type { TelemetryHealth } from '../telemetry/createTelemetryHealth';
import { DOCTOR_ROLES, checkGatewayLogs, checkTableStorage, checkTelemetryRoundTrip, checkWritePermission } from './connectionChecks';

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
  readonly loadPool: (path: string) => Promise<ResolvedPool>;
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
  'App Insights ingestion',
  'Logs query finds the record',
  'gateway logs (all-traffic source)',
];
const KEY_VAULT_REFERENCE = /^\s*@Microsoft\.KeyVault\(/i;
const MAX_DETAIL = 400;

const clip = (text: string): string => (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text);

/**
 * Checks each connection the app needs and returns the checklist, in order: settings (complete, consistent, Key
 * Vault references resolved), the pool definition, read access to the pool through ARM and, with DEPLOY_MODE=deploy,
 * write permission (ARM's permissions list for the service, nothing written), the API policy routing to the pool,
 * one probe through the gateway with the key, Table Storage read/write of the state table (a probe entity written
 * and deleted), App Insights ingestion of one marker through the real sink and a Logs query that finds it (bounded
 * wait, {@link DoctorPorts.telemetryWait}), and, with ALL_TRAFFIC_SOURCE=gateway-logs, gateway log rows for
 * APIM_API_ID in the last day. Each failed line names the fix (role with its built-in id and scope, or setting).
 * A failed step skips the steps that depend on it; a connection that is not configured is `skipped` with why.
 * Never throws for an expected failure and never puts a secret in a line (values of settings are not echoed).
 */
export async function runDoctor(ports: DoctorPorts): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const { env } = ports;
  const inFunctionApp = (env.WEBSITE_SITE_NAME ?? '').trim() !== '';

  // 1. Settings.
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
  const required = inFunctionApp ? AZURE_REQUIRED_SETTINGS : ['APIM_GATEWAY_URL', 'APIM_SUBSCRIPTION_KEY', 'POOL_DEFINITION_PATH'];
  const missing = required.filter((key) => (env[key] ?? '').trim() === '');
  let settings: Settings | undefined;
  try {
    settings = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.push({ name: 'settings', status: 'failed', detail: clip(error.message), fix: 'Correct the settings named above.' });
  }
  if (missing.length > 0) {
    checks.push({
      name: 'required settings',
      status: 'failed',
      detail: `missing: ${missing.join(', ')}`,
      fix: `Set ${missing.join(', ')}${inFunctionApp ? ' in the App Settings (infra/main.bicep sets them all)' : ' in the environment'}.`,
    });
  } else {
    checks.push({ name: 'required settings', status: 'ok', detail: `${required.length} present` });
  }
  if (!settings || missing.length > 0 || unresolved.length > 0) {
    checks.push(...AFTER_SETTINGS.map((name) => skipped(name, 'settings')));
    return checks;
  }

  // 2. The pool definition.
  let pool: ResolvedPool;
  try {
    pool = await ports.loadPool(settings.poolDefinitionPath);
    checks.push({ name: 'pool definition', status: 'ok', detail: `${pool.name}: ${pool.backends.length} members` });
  } catch (error) {
    const detail = error instanceof DefinitionError || error instanceof Error ? error.message : String(error);
    checks.push({ name: 'pool definition', status: 'failed', detail: clip(detail), fix: `Fix the file POOL_DEFINITION_PATH names (${settings.poolDefinitionPath}).` });
    checks.push(...AFTER_SETTINGS.slice(1).map((name) => skipped(name, 'pool definition')));
    return checks;
  }

  // 3. ARM: the pool, then the API policy.
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
    const arm = ports.createArm(settings);
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
    const apiId = settings.deploy.apiId ?? pool.apim?.apiId;
    if (!apiId) {
      checks.push({ name: 'API policy', status: 'skipped', detail: 'no API id', fix: 'Set APIM_API_ID to check that the API routes to the pool.' });
    } else {
      try {
        const xml = await arm.getApiPolicy(location, apiId);
        const findings = xml === null ? [] : checkPolicy(xml, pool.name, { memberCount: pool.backends.length });
        const routes = xml !== null && !findings.some((finding) => finding.code === 'no-set-backend-service' || finding.code === 'unparsable-policy');
        checks.push(
          routes
            ? { name: 'API policy', status: 'ok', detail: `API ${apiId} routes to ${pool.name}${findings.length > 0 ? ` (${findings.length} warning(s): ${findings.map((f) => f.code).join(', ')})` : ''}` }
            : {
                name: 'API policy',
                status: 'failed',
                detail: xml === null ? `API ${apiId} has no policy` : `API ${apiId}'s policy has no set-backend-service backend-id="${pool.name}"`,
                fix: `Add <set-backend-service backend-id="${pool.name}" /> to the inbound policy of API ${apiId}.`,
              },
        );
      } catch (error) {
        checks.push(armFailure('API policy', error, ROLE.apimReader, serviceId, ports.identityDescription));
      }
    }
  }

  // 4. One probe through the gateway with the key.
  const result = await ports.runProbes({
    gatewayUrl: settings.gatewayUrl!,
    subscriptionKey: settings.secrets.subscriptionKey ?? '',
    pool,
    runId: 'doctor',
    maxProbes: 1,
    concurrency: 1,
    timeoutInMs: settings.probe.timeoutInMs,
  });
  const record = result.records[0];
  if (result.fatal) {
    checks.push({ name: 'gateway probe', status: 'failed', detail: clip(result.fatal.message), fix: fixOfProbe(result.fatal.kind) });
  } else if (record && record.status !== null && record.status >= 200 && record.status < 300 && record.backend !== null) {
    checks.push({ name: 'gateway probe', status: 'ok', detail: `answered ${record.status} by ${record.backend}` });
  } else if (record && record.status !== null && record.status >= 200 && record.status < 300) {
    checks.push({
      name: 'gateway probe',
      status: 'failed',
      detail: `answered ${record.status}, but no member matched the ${pool.probe.identify.header} header`,
      fix: `Make the API return ${pool.probe.identify.header} with a value the definition's members declare (region or identifier).`,
    });
  } else {
    checks.push({
      name: 'gateway probe',
      status: 'failed',
      detail: record ? `answered ${record.status ?? record.errorCode ?? 'nothing'}` : 'no answer',
      fix: 'Check the gateway URL, the API suffix and the deployment name; then run apim-pool-verifier verify for details.',
    });
  }

  // 5. Table Storage: the state table.
  const table = ports.stateTable(settings);
  checks.push(
    table === undefined
      ? { name: 'Table Storage (state table read/write)', status: 'skipped', detail: 'no storage account configured (AzureWebJobsStorage__accountName or AzureWebJobsStorage)' }
      : await checkTableStorage(table.client, table.accountLabel, ports.identityDescription),
  );

  // 6. App Insights ingestion, then a Logs query that finds the record.
  if (!settings.secrets.appInsightsConnectionString) {
    checks.push(
      { name: 'App Insights ingestion', status: 'skipped', detail: 'APPLICATIONINSIGHTS_CONNECTION_STRING is not set' },
      skipped('Logs query finds the record', 'App Insights ingestion'),
    );
  } else {
    checks.push(
      ...(await checkTelemetryRoundTrip({
        settings,
        pool,
        createSink: (health) => ports.createAppInsightsSink(settings, pool, health),
        logs: settings.telemetry.logsSource === 'local' ? undefined : ports.createLogsClient(settings),
        identity: ports.identityDescription,
        waitInMs: ports.telemetryWait?.waitInMs ?? 150_000,
        pollEveryInMs: ports.telemetryWait?.pollEveryInMs ?? 10_000,
      })),
    );
  }

  // 7. The gateway-logs source.
  const apiId = settings.deploy.apiId ?? pool.apim?.apiId;
  if (settings.telemetry.allTrafficSource !== 'gateway-logs') {
    checks.push({ name: 'gateway logs (all-traffic source)', status: 'skipped', detail: `ALL_TRAFFIC_SOURCE is ${settings.telemetry.allTrafficSource}, not gateway-logs` });
  } else if (!apiId || !settings.telemetry.workspaceId) {
    checks.push({ name: 'gateway logs (all-traffic source)', status: 'failed', detail: 'the gateway-logs source needs the API id and the workspace', fix: 'Set APIM_API_ID and LOGS_WORKSPACE_ID.' });
  } else {
    const serviceId = location ? serviceIdOf(location) : 'the APIM service';
    checks.push(
      await checkGatewayLogs(ports.createLogsClient(settings), settings.telemetry.workspaceId, apiId, settings.telemetry.gatewayLogsTable, serviceId, ports.identityDescription),
    );
  }
  return checks;
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

function fixOfProbe(kind: 'unauthorized' | 'forbidden' | 'not-found' | 'unreachable'): string {
  switch (kind) {
    case 'unauthorized':
      return 'Set APIM_SUBSCRIPTION_KEY to a valid key of a subscription that includes the API (in Azure: the Key Vault secret).';
    case 'forbidden':
      return 'Check the subscription scope, the product and any IP filter of the API.';
    case 'not-found':
      return 'Check APIM_GATEWAY_URL (with the API suffix) and the deployment name of the definition.';
    case 'unreachable':
      return 'Check APIM_GATEWAY_URL and that the gateway is reachable from where the doctor runs.';
  }
}
