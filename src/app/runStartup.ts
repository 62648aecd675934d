import { createHash, randomUUID } from 'node:crypto';
import { checkPolicy } from '../lib/deploy/checkPolicy';
import { deployPool } from '../lib/deploy/deployPool';
import type { DeployOutcome, PolicyFinding } from '../lib/deploy/types';
import type { StartupRecord } from '../lib/state/types';
import { withLease } from '../lib/state/withLease';
import { ensureError } from '../lib/util/errors';
import type { Services } from './createServices';
import { scheduleWarning } from './scheduleWarning';

/** What start-up did. */
export interface StartupOutcome {
  readonly deploy: DeployOutcome;
  readonly policy: readonly PolicyFinding[];
}

/**
 * Start-up work: warn about a schedule that fires less than once a day, deploy the pool definition (single
 * backends, then the pool; idempotent) and check the API policy. Never throws: a failed deploy is kept in the store and shown in the report, and the app keeps running.
 */
export async function runStartup(services: Services, log: (line: string) => void, signal?: AbortSignal): Promise<StartupOutcome> {
  const startedAt = new Date().toISOString();
  const { settings, declaredPool, arm } = services;
  const rare = scheduleWarning(settings.probe.schedule);
  if (rare !== undefined) log(`Warning: ${rare}.`);
  let deploy: DeployOutcome;
  if (!arm) {
    deploy = skipped(settings.deploy.mode, startedAt, 'No APIM service is configured (apim section or APIM_SUBSCRIPTION_ID/APIM_RESOURCE_GROUP/APIM_SERVICE_NAME): nothing deployed.');
  } else if (!settings.deploy.onStartup && settings.deploy.mode === 'deploy') {
    deploy = skipped('deploy', startedAt, 'DEPLOY_ON_STARTUP is false: nothing deployed at start-up.');
  } else {
    try {
      deploy = await deployPool(declaredPool, {
        client: arm.client,
        location: arm.location,
        mode: settings.deploy.mode,
        deadlineInMs: settings.deploy.deadlineInSeconds * 1000,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      deploy = { ...skipped(settings.deploy.mode, startedAt, 'Deploy failed unexpectedly.'), status: 'failed', error: { message: ensureError(error).message } };
    }
  }
  await services.state.saveDeployOutcome(declaredPool.name, deploy);
  log(`Deploy (${deploy.mode}): ${deploy.status} — ${deploy.summary}`);

  let policy: PolicyFinding[] = [];
  if (arm?.location.apiId) {
    try {
      const xml = await arm.client.getApiPolicy(arm.location, arm.location.apiId, signal);
      policy = xml === null
        ? [{ code: 'no-policy', message: `API "${arm.location.apiId}" has no policy: nothing routes it to the pool.` }]
        : checkPolicy(xml, declaredPool.name, { memberCount: declaredPool.backends.length });
    } catch (error) {
      policy = [{ code: 'policy-unreadable', message: `Could not read the policy of API "${arm.location.apiId}": ${ensureError(error).message}` }];
    }
    for (const finding of policy) log(`Policy warning (${finding.code}): ${finding.message}`);
  }
  return { deploy, policy };
}

function skipped(mode: DeployOutcome['mode'], startedAt: string, summary: string): DeployOutcome {
  return { mode, status: 'skipped', startedAt, finishedAt: new Date().toISOString(), actions: [], summary };
}

/** The start-up lease outlives a dead holder by this much (a deploy makes N+1 ARM calls with 30 s timeouts). */
const STARTUP_LEASE_TTL_IN_MS = 60_000;
/** A failed deploy is retried by a later timer run after this long (a transient ARM error must not stick). */
const FAILED_STARTUP_RETRY_IN_MS = 15 * 60_000;

/**
 * What identifies "the same start-up": the resolved definition, the deploy mode, whether start-up deploys at all,
 * and where the APIM service is. Any change makes the next start-up run again; a cold start with the same
 * definition does not.
 */
export function definitionHash(services: Pick<Services, 'declaredPool' | 'settings' | 'arm'>): string {
  const { declaredPool, settings, arm } = services;
  const text = JSON.stringify({ pool: declaredPool, mode: settings.deploy.mode, onStartup: settings.deploy.onStartup, location: arm?.location ?? null });
  return createHash('sha256').update(text).digest('hex');
}

/** What {@link ensureStartup} did. */
export type EnsureStartupResult =
  | { readonly ran: true; readonly record: StartupRecord }
  | { readonly ran: false; readonly reason: string; readonly record: StartupRecord | null };

/**
 * Runs the start-up step (deploy, or the verify-only read, plus the policy check) once per definition across all
 * instances: skipped when the shared state already holds a record for this definition's hash (a failed one is
 * retried after 15 minutes), and otherwise done behind the `startup` lease, so two instances starting together
 * deploy once. Never throws for a failed deploy (it is recorded and shown in the report).
 */
export async function ensureStartup(services: Services, log: (line: string) => void, nowMs: () => number = Date.now): Promise<EnsureStartupResult> {
  const hash = definitionHash(services);
  const pool = services.declaredPool.name;
  const current = async (): Promise<StartupRecord | null> => {
    const record = await services.state.lastStartupRecord(pool);
    if (record === null || record.definitionHash !== hash) return null;
    const failedLongAgo = record.deploy.status === 'failed' && nowMs() - Date.parse(record.deploy.finishedAt) > FAILED_STARTUP_RETRY_IN_MS;
    return failedLongAgo ? null : record;
  };
  const existing = await current();
  if (existing) return { ran: false, reason: `already done for this definition by ${existing.by}`, record: existing };

  const leased = await withLease(
    { state: services.state, name: 'startup', owner: `${services.instanceId}/${randomUUID()}`, ttlInMs: STARTUP_LEASE_TTL_IN_MS, now: nowMs, log },
    async (signal) => {
      // Checked again under the lease: another instance may have finished between the first read and the lease.
      const done = await current();
      if (done) return { ran: false as const, reason: `already done for this definition by ${done.by}`, record: done };
      const outcome = await runStartup(services, log, signal);
      const record: StartupRecord = { definitionHash: hash, deploy: outcome.deploy, policy: outcome.policy, by: services.instanceId };
      await services.state.saveStartupRecord(pool, record);
      return { ran: true as const, record };
    },
  );
  if (!leased.held) return { ran: false, reason: 'another instance is running the start-up step', record: null };
  return leased.value;
}
