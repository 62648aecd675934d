import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { disposeServices, getFleet } from '../../src/app/appState';
import { createFleet } from '../../src/app/createFleet';
import { configureServicesExplicitly } from '../../src/app/defaultServices';
import type { EmbeddedEnvironment } from '../../src/emulator/startEmbeddedEnvironment';
import { HttpRequest, InvocationContext } from '@azure/functions';
import labPool from '../../examples/lab-pool.json';
import { APP_ROOT } from '../corpus/support';
import { deployLabPool } from '../support/deployLabPool';
import { getReport, logs, registerFunctions, registry, runTimer, startLab } from '../faults/harness';

jest.mock('@azure/functions-core', () => require('../../src/local/functionsCoreShim').sharedFunctionsCoreShim, { virtual: true });

/**
 * A fleet end to end on the local environment, through the real functions: a folder of two definitions for pools
 * of the same name in two APIM services (two emulators, each with its own key, named by each definition's own
 * setting). One tick runs both; the report without `?pool=` is the overview; `?pool=` alone is ambiguous, `&service=`
 * picks one; a fault on one service opens an incident for that pool only; health summarises the fleet.
 */

const POOL = labPool.pool.name;
let west: EmbeddedEnvironment;
let east: EmbeddedEnvironment;
let dir: string;
let services: { a: string; b: string };

async function health(): Promise<{ status: number; body: Record<string, unknown> }> {
  const fn = registry.functions.get('health');
  if (!fn) throw new Error('health was not registered');
  const context = new InvocationContext({ functionName: 'health', logHandler: () => undefined });
  const response = (await fn.handler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }), context)) as { status: number; jsonBody: Record<string, unknown> };
  return { status: response.status, body: response.jsonBody };
}

beforeAll(async () => {
  await registerFunctions();
  west = await startLab({ seed: 3 });
  east = await startLab({ seed: 4 });
  await deployLabPool(west, 2, 1);
  await deployLabPool(east, 2, 1);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apv-fleet-'));
  const definition = (gatewayUrl: string, keySetting: string): string =>
    JSON.stringify({ ...labPool, $schema: undefined, gateway: { url: gatewayUrl, subscriptionKeySetting: keySetting } });
  fs.writeFileSync(path.join(dir, 'a.json'), definition(west.gatewayUrl, 'APIM_KEY_WEST'));
  fs.writeFileSync(path.join(dir, 'b.json'), definition(east.gatewayUrl, 'APIM_KEY_EAST'));
  // The services of the two pools: their gateways' host and port (no `apim` section in the definitions).
  services = { a: new URL(west.gatewayUrl).host, b: new URL(east.gatewayUrl).host };
  await disposeServices();
  configureServicesExplicitly(() =>
    createFleet(
      {
        POOL_DEFINITION_PATH: dir,
        APIM_KEY_WEST: west.subscriptionKey,
        APIM_KEY_EAST: east.subscriptionKey,
        STORE_PATH: ':memory:',
        PROBE_MAX_REQUESTS: '60',
        PROBE_CONCURRENCY: '4',
        PROBE_TIMEOUT_MS: '2000',
        REPORT_PRIMARY_WINDOW: 'run',
      },
      { appRoot: APP_ROOT },
    ),
  );
});

afterAll(async () => {
  await disposeServices();
  await west?.close();
  await east?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a fleet of two pools with one name in two APIM services', () => {
  it('builds one set of services per definition, each with its own gateway, key and service', async () => {
    const fleet = await getFleet();
    expect(fleet.pools.map((pool) => [pool.declaredPool.name, pool.service, pool.gateway.url])).toEqual([
      [POOL, services.a, west.gatewayUrl],
      [POOL, services.b, east.gatewayUrl],
    ]);
    expect(fleet.pools[0]?.gateway.subscriptionKey).toBe(west.subscriptionKey);
    expect(fleet.pools[1]?.gateway.subscriptionKey).toBe(east.subscriptionKey);
  });

  it('one tick runs every pool through the queue, each through its own gateway with its own key', async () => {
    const before = [west.accessLog.entries().length, east.accessLog.entries().length];
    await runTimer();
    const fleet = await getFleet();
    for (const pool of fleet.pools) {
      const [run] = await pool.state.recentRuns(POOL, 1);
      expect(run).toMatchObject({ state: 'complete' });
    }
    // Each gateway answered its own pool's probes (a wrong key would have been refused with 401: a blind run).
    expect(west.accessLog.entries().length - (before[0] ?? 0)).toBeGreaterThan(0);
    expect(east.accessLog.entries().length - (before[1] ?? 0)).toBeGreaterThan(0);
    expect([...west.accessLog.entries(), ...east.accessLog.entries()].every((entry) => entry.status !== 401)).toBe(true);
    expect(logs.join('\n')).toMatch(/Tick: queued a probe run for 2 of 2 pools\./);
  });

  it('serves the overview without ?pool=, refuses an ambiguous ?pool= and picks one with &service=', async () => {
    const overview = await getReport();
    expect(overview.status).toBe(200);
    const rows = (overview.body as { pools: { pool: string; service: string; link: string | null }[] }).pools;
    expect(rows.map((row) => row.service).sort()).toEqual([services.a, services.b].sort());
    // The name repeats across services, so each row's link names its service.
    for (const row of rows) expect(row.link).toBe(`?pool=${encodeURIComponent(POOL)}&service=${encodeURIComponent(row.service)}`);

    const ambiguous = await getReport({ pool: POOL });
    expect(ambiguous.status).toBe(400);
    expect(JSON.stringify(ambiguous.body)).toMatch(/AmbiguousPool/);

    const one = await getReport({ pool: POOL, service: services.b });
    expect(one.status).toBe(200);
    expect(one.report.pool).toBe(POOL);
    expect(one.report.windows.find((window) => window.name === 'run')?.total).toBeGreaterThan(0);

    const unknown = await getReport({ pool: 'no-such-pool' });
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(unknown.body)).toContain(`${POOL} (${services.a})`);
  });

  it('a fault behind one service opens an incident for that pool only', async () => {
    await east.faults.setFault('East US', { kind: 'down' });
    try {
      await runTimer();
    } finally {
      await east.faults.heal();
    }
    const fleet = await getFleet();
    const [a, b] = fleet.pools;
    expect((await b?.alerts.store.read(POOL))?.state.health).toBe('drift');
    expect((await a?.alerts.store.read(POOL))?.state.health ?? 'ok').toBe('ok');
    const overview = (await getReport()).body as { pools: { service: string; health: string | null }[] };
    // Worst first: the drifting pool heads the overview.
    expect(overview.pools[0]).toMatchObject({ service: services.b, health: 'drift' });
  });

  it('health summarises the fleet with counts, never pool names', async () => {
    const answer = await health();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'ok', pools: { total: 2, ok: 2, stale: 0 } });
    expect(JSON.stringify(answer.body)).not.toContain(POOL);
  });
});
