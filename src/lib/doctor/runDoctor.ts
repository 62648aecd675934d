import { AZURE_REQUIRED_SETTINGS } from '../config/azureSettings';
import { ConfigError } from '../config/ConfigError';
import { loadConfig } from '../config/loadConfig';
import type { Settings } from '../config/types';
import { ArmRequestError, type ArmClient } from '../deploy/armClient';
import { checkPolicy } from '../deploy/checkPolicy';
import { DefinitionError } from '../pool/DefinitionError';
import type { ApimLocation, ResolvedPool } from '../pool/types';
import type { ProbeRunResult, RunProbesOptions } from '../probe/runProbes';

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
}

/** Built-in role ids named in fixes (same table as infra/main.bicep and the README). */
const ROLE = {
  apimReader: 'API Management Service Reader Role (71522526-b88f-4d52-b57f-d31fc3546d0d)',
  apimContributor: 'API Management Service Contributor (312a565d-c81f-4fd8-895a-4e21e48d571c)',
  keyVaultSecretsUser: 'Key Vault Secrets User (4633458b-17de-408a-b874-0445c86b69e6)',
};
const KEY_VAULT_REFERENCE = /^\s*@Microsoft\.KeyVault\(/i;
const MAX_DETAIL = 400;

const clip = (text: string): string => (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text);

/**
 * Checks each connection the app needs and returns the checklist, in order: settings (complete, consistent, Key
 * Vault references resolved), the pool definition, read access to the pool through ARM, the API policy routing to
 * the pool, and one probe through the gateway with the key. A failed step skips the steps that depend on it.
 * Never throws for an expected failure and never puts a secret in a line (values of settings are not echoed).
 *
 * Not checked yet (issue 14): write permission in deploy mode, Table Storage, App Insights ingestion and the Logs
 * query, the gateway-logs source.
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
    checks.push(skipped('pool definition', 'settings'), skipped('APIM pool (ARM read)', 'settings'), skipped('API policy', 'settings'), skipped('gateway probe', 'settings'));
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
    checks.push(skipped('APIM pool (ARM read)', 'pool definition'), skipped('API policy', 'pool definition'), skipped('gateway probe', 'pool definition'));
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
    checks.push(skipped('API policy', 'APIM location'));
  } else {
    const arm = ports.createArm(settings);
    const serviceId = `/subscriptions/${location.subscriptionId}/resourceGroups/${location.resourceGroup}/providers/Microsoft.ApiManagement/service/${location.serviceName}`;
    const roleForMode = settings.deploy.mode === 'deploy' ? ROLE.apimContributor : ROLE.apimReader;
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
    } catch (error) {
      checks.push(armFailure('APIM pool (ARM read)', error, roleForMode, serviceId, ports.identityDescription));
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
  return checks;
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
