import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { DefinitionError } from '../../../src/lib/pool/DefinitionError';
import type { FleetEntry } from '../../../src/lib/pool/loadFleetDefinitions';
import type { ResolvedPool } from '../../../src/lib/pool/types';
import { createArmClient } from '../../../src/lib/deploy/armClient';
import { DOCTOR_PROBE_KEYS } from '../../../src/lib/doctor/connectionChecks';
import { runDoctor, type DoctorCheck, type DoctorPorts } from '../../../src/lib/doctor/runDoctor';
import { runProbes } from '../../../src/lib/probe/runProbes';
import { createTableClient, STATE_TABLE_NAME } from '../../../src/lib/state/tableSharedState';
import { createAppInsightsSink } from '../../../src/lib/telemetry/createAppInsightsSink';
import { createLogsQueryClient } from '../../../src/lib/telemetry/createLogsQueryClient';
import { startFakeArmServer, type FakeArmServer } from '../deploy/fakeArmServer';
import { startAzurite, type RunningAzurite } from '../alerts/azurite';
import { audienceCredential, fakeCredential } from '../../fakes/fakeCredential';
import { startFakeIngestion, type FakeIngestion } from '../../fakes/fakeIngestion';
import { logsTable, startFakeLogAnalytics, type FakeLogAnalytics, type LogsHandler } from '../../fakes/fakeLogAnalytics';
import { startHttpsFakeServer, type HttpsFakeServer } from '../../fakes/httpsFakeServer';
import { stopAppInsightsBackgroundWork } from '../../fakes/stopAppInsightsBackgroundWork';
import { chatCompletion, startFakeGateway, type FakeGateway } from '../probe/fakeGateway';
import { labPool } from '../probe/labPool';

const SUBSCRIPTION_KEY = 'doctor-secret-key-5f2a91';
const LOCATION = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rg-apim-lab', serviceName: 'apim-nov26' };
const POLICY = `<policies><inbound><base /><set-backend-service backend-id="openai-instance-backend-pool" /></inbound><backend><forward-request buffer-request-body="true" /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>`;

const SERVICE_ID = `/subscriptions/${LOCATION.subscriptionId}/resourceGroups/${LOCATION.resourceGroup}/providers/Microsoft.ApiManagement/service/${LOCATION.serviceName}`;
const POOL_PROPERTIES = {
  type: 'Pool',
  pool: {
    services: [
      { id: `${SERVICE_ID}/backends/openai-instance1`, priority: 1, weight: 2 },
      { id: `${SERVICE_ID}/backends/openai-instance2`, priority: 1, weight: 1 },
    ],
  },
};

/** ARM's answer when the identity lacks read access (the real error code and message shape). */
const AUTHORIZATION_FAILED_READ = {
  error: {
    code: 'AuthorizationFailed',
    message:
      "The client '11111111-2222-3333-4444-555555555555' with object id '11111111-2222-3333-4444-555555555555' does not have " +
      "authorization to perform action 'Microsoft.ApiManagement/service/backends/read' over scope " +
      "'/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26/backends/openai-instance-backend-pool' " +
      'or the scope is invalid. If access was recently granted, please refresh your credentials.',
  },
};

const WORKSPACE_ID = '3f2c6a1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b';
const STORAGE_KEY_FRAGMENT = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq';

/** Log Analytics' answer when the identity may not read the workspace (the service's real error code). */
const LOGS_FORBIDDEN = {
  status: 403,
  body: { error: { code: 'InsufficientAccessError', message: 'The provided credentials have insufficient access to perform the requested operation' } },
};

/** Queue Storage's answer to a data-plane call by an identity without a data role (XML, as the service sends it). */
function queueForbidden(): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: 403,
    headers: { 'x-ms-error-code': 'AuthorizationPermissionMismatch', 'content-type': 'application/xml' },
    body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission.\nRequestId:6a1f0c2e-0003-0045-3b1e-000000000000\nTime:2026-12-01T05:00:00.0000000Z</Message></Error>',
  };
}

/** A pool of the fleet: the lab pool renamed, with its own gateway URL and key setting when given. */
function fleetPool(name: string, gateway: ResolvedPool['gateway'] = { url: undefined, subscriptionKeySetting: undefined }): ResolvedPool {
  return { ...labPool(), name, gateway };
}

/** Table Storage's answer to a data-plane call by an identity without a data role (JSON, odata=minimalmetadata). */
function tableForbidden(): { status: number; headers: Record<string, string>; body: unknown } {
  return {
    status: 403,
    headers: { 'x-ms-error-code': 'AuthorizationPermissionMismatch', 'content-type': 'application/json;odata=minimalmetadata;streaming=true;charset=utf-8' },
    body: {
      'odata.error': {
        code: 'AuthorizationPermissionMismatch',
        message: { lang: 'en-US', value: 'This request is not authorized to perform this operation using this permission.\nRequestId:6a1f0c2e-0002-0045-3b1e-000000000000\nTime:2026-12-01T05:00:00.0000000Z' },
      },
    },
  };
}

describe('runDoctor', () => {
  let arm: FakeArmServer;
  let gateway: FakeGateway;
  let azurite: RunningAzurite;
  let ingestion: FakeIngestion;
  let lockedIngestion: FakeIngestion;
  let forbiddenIngestion: FakeIngestion;
  let logs: FakeLogAnalytics;
  let storageFake: HttpsFakeServer;
  /** Gateway log rows the fake workspace holds for the API. */
  let gatewayRows = 0;
  /** The table client the next doctor run uses (Azurite unless a test replaces it). */
  let stateTable: TableClient | undefined;
  /** The queue service the next doctor run uses (Azurite unless a test replaces it). */
  let queueService: QueueServiceClient | undefined;
  /** The definitions POOL_DEFINITION_PATH gives the next run (the lab pool unless a test replaces them). */
  let definitions: () => readonly FleetEntry[];
  let queueFake: HttpsFakeServer;

  /** Counts the doctor's marker only once the fake ingestion has received it: a real round trip through the fakes. */
  const logsHandler: LogsHandler = (query) => {
    if (query.query.startsWith('ApiManagementGatewayLogs')) return { status: 200, body: { tables: [logsTable([['Count', 'long']], [[gatewayRows]])] } };
    const runId = /runId\) == '([^']+)'/.exec(query.query)?.[1];
    const found = [ingestion, lockedIngestion].flatMap((fake) => fake.envelopes()).filter((envelope) => envelope.data.baseData.properties?.runId === runId).length;
    return { status: 200, body: { tables: [logsTable([['Count', 'long']], [[found]])] } };
  };

  beforeAll(async () => {
    arm = await startFakeArmServer();
    gateway = await startFakeGateway(() => ({ type: 'json', region: 'West US', body: chatCompletion() }));
    azurite = await startAzurite({ queue: true });
    ingestion = await startFakeIngestion();
    lockedIngestion = await startFakeIngestion({ requireTokenAudience: 'https://monitor.azure.com' });
    forbiddenIngestion = await startFakeIngestion({ requireTokenAudience: 'https://monitor.azure.com', forbidden: true });
    logs = await startFakeLogAnalytics(logsHandler);
    storageFake = await startHttpsFakeServer(() => tableForbidden());
    queueFake = await startHttpsFakeServer(() => queueForbidden());
  }, 90_000);
  afterAll(async () => {
    stopAppInsightsBackgroundWork();
    await Promise.all([arm.close(), gateway.close(), azurite.stop(), ingestion.close(), lockedIngestion.close(), forbiddenIngestion.close(), logs.close(), storageFake.close(), queueFake.close()]);
  });
  beforeEach(() => {
    arm.reset();
    arm.seed('openai-instance-backend-pool', POOL_PROPERTIES);
    arm.policies.set('openai', POLICY);
    gateway.setScript(() => ({ type: 'json', region: 'West US', body: chatCompletion() }));
    logs.setHandler(logsHandler);
    gatewayRows = 12;
    stateTable = createTableClient({ kind: 'connection-string', connectionString: azurite.connectionString });
    queueService = QueueServiceClient.fromConnectionString(azurite.connectionString);
    definitions = () => [{ file: 'lab.json', pool: labPool() }];
  });

  function env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
      APIM_GATEWAY_URL: gateway.url,
      APIM_SUBSCRIPTION_KEY: SUBSCRIPTION_KEY,
      POOL_DEFINITION_PATH: 'lab.json',
      DEPLOY_MODE: 'verify-only',
      APIM_SUBSCRIPTION_ID: LOCATION.subscriptionId,
      APIM_RESOURCE_GROUP: LOCATION.resourceGroup,
      APIM_SERVICE_NAME: LOCATION.serviceName,
      APIM_API_ID: 'openai',
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
      LOGS_SOURCE: 'workspace',
      LOGS_WORKSPACE_ID: WORKSPACE_ID,
      LOGS_ENDPOINT: logs.endpoint,
      ALL_TRAFFIC_SOURCE: 'gateway-logs',
      ...overrides,
    };
  }

  function ports(environment: Record<string, string | undefined>): DoctorPorts {
    return {
      env: environment,
      loadDefinitions: async () => definitions(),
      createArm: (settings) =>
        createArmClient({
          endpoint: arm.endpoint,
          credential: fakeCredential(),
          apiVersion: settings.deploy.armApiVersion ?? '2024-05-01',
          retry: { maxRetries: 0 },
          identityDescription: 'user-assigned managed identity 11111111-2222-3333-4444-555555555555',
        }),
      identityDescription: 'user-assigned managed identity 11111111-2222-3333-4444-555555555555',
      runProbes,
      stateTable: () => (stateTable === undefined ? undefined : { client: stateTable, accountLabel: 'devstoreaccount1' }),
      queueService: () => (queueService === undefined ? undefined : { client: queueService, accountLabel: 'devstoreaccount1' }),
      createAppInsightsSink: (settings, pool, health) =>
        createAppInsightsSink({
          connectionString: settings.secrets.appInsightsConnectionString!,
          cloudRoleName: settings.telemetry.cloudRoleName,
          pool,
          apimService: LOCATION.serviceName,
          offlineStorage: false,
          flushTimeoutInMs: 5_000,
          health,
          ...(settings.telemetry.ingestionAuthentication === undefined ? {} : { credential: audienceCredential() }),
        }),
      createLogsClient: (settings) => createLogsQueryClient({ credential: fakeCredential(), endpoint: settings.telemetry.logsEndpoint }),
      telemetryWait: { waitInMs: 3_000, pollEveryInMs: 50 },
    };
  }

  const byName = (checks: DoctorCheck[]): Record<string, DoctorCheck> => Object.fromEntries(checks.map((check) => [check.name, check]));
  const printed = (checks: DoctorCheck[]): string => JSON.stringify(checks);

  it('passes every check when each connection works', async () => {
    const checks = await runDoctor(ports(env()));
    expect(checks.map((check) => [check.name, check.status])).toEqual([
      ['Key Vault references', 'ok'],
      ['required settings', 'ok'],
      ['pool definition', 'ok'],
      ['APIM pool (ARM read)', 'ok'],
      ['API policy', 'ok'],
      ['gateway probe', 'ok'],
      ['Table Storage (state table read/write)', 'ok'],
      ['Queue Storage (probe-runs read/write)', 'ok'],
      ['App Insights ingestion', 'ok'],
      ['Logs query finds the record', 'ok'],
      ['gateway logs (all-traffic source)', 'ok'],
    ]);
    expect(byName(checks)['gateway probe']!.detail).toBe('answered 200 by openai-instance1');
    expect(byName(checks)['gateway logs (all-traffic source)']!.detail).toBe('12 gateway log rows for API openai in the last day');
    // The marker went through the real sink to ingestion, and the query that found it named it.
    const marker = /accepted marker (doctor-\S+)/.exec(byName(checks)['App Insights ingestion']!.detail)![1]!;
    expect(ingestion.envelopes().some((envelope) => envelope.data.baseData.properties?.runId === marker)).toBe(true);
    expect(logs.queries.some((query) => query.query.includes(marker) && query.target.kind === 'workspace')).toBe(true);
    // The probe entity is gone again.
    await expect(stateTable!.getEntity(DOCTOR_PROBE_KEYS.partitionKey, DOCTOR_PROBE_KEYS.rowKey)).rejects.toMatchObject({ statusCode: 404 });
    expect(stateTable!.tableName).toBe(STATE_TABLE_NAME);
    expect(printed(checks)).not.toContain(STORAGE_KEY_FRAGMENT);
    expect(printed(checks)).not.toContain(ingestion.instrumentationKey);
    expect(printed(checks)).not.toContain('fake-bearer-token');
  });

  describe('deploy mode write permission', () => {
    it('passes when ARM lists an action covering backends/write (Contributor: *), and writes nothing', async () => {
      const checks = await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' })));
      expect(byName(checks)['APIM pool (ARM write permission)']).toMatchObject({ status: 'ok' });
      const permissionsCall = arm.requests.find((request) => request.path.endsWith('/providers/Microsoft.Authorization/permissions'));
      expect(permissionsCall).toMatchObject({ method: 'GET', path: `${SERVICE_ID}/providers/Microsoft.Authorization/permissions`, query: { 'api-version': '2022-04-01' } });
      expect(arm.requests.filter((request) => request.method !== 'GET')).toEqual([]);
    });

    it('fails with the contributor role when the identity holds only the reader role', async () => {
      arm.permissions = [{ actions: ['Microsoft.ApiManagement/service/*/read', 'Microsoft.ApiManagement/service/read', 'Microsoft.Authorization/*/read'], notActions: [] }];
      const check = byName(await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' }))))['APIM pool (ARM write permission)']!;
      expect(check).toEqual({
        name: 'APIM pool (ARM write permission)',
        status: 'failed',
        detail: 'Microsoft.ApiManagement/service/backends/write is not among the identity\'s effective actions on the service',
        fix: `Grant API Management Service Contributor (312a565d-c81f-4fd8-895a-4e21e48d571c) on ${SERVICE_ID} to user-assigned managed identity 11111111-2222-3333-4444-555555555555 (DEPLOY_MODE=deploy writes the pool).`,
      });
    });

    it('honours notActions of the same role, and a second role granting what the first excludes', async () => {
      arm.permissions = [{ actions: ['Microsoft.ApiManagement/*'], notActions: ['Microsoft.ApiManagement/service/backends/*'] }];
      expect(byName(await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' }))))['APIM pool (ARM write permission)']!.status).toBe('failed');
      arm.permissions = [...arm.permissions, { actions: ['microsoft.apimanagement/service/backends/write'], notActions: [] }];
      expect(byName(await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' }))))['APIM pool (ARM write permission)']!.status).toBe('ok');
    });

    it('names the contributor role when ARM refuses the permissions list with 403 AuthorizationFailed', async () => {
      arm.script({ method: 'GET', resource: 'permissions', action: { kind: 'respond', status: 403, body: AUTHORIZATION_FAILED_READ } });
      const check = byName(await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' }))))['APIM pool (ARM write permission)']!;
      expect(check).toMatchObject({ status: 'failed', detail: 'ARM answered 403 AuthorizationFailed for GET providers/Microsoft.Authorization/permissions' });
      expect(check.fix).toMatch(/^Grant API Management Service Contributor \(312a565d-c81f-4fd8-895a-4e21e48d571c\) on \/subscriptions\//);
    });

    it('is not checked in verify-only mode', async () => {
      const checks = await runDoctor(ports(env()));
      expect(byName(checks)['APIM pool (ARM write permission)']).toBeUndefined();
      expect(arm.requests.some((request) => request.path.includes('Microsoft.Authorization'))).toBe(false);
    });
  });

  describe('Queue Storage', () => {
    it('creates probe-runs, sends a marker and deletes it, leaving the queue empty', async () => {
      const check = byName(await runDoctor(ports(env())))['Queue Storage (probe-runs read/write)']!;
      expect(check).toEqual({ name: 'Queue Storage (probe-runs read/write)', status: 'ok', detail: 'sent and deleted a marker message in queue probe-runs of devstoreaccount1' });
      // Counted with invisible messages too: the marker is gone, not merely hidden.
      const properties = await queueService!.getQueueClient('probe-runs').getProperties();
      expect(properties.approximateMessagesCount).toBe(0);
    });

    it('names Storage Queue Data Contributor on the account when the service answers 403 AuthorizationPermissionMismatch', async () => {
      queueService = new QueueServiceClient(`${queueFake.origin}/devstoreaccount1`, fakeCredential());
      const check = byName(await runDoctor(ports(env())))['Queue Storage (probe-runs read/write)']!;
      expect(check).toEqual({
        name: 'Queue Storage (probe-runs read/write)',
        status: 'failed',
        detail: 'Queue Storage answered 403 AuthorizationPermissionMismatch',
        fix: 'Grant Storage Queue Data Contributor (974c5e8b-45b9-4653-ba55-5f855dd0fb88) on the storage account devstoreaccount1 to user-assigned managed identity 11111111-2222-3333-4444-555555555555.',
      });
    });

    it('is skipped when no storage account is configured, and fails when a table is but no queue service', async () => {
      queueService = undefined;
      stateTable = undefined;
      expect(byName(await runDoctor(ports(env())))['Queue Storage (probe-runs read/write)']).toMatchObject({ status: 'skipped' });
      stateTable = createTableClient({ kind: 'connection-string', connectionString: azurite.connectionString });
      expect(byName(await runDoctor(ports(env())))['Queue Storage (probe-runs read/write)']).toMatchObject({
        status: 'failed',
        fix: expect.stringContaining('AzureWebJobsStorage__queueServiceUri'),
      });
    });
  });

  describe('a fleet (POOL_DEFINITION_PATH names a folder)', () => {
    const MINI_KEY = 'mini-secret-key-77c1e0';
    const ONDATA_KEY = 'ondata-secret-key-0b9d44';

    function threePools(): FleetEntry[] {
      return [
        { file: 'fleet/01-lab.json', pool: labPool() },
        { file: 'fleet/02-mini.json', pool: fleetPool('gpt-4o-mini-pool', { url: `${gateway.url}`, subscriptionKeySetting: 'APIM_KEY_MINI' }) },
        { file: 'fleet/03-ondata.json', pool: fleetPool('ondata-pool', { url: `${gateway.url}`, subscriptionKeySetting: 'APIM_KEY_ONDATA' }) },
      ];
    }

    it('checks each pool with its own gateway and key, prefixing each line with the pool, and says which pool the once-per-app checks used', async () => {
      definitions = threePools;
      arm.seed('gpt-4o-mini-pool', POOL_PROPERTIES);
      arm.seed('ondata-pool', POOL_PROPERTIES);
      const before = gateway.requests.length;
      const checks = await runDoctor(ports(env({ APIM_KEY_MINI: MINI_KEY, APIM_KEY_ONDATA: ONDATA_KEY })));
      expect(byName(checks)['settings']).toBeUndefined();
      expect(byName(checks)['pool definition']).toMatchObject({ status: 'ok', detail: '3 pools: openai-instance-backend-pool (2 members), gpt-4o-mini-pool (2 members), ondata-pool (2 members)' });
      for (const pool of ['openai-instance-backend-pool', 'gpt-4o-mini-pool', 'ondata-pool']) {
        expect(byName(checks)[`[${pool}] APIM pool (ARM read)`]).toMatchObject({ status: 'ok', detail: `${pool} is deployed with 2 members` });
        expect(byName(checks)[`[${pool}] gateway probe`]).toMatchObject({ status: 'ok' });
      }
      // APIM_API_ID routes to the lab pool only: the other two policy lines fail, each named.
      expect(byName(checks)['[openai-instance-backend-pool] API policy']!.status).toBe('ok');
      expect(byName(checks)['[gpt-4o-mini-pool] API policy']).toMatchObject({ status: 'failed', fix: 'Add <set-backend-service backend-id="gpt-4o-mini-pool" /> to the inbound policy of API openai.' });
      expect(byName(checks)['gateway probe']).toBeUndefined();
      // One probe per pool, each with the pool's own key.
      const keys = gateway.requests.slice(before).map((request) => request.headers['api-key']).sort();
      expect(keys).toEqual([MINI_KEY, ONDATA_KEY, SUBSCRIPTION_KEY].sort());
      expect(byName(checks)['App Insights ingestion']!.detail).toMatch(/ \(with pool openai-instance-backend-pool, the first of 3; checked once per app\)$/);
      for (const secret of [MINI_KEY, ONDATA_KEY, SUBSCRIPTION_KEY]) expect(printed(checks)).not.toContain(secret);
    });

    it('needs no APIM_GATEWAY_URL / APIM_SUBSCRIPTION_KEY when every pool has its own, and names a missing pool key setting with its pool', async () => {
      definitions = () => threePools().slice(1);
      arm.seed('gpt-4o-mini-pool', POOL_PROPERTIES);
      arm.seed('ondata-pool', POOL_PROPERTIES);
      const own = await runDoctor(ports(env({ APIM_GATEWAY_URL: undefined, APIM_SUBSCRIPTION_KEY: undefined, APIM_KEY_MINI: MINI_KEY, APIM_KEY_ONDATA: ONDATA_KEY })));
      expect(byName(own)['required settings']).toEqual({ name: 'required settings', status: 'ok', detail: '1 present' });
      expect(byName(own)['[ondata-pool] gateway probe']!.status).toBe('ok');
      const missingKey = await runDoctor(ports(env({ APIM_GATEWAY_URL: undefined, APIM_SUBSCRIPTION_KEY: undefined, APIM_KEY_MINI: MINI_KEY })));
      expect(byName(missingKey)['settings']).toMatchObject({ status: 'failed', detail: expect.stringContaining('APIM_KEY_ONDATA') });
      expect(byName(missingKey)['settings']!.detail).toContain('pool "ondata-pool"');
      expect(printed(missingKey)).not.toContain(MINI_KEY);
      // A mistyped setting is still caught: only the names the definitions use are known.
      const typo = await runDoctor(ports(env({ APIM_KEY_MINI: MINI_KEY, APIM_KEY_ONDATA: ONDATA_KEY, APIM_KEY_MINNI: 'x' })));
      expect(byName(typo)['settings']!.detail).toContain('APIM_KEY_MINNI');
    });

    it('collapses the ok lines of more than 20 pools into one line and keeps every failure listed', async () => {
      const names = Array.from({ length: 25 }, (_, index) => `pool-${String(index + 1).padStart(2, '0')}`);
      definitions = () => names.map((name) => ({ file: `fleet/${name}.json`, pool: fleetPool(name) }));
      for (const name of names.slice(0, 24)) arm.seed(name, POOL_PROPERTIES);
      const checks = await runDoctor(ports(env({ APIM_API_ID: undefined, ALL_TRAFFIC_SOURCE: undefined })));
      const armLines = checks.filter((check) => check.name.endsWith('APIM pool (ARM read)'));
      expect(armLines).toEqual([
        { name: 'APIM pool (ARM read)', status: 'ok', detail: '24 pools ok' },
        expect.objectContaining({ name: '[pool-25] APIM pool (ARM read)', status: 'failed', detail: 'pool-25 does not exist in apim-nov26' }),
      ]);
      expect(checks.filter((check) => check.name.endsWith('API policy'))).toEqual([{ name: 'API policy', status: 'skipped', detail: '25 pools: no API id' }]);
      expect(checks.filter((check) => check.name.endsWith('gateway probe'))).toEqual([{ name: 'gateway probe', status: 'ok', detail: '25 pools ok' }]);
      expect(checks.length).toBeLessThan(20);
    });
  });

  describe('Table Storage', () => {
    it('names Storage Table Data Contributor on the account when the service answers 403 AuthorizationPermissionMismatch', async () => {
      stateTable = new TableClient(`${storageFake.origin}/`, STATE_TABLE_NAME, fakeCredential());
      const check = byName(await runDoctor(ports(env())))['Table Storage (state table read/write)']!;
      expect(check).toEqual({
        name: 'Table Storage (state table read/write)',
        status: 'failed',
        detail: 'Table Storage answered 403 AuthorizationPermissionMismatch',
        fix: 'Grant Storage Table Data Contributor (0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3) on the storage account devstoreaccount1 to user-assigned managed identity 11111111-2222-3333-4444-555555555555.',
      });
    });

    it('is skipped, saying why, when no storage account is configured', async () => {
      stateTable = undefined;
      expect(byName(await runDoctor(ports(env())))['Table Storage (state table read/write)']).toMatchObject({ status: 'skipped', detail: expect.stringContaining('no storage account configured') });
    });
  });

  describe('App Insights ingestion and the Logs query', () => {
    it('asks for APPLICATIONINSIGHTS_AUTHENTICATION_STRING and Monitoring Metrics Publisher when ingestion answers 401 to the key alone', async () => {
      const checks = await runDoctor(ports(env({ APPLICATIONINSIGHTS_CONNECTION_STRING: lockedIngestion.connectionString })));
      expect(byName(checks)['App Insights ingestion']).toMatchObject({ status: 'failed', detail: expect.stringContaining('HTTP 401') });
      expect(byName(checks)['App Insights ingestion']!.fix).toContain('APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD');
      expect(byName(checks)['App Insights ingestion']!.fix).toContain('Monitoring Metrics Publisher (3913510d-42f4-4e42-8a64-420c390055eb) on the App Insights resource');
      expect(byName(checks)['Logs query finds the record']).toMatchObject({ status: 'skipped' });
    });

    it('passes with an Entra token where the key alone is refused', async () => {
      const checks = await runDoctor(ports(env({ APPLICATIONINSIGHTS_CONNECTION_STRING: lockedIngestion.connectionString, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' })));
      expect(byName(checks)['App Insights ingestion']!.status).toBe('ok');
      expect(byName(checks)['Logs query finds the record']!.status).toBe('ok');
    });

    it('names Monitoring Metrics Publisher when ingestion answers 403 to the token', async () => {
      const checks = await runDoctor(ports(env({ APPLICATIONINSIGHTS_CONNECTION_STRING: forbiddenIngestion.connectionString, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' })));
      expect(byName(checks)['App Insights ingestion']).toMatchObject({
        status: 'failed',
        fix: 'Grant Monitoring Metrics Publisher (3913510d-42f4-4e42-8a64-420c390055eb) on the App Insights resource to user-assigned managed identity 11111111-2222-3333-4444-555555555555.',
      });
    });

    it('names Log Analytics Reader on the workspace when the query answers 403 InsufficientAccessError', async () => {
      logs.setHandler(() => LOGS_FORBIDDEN);
      const checks = await runDoctor(ports(env()));
      expect(byName(checks)['App Insights ingestion']!.status).toBe('ok');
      expect(byName(checks)['Logs query finds the record']).toEqual({
        name: 'Logs query finds the record',
        status: 'failed',
        detail: 'the Logs query API answered 403 InsufficientAccessError',
        fix: `Grant Log Analytics Reader (73c42c96-874c-492b-b04d-ab87d138a893) on the Log Analytics workspace ${WORKSPACE_ID} to user-assigned managed identity 11111111-2222-3333-4444-555555555555.`,
      });
    });

    it('states the ingestion delay when the record is not queryable within the wait', async () => {
      logs.setHandler(() => ({ status: 200, body: { tables: [logsTable([['Count', 'long']], [[0]])] } }));
      const queriesBefore = logs.queries.length;
      const check = byName(await runDoctor(ports(env())))['Logs query finds the record']!;
      expect(check.status).toBe('failed');
      expect(check.detail).toMatch(/^the query ran \(read access works\) but marker doctor-\S+ was not found within 3 s; App Insights ingestion usually takes 20 s to 3 min/);
      // Polled more than once, and a bounded number of times (3 s / 50 ms).
      const polls = logs.queries.length - queriesBefore - 1;
      expect(polls).toBeGreaterThan(1);
      expect(polls).toBeLessThanOrEqual(61);
    });
  });

  describe('gateway-logs source', () => {
    it('fails with the diagnostic setting to add when the workspace has no gateway log rows for the API', async () => {
      gatewayRows = 0;
      const check = byName(await runDoctor(ports(env())))['gateway logs (all-traffic source)']!;
      expect(check).toMatchObject({ status: 'failed', detail: 'no gateway log rows for API openai in the last day' });
      expect(check.fix).toBe(
        `Add a diagnostic setting on ${SERVICE_ID} sending the GatewayLogs category to workspace ${WORKSPACE_ID} with the resource-specific destination table (ApiManagementGatewayLogs); rows appear minutes after the API's next calls.`,
      );
      const query = logs.queries.find((received) => received.query.startsWith('ApiManagementGatewayLogs'))!;
      expect(query.query).toBe(`ApiManagementGatewayLogs | where ApiId == 'openai' | count`);
      // The last day: the query's timespan is the ISO 8601 duration P1D.
      const raw = logs.server.requests.find((request) => request.text.includes('ApiManagementGatewayLogs'))!;
      expect(JSON.parse(raw.text)).toMatchObject({ timespan: 'P1D' });
    });

    it('names Log Analytics Reader on the workspace when the query answers 403', async () => {
      logs.setHandler((query) => (query.query.startsWith('ApiManagementGatewayLogs') ? LOGS_FORBIDDEN : logsHandler(query)));
      const check = byName(await runDoctor(ports(env())))['gateway logs (all-traffic source)']!;
      expect(check.fix).toMatch(/^Grant Log Analytics Reader \(73c42c96-874c-492b-b04d-ab87d138a893\) on the Log Analytics workspace /);
    });

    it('is skipped when another all-traffic source is configured', async () => {
      const before = logs.queries.length;
      const checks = await runDoctor(ports(env({ ALL_TRAFFIC_SOURCE: undefined })));
      expect(byName(checks)['gateway logs (all-traffic source)']).toMatchObject({ status: 'skipped' });
      expect(logs.queries.slice(before).some((query) => query.query.startsWith('ApiManagementGatewayLogs'))).toBe(false);
    });
  });

  it('names the reader role, the service and the identity when ARM answers 403 AuthorizationFailed', async () => {
    arm.script({ method: 'GET', resource: 'openai-instance-backend-pool', action: { kind: 'respond', status: 403, body: AUTHORIZATION_FAILED_READ } });
    const check = byName(await runDoctor(ports(env())))['APIM pool (ARM read)']!;
    expect(check).toEqual({
      name: 'APIM pool (ARM read)',
      status: 'failed',
      detail: 'ARM answered 403 AuthorizationFailed for GET backends/openai-instance-backend-pool',
      fix:
        'Grant API Management Service Reader Role (71522526-b88f-4d52-b57f-d31fc3546d0d) on /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim-lab/providers/Microsoft.ApiManagement/service/apim-nov26 to user-assigned managed identity 11111111-2222-3333-4444-555555555555.',
    });
  });

  it('names the contributor role in deploy mode', async () => {
    arm.script({ method: 'GET', resource: 'openai-instance-backend-pool', action: { kind: 'respond', status: 403, body: AUTHORIZATION_FAILED_READ } });
    const check = byName(await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' }))))['APIM pool (ARM read)']!;
    expect(check.fix).toMatch(/^Grant API Management Service Contributor \(312a565d-c81f-4fd8-895a-4e21e48d571c\) on /);
  });

  it('reports a policy read refused with 403 with the reader role', async () => {
    arm.script({ method: 'GET', resource: 'policy', action: { kind: 'respond', status: 403, body: AUTHORIZATION_FAILED_READ } });
    const check = byName(await runDoctor(ports(env())))['API policy']!;
    expect(check.status).toBe('failed');
    expect(check.fix).toMatch(/^Grant API Management Service Reader Role \(71522526-b88f-4d52-b57f-d31fc3546d0d\)/);
  });

  it('fails the policy check when the API does not route to the pool', async () => {
    arm.policies.set('openai', '<policies><inbound><base /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>');
    const check = byName(await runDoctor(ports(env())))['API policy']!;
    expect(check).toMatchObject({ status: 'failed', fix: 'Add <set-backend-service backend-id="openai-instance-backend-pool" /> to the inbound policy of API openai.' });
  });

  it('fails the pool check in verify-only mode when the pool is not deployed, and passes it in deploy mode', async () => {
    arm.reset();
    arm.policies.set('openai', POLICY);
    expect(byName(await runDoctor(ports(env())))['APIM pool (ARM read)']!.status).toBe('failed');
    expect(byName(await runDoctor(ports(env({ DEPLOY_MODE: 'deploy' }))))['APIM pool (ARM read)']!.status).toBe('ok');
  });

  it('says the subscription key is refused when the gateway answers 401, and never prints the key', async () => {
    gateway.setScript(() => ({ type: 'json', status: 401, body: { statusCode: 401, message: 'Access denied due to invalid subscription key.' } }));
    const checks = await runDoctor(ports(env()));
    expect(byName(checks)['gateway probe']).toMatchObject({ status: 'failed', fix: expect.stringMatching(/^Set APIM_SUBSCRIPTION_KEY to a valid key/) });
    expect(printed(checks)).not.toContain(SUBSCRIPTION_KEY);
  });

  it('fails the probe when no member matches the identifying header', async () => {
    gateway.setScript(() => ({ type: 'json', region: 'North Europe', body: chatCompletion() }));
    expect(byName(await runDoctor(ports(env())))['gateway probe']).toMatchObject({ status: 'failed', detail: 'answered 200, but no member matched the x-ms-region header' });
  });

  it('detects a Key Vault reference that reached the app unresolved, names the role, and stops there', async () => {
    const reference = '@Microsoft.KeyVault(VaultName=kv-apv-x;SecretName=apim-subscription-key)';
    const probesBefore = gateway.requests.length;
    const checks = await runDoctor(ports(env({ APIM_SUBSCRIPTION_KEY: reference })));
    expect(checks[0]).toMatchObject({
      name: 'Key Vault references',
      status: 'failed',
      detail: 'APIM_SUBSCRIPTION_KEY reached the app as the literal @Microsoft.KeyVault(...) text: the reference did not resolve.',
      fix: expect.stringContaining('Key Vault Secrets User (4633458b-17de-408a-b874-0445c86b69e6)'),
    });
    expect(checks.filter((check) => check.status === 'skipped').map((check) => check.name)).toEqual([
      'pool definition',
      'APIM pool (ARM read)',
      'API policy',
      'gateway probe',
      'Table Storage (state table read/write)',
      'Queue Storage (probe-runs read/write)',
      'App Insights ingestion',
      'Logs query finds the record',
      'gateway logs (all-traffic source)',
    ]);
    expect(arm.requests).toHaveLength(0);
    expect(gateway.requests).toHaveLength(probesBefore);
  });

  it('names every required Azure setting that is missing inside a Function App', async () => {
    const checks = await runDoctor(ports(env({ WEBSITE_SITE_NAME: 'func-apv-x', APPLICATIONINSIGHTS_CONNECTION_STRING: undefined, LOGS_SOURCE: undefined, LOGS_WORKSPACE_ID: undefined, LOGS_ENDPOINT: undefined, ALL_TRAFFIC_SOURCE: undefined })));
    const check = byName(checks)['required settings']!;
    expect(check.status).toBe('failed');
    expect(check.detail).toBe(
      'missing: AzureWebJobsStorage__accountName, APPLICATIONINSIGHTS_CONNECTION_STRING, LOGS_SOURCE',
    );
  });

  it('accepts AzureWebJobsStorage__tableServiceUri with __queueServiceUri in place of __accountName inside a Function App', async () => {
    const checks = await runDoctor(ports(env({
      WEBSITE_SITE_NAME: 'func-apv-x',
      AzureWebJobsStorage__tableServiceUri: 'https://stapvx.table.core.windows.net',
      AzureWebJobsStorage__queueServiceUri: 'https://stapvx.queue.core.windows.net',
    })));
    expect(byName(checks)['required settings']).toEqual({ name: 'required settings', status: 'ok', detail: '6 present' });
  });

  it('reports every problem of a definition folder in the pool definition line, and skips what needs the pools', async () => {
    definitions = () => {
      throw new DefinitionError([{ path: 'a.json: $.pool.name', message: 'is required' }, { path: 'b.json: $.pool.backends', message: 'must not be empty' }], 'fleet', { subject: 'the pool definitions of the folder (2 files)' });
    };
    const checks = await runDoctor(ports(env({ POOL_DEFINITION_PATH: 'fleet' })));
    const check = byName(checks)['pool definition']!;
    expect(check).toMatchObject({ status: 'failed', fix: 'Fix the file or folder POOL_DEFINITION_PATH names (fleet).' });
    expect(check.detail).toContain('a.json: $.pool.name');
    expect(check.detail).toContain('b.json: $.pool.backends');
    expect(byName(checks)['gateway probe']).toMatchObject({ status: 'skipped', detail: 'needs pool definition first' });
  });

  it('reports bad settings by name without echoing a secret', async () => {
    const checks = await runDoctor(ports(env({ PROBE_MAX_REQUESTS: 'many', APIM_SUBSCRIPTION_KEY: undefined })));
    const settings = byName(checks).settings!;
    expect(settings.status).toBe('failed');
    expect(settings.detail).toContain('PROBE_MAX_REQUESTS');
    expect(printed(checks)).not.toContain(SUBSCRIPTION_KEY);
  });
});
