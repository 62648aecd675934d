import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AZURE_LOGS_TARGETS, AZURE_OPTIONAL_STORAGE_SETTINGS, AZURE_REQUIRED_SETTINGS } from '../../src/lib/config/azureSettings';
import { HOST_KEYS, SETTING_KEYS, loadConfig } from '../../src/lib/config/loadConfig';
import { describeWithBicep, diagnosticsOf, runBicep } from './bicep';
import { BUILT_IN_ROLES, type BuiltInRoleName } from './roles';

/**
 * infra/main.bicep compiled by the real Bicep CLI: zero diagnostics from `build` and `lint`, and the compiled ARM
 * JSON checked for what the issue demands (settings from the shared lists, built-in role ids, no keys, Node 22 on
 * Flex Consumption, no secret in outputs).
 */

interface ArmResource {
  type: string;
  name: string;
  scope?: string;
  condition?: string | boolean;
  kind?: string;
  sku?: { name?: string; tier?: string };
  identity?: { type?: string };
  properties?: Record<string, unknown>;
}

interface ArmTemplate {
  parameters: Record<string, { type: string; defaultValue?: unknown; allowedValues?: unknown[] }>;
  variables: Record<string, unknown> & { roles: Record<string, string> };
  resources: ArmResource[];
  outputs: Record<string, { type: string; value: string }>;
}

/** Which built-in role each key of main.bicep's `roles` variable must hold. */
const ROLE_OF_VARIABLE: Record<string, BuiltInRoleName> = {
  apimServiceReader: 'API Management Service Reader Role',
  apimServiceContributor: 'API Management Service Contributor',
  logAnalyticsReader: 'Log Analytics Reader',
  monitoringMetricsPublisher: 'Monitoring Metrics Publisher',
  storageBlobDataOwner: 'Storage Blob Data Owner',
  storageQueueDataContributor: 'Storage Queue Data Contributor',
  storageTableDataContributor: 'Storage Table Data Contributor',
  keyVaultSecretsUser: 'Key Vault Secrets User',
};

const describeBicep = describeWithBicep('test/infra/mainTemplate.test.ts');

describeBicep('infra/main.bicep compiled by the Bicep CLI', () => {
  let template: ArmTemplate;
  let buildDiagnostics: string[];
  let lintDiagnostics: string[];
  let apimAccess: ArmTemplate;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'main-bicep-'));
    try {
      const outfile = join(dir, 'main.json');
      const [build, lint] = await Promise.all([
        runBicep(['build', 'infra/main.bicep', '--outfile', outfile]),
        runBicep(['lint', 'infra/main.bicep']),
      ]);
      buildDiagnostics = diagnosticsOf(build);
      lintDiagnostics = diagnosticsOf(lint);
      expect(build.status).toBe(0);
      template = JSON.parse(readFileSync(outfile, 'utf8')) as ArmTemplate;
      const module = template.resources.find((r) => r.type === 'Microsoft.Resources/deployments' && r.name === 'apim-pool-verifier-apim-access');
      apimAccess = (module?.properties as { template: ArmTemplate }).template;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  const one = (type: string): ArmResource => {
    const found = template.resources.filter((r) => r.type === type);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const appSettings = (): Record<string, string> => one('Microsoft.Web/sites/config').properties as Record<string, string>;

  it('builds and lints with zero errors and zero warnings', () => {
    expect(buildDiagnostics).toEqual([]);
    expect(lintDiagnostics).toEqual([]);
  });

  it('sets every setting the app requires in the azure environment', () => {
    const settings = appSettings();
    const missing = AZURE_REQUIRED_SETTINGS.filter((key) => !(key in settings));
    expect(missing).toEqual([]);
    for (const target of Object.values(AZURE_LOGS_TARGETS)) {
      expect(settings).toHaveProperty(target);
    }
  });

  it('sets no setting the app does not know', () => {
    const known = new Set<string>([
      ...SETTING_KEYS,
      ...HOST_KEYS,
      ...AZURE_REQUIRED_SETTINGS,
      ...Object.values(AZURE_LOGS_TARGETS),
      ...AZURE_OPTIONAL_STORAGE_SETTINGS,
    ]);
    expect(Object.keys(appSettings()).filter((key) => !known.has(key))).toEqual([]);
  });

  it('leaves the runtime settings that Flex Consumption refuses to functionAppConfig', () => {
    const settings = appSettings();
    expect(settings).not.toHaveProperty('FUNCTIONS_WORKER_RUNTIME');
    expect(settings).not.toHaveProperty('FUNCTIONS_EXTENSION_VERSION');
    expect(settings).not.toHaveProperty('WEBSITE_RUN_FROM_PACKAGE');
  });

  it("points the fleet's fan-out queue at the storage account's queue endpoint, reached by the identity", () => {
    const settings = appSettings();
    expect(settings.AzureWebJobsStorage__queueServiceUri).toMatch(/primaryEndpoints\.queue\]$/);
    expect(settings.AzureWebJobsStorage__queueServiceUri).toMatch(/Microsoft\.Storage\/storageAccounts/);
  });

  it('reads the subscription key through a Key Vault reference and storage and telemetry through the identity', () => {
    const settings = appSettings();
    const reference = /^\[variables\('(\w+)'\)\]$/.exec(settings.APIM_SUBSCRIPTION_KEY!)?.[1];
    expect(template.variables[reference ?? '']).toMatch(/^\[format\('@Microsoft\.KeyVault\(VaultName=\{0\};SecretName=\{1\}\)'/);
    expect(settings.AzureWebJobsStorage__credential).toBe('managedidentity');
    expect(settings.AzureWebJobsStorage__clientId).toMatch(/userAssignedIdentities.*clientId/);
    expect(settings.AZURE_CLIENT_ID).toBe(settings.AzureWebJobsStorage__clientId);
    expect(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toMatch(/^\[format\('Authorization=AAD;ClientId=\{0\}'.*clientId\)\]$/);
    expect(settings).not.toHaveProperty('AzureWebJobsStorage');
    for (const value of Object.values(settings)) {
      // A secret parameter may be tested for emptiness, never used as a value.
      expect(value).not.toMatch(/(?<!empty\()parameters\('(apimSubscriptionKey|alertWebhookUrl)'\)/);
      expect(value).not.toMatch(/listKeys|listSecrets/);
    }
  });

  it('gets every parameter without a default from main.parameters.json (azd), and only known parameters', () => {
    const file = JSON.parse(readFileSync(join(__dirname, '..', '..', 'infra', 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: string }>;
    };
    const given = Object.keys(file.parameters);
    expect(given.filter((name) => !(name in template.parameters))).toEqual([]);
    const required = Object.entries(template.parameters)
      .filter(([, parameter]) => parameter.defaultValue === undefined)
      .map(([name]) => name);
    expect(required.filter((name) => !given.includes(name))).toEqual([]);
  });

  it('takes DEPLOY_MODE from the deployMode parameter, verify-only by default', () => {
    expect(appSettings().DEPLOY_MODE).toBe("[parameters('deployMode')]");
    expect(template.parameters.deployMode).toMatchObject({ defaultValue: 'verify-only', allowedValues: ['verify-only', 'deploy'] });
  });

  it('offers only parameter values that the app accepts for the settings they feed', () => {
    // A complete azure environment, as the template's other settings make it; each fed setting then varies.
    const base = {
      VERIFIER_ENVIRONMENT: 'azure',
      POOL_DEFINITION_PATH: 'examples/lab-pool.json',
      AzureWebJobsStorage__accountName: 'stverifier',
      AzureWebJobsStorage__credential: 'managedidentity',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000002;IngestionEndpoint=https://example.net/',
      LOGS_SOURCE: 'workspace',
      APIM_GATEWAY_URL: 'https://apim.example.net/openai',
      APIM_SUBSCRIPTION_KEY: 'not-a-real-key',
      LOGS_WORKSPACE_ID: '00000000-0000-0000-0000-000000000000',
      APPINSIGHTS_RESOURCE_ID: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Insights/components/ai',
    };
    const feeds: Array<[string, string]> = [
      ['deployMode', 'DEPLOY_MODE'],
      ['logsSource', 'LOGS_SOURCE'],
      ['alertWebhookFormat', 'ALERT_WEBHOOK_FORMAT'],
    ];
    for (const [parameter, setting] of feeds) {
      expect(appSettings()[setting]).toBe(`[parameters('${parameter}')]`);
      const allowed = template.parameters[parameter]!.allowedValues as string[];
      expect(allowed.length).toBeGreaterThan(0);
      for (const value of allowed) {
        expect(loadConfig({ ...base, [setting]: value }).environment).toBe('azure');
      }
    }
  });

  it('grants each role by its built-in id from the docs, nothing else', () => {
    expect(Object.keys(template.variables.roles).sort()).toEqual(Object.keys(ROLE_OF_VARIABLE).sort());
    for (const [key, guid] of Object.entries(template.variables.roles)) {
      expect({ key, guid }).toEqual({ key, guid: BUILT_IN_ROLES[ROLE_OF_VARIABLE[key]!] });
    }
  });

  it('assigns least-privilege roles at the narrowest scope', () => {
    const assignments = template.resources
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
      .map((r) => {
        const roleKey = /variables\('roles'\)\.(\w+)\)\]$/.exec(String(r.properties?.roleDefinitionId))?.[1];
        const scopeType = /^\[resourceId\('([A-Za-z.]+\/[A-Za-z]+)',/.exec(String(r.scope))?.[1];
        return `${scopeType} ${roleKey ? ROLE_OF_VARIABLE[roleKey] : r.properties?.roleDefinitionId}${r.condition ? ' (when logsSource=appinsights)' : ''}`;
      })
      .sort();
    expect(assignments).toEqual(
      [
        'Microsoft.Insights/components Log Analytics Reader (when logsSource=appinsights)',
        'Microsoft.Insights/components Monitoring Metrics Publisher',
        'Microsoft.KeyVault/vaults Key Vault Secrets User',
        'Microsoft.OperationalInsights/workspaces Log Analytics Reader',
        'Microsoft.Storage/storageAccounts Storage Blob Data Owner',
        'Microsoft.Storage/storageAccounts Storage Queue Data Contributor',
        'Microsoft.Storage/storageAccounts Storage Table Data Contributor',
      ].sort(),
    );
    for (const r of template.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')) {
      expect(r.properties).toMatchObject({ principalType: 'ServicePrincipal' });
      expect(String(r.properties?.principalId)).toMatch(/userAssignedIdentities.*principalId/);
    }
  });

  it('gives the identity API Management Service Reader on the APIM service, Contributor only in deploy mode', () => {
    const access = template.resources.find((r) => r.name === 'apim-pool-verifier-apim-access')!;
    const parameters = (access.properties as { parameters: Record<string, string> }).parameters;
    expect(parameters.roleDefinitionGuid).toBe(
      "[if(equals(parameters('deployMode'), 'deploy'), createObject('value', variables('roles').apimServiceContributor), createObject('value', variables('roles').apimServiceReader))]",
    );
    const inner = apimAccess.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(inner).toHaveLength(1);
    expect(inner[0]!.properties?.roleDefinitionId).toBe(
      "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', parameters('roleDefinitionGuid'))]",
    );
    expect(inner[0]!.scope).toMatch(/Microsoft\.ApiManagement\/service/);
  });

  it('sends gateway logs in resource-specific mode only when asked', () => {
    const diagnostic = apimAccess.resources.find((r) => r.type === 'Microsoft.Insights/diagnosticSettings')!;
    expect(diagnostic.condition).toBe("[not(empty(parameters('gatewayLogsWorkspaceId')))]");
    expect(diagnostic.properties).toMatchObject({
      logAnalyticsDestinationType: 'Dedicated',
      logs: [{ category: 'GatewayLogs', enabled: true }],
    });
    expect(template.parameters.enableGatewayLogs!.defaultValue).toBe(false);
  });

  it('disables shared keys on storage and local auth on Application Insights', () => {
    expect(one('Microsoft.Storage/storageAccounts').properties).toMatchObject({ allowSharedKeyAccess: false, allowBlobPublicAccess: false });
    expect(one('Microsoft.Insights/components').properties).toMatchObject({ DisableLocalAuth: true });
    expect(String(one('Microsoft.Insights/components').properties?.WorkspaceResourceId)).toMatch(/Microsoft\.OperationalInsights\/workspaces/);
    expect(one('Microsoft.KeyVault/vaults').properties).toMatchObject({ enableRbacAuthorization: true });
  });

  it('runs Node 22 on a Linux Flex Consumption plan with the user-assigned identity and its deployment container', () => {
    expect(one('Microsoft.Web/serverfarms')).toMatchObject({ sku: { name: 'FC1', tier: 'FlexConsumption' }, properties: { reserved: true } });
    const site = one('Microsoft.Web/sites');
    expect(site.kind).toBe('functionapp,linux');
    expect(site.identity?.type).toBe('UserAssigned');
    const config = site.properties?.functionAppConfig as {
      runtime: unknown;
      deployment: { storage: { type: string; value: string; authentication: { type: string } } };
    };
    expect(config.runtime).toEqual({ name: 'node', version: '22' });
    expect(config.deployment.storage).toMatchObject({ type: 'blobContainer', authentication: { type: 'UserAssignedIdentity' } });
    expect(config.deployment.storage.value).toMatch(/deploymentContainerName/);
    expect(String(site.properties?.keyVaultReferenceIdentity)).toMatch(/userAssignedIdentities/);
    expect(one('Microsoft.Storage/storageAccounts/blobServices/containers').name).toMatch(/deploymentContainerName/);
  });

  it('marks the secrets secure and outputs none of them', () => {
    expect(template.parameters.apimSubscriptionKey!.type).toBe('securestring');
    expect(template.parameters.alertWebhookUrl!.type).toBe('securestring');
    for (const [name, output] of Object.entries(template.outputs)) {
      expect({ name, value: output.value }).not.toEqual({ name, value: expect.stringMatching(/apimSubscriptionKey|alertWebhookUrl|ConnectionString|listKeys|listSecrets|secrets/i) });
      expect(output.type).not.toBe('securestring');
    }
    expect(template.outputs.VERIFIER_REPORT_URL!.value).toMatch(/\/api\/report'/);
  });
});
