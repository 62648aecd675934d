import { checkPolicy } from '../lib/deploy/checkPolicy';
import { deployPool } from '../lib/deploy/deployPool';
import type { DeployOutcome, PolicyFinding } from '../lib/deploy/types';
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
  services.store.saveDeployOutcome(declaredPool.name, deploy);
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
