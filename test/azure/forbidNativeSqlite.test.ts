import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * The guard the multi-instance tests run their app processes under: with it preloaded, resolving `better-sqlite3`
 * throws, so "the azure environment never loads the native addon" is proven by those processes working at all.
 * This checks the guard itself bites (a guard that never fires would prove nothing).
 */
const APP_ROOT = path.resolve(__dirname, '..', '..');
const GUARD = path.join(APP_ROOT, 'test', 'azure', 'support', 'forbidNativeSqlite.js');

it('makes requiring better-sqlite3 fail, and leaves every other module alone', () => {
  const script = `
    let sqlite = 'loaded';
    try { require('better-sqlite3'); } catch (error) { sqlite = error.message; }
    require('@azure/data-tables');
    process.stdout.write(sqlite);`;
  const result = spawnSync(process.execPath, ['-r', GUARD, '-e', script], { cwd: APP_ROOT, encoding: 'utf8', timeout: 30_000 });
  expect(result.status).toBe(0);
  expect(result.stdout).toBe('better-sqlite3 must not be loaded in the azure environment (forbidden by forbidNativeSqlite.js)');
});

it('makes the local environment (which needs SQLite) fail to start under it', () => {
  const script = `
    require(${JSON.stringify(path.join(APP_ROOT, 'src', 'app', 'createServices.ts'))})
      .createServices({ VERIFIER_ENVIRONMENT: 'local', STORE_PATH: ':memory:', APIM_GATEWAY_URL: 'http://127.0.0.1:9/openai', APIM_SUBSCRIPTION_KEY: 'k' }, { appRoot: ${JSON.stringify(APP_ROOT)} })
      .then(() => process.stdout.write('started'), (error) => process.stdout.write(error.message));`;
  const result = spawnSync(process.execPath, ['-r', path.join(APP_ROOT, 'test', 'faults', 'tsRegister.js'), '-r', GUARD, '-e', script], { cwd: APP_ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(result.stdout).toMatch(/better-sqlite3 must not be loaded/);
});
