import { createHash } from 'node:crypto';
import type { AlertStateStore } from '../alerts/stateStore';
import type { ApimLocation } from '../pool/types';
import type { EvidenceSource, ProbeSink } from '../store/types';
import type { SharedState } from './types';

/**
 * What a pool's evidence belongs to: the gateway it is probed through and the APIM service it is read from. Two
 * verifiers watching pools of the same name through different gateways (the embedded demo and a real APIM, or
 * two APIM services) keep their runs, deploys, drift and alerts apart (issue 16: keyed by pool name alone, the
 * demo's evidence showed up in a real gateway's report).
 */
export interface EvidenceScope {
  /** `embedded` for the emulator (its port changes every start), else 12 hex digits of sha256(gateway|service). */
  readonly id: string;
  /** The key stored for `pool`: `<pool>@<id>`. */
  key(pool: string): string;
  /** The pool name back from a stored key (a key of another scope is returned unchanged). */
  poolOf(key: string): string;
}

/** The scope of a gateway URL and (when known) an APIM service; `embedded` when the emulator is the gateway. */
export function evidenceScope(target: { embedded: true } | { embedded: false; gatewayUrl: string; apim: Pick<ApimLocation, 'subscriptionId' | 'resourceGroup' | 'serviceName'> | undefined }): EvidenceScope {
  const id = target.embedded
    ? 'embedded'
    : createHash('sha256')
        .update(
          [
            target.gatewayUrl.toLowerCase(),
            target.apim ? `/subscriptions/${target.apim.subscriptionId}/resourceGroups/${target.apim.resourceGroup}/providers/Microsoft.ApiManagement/service/${target.apim.serviceName}`.toLowerCase() : '',
          ].join('|'),
        )
        .digest('hex')
        .slice(0, 12);
  const suffix = `@${id}`;
  return {
    id,
    key: (pool) => `${pool}${suffix}`,
    poolOf: (key) => (key.endsWith(suffix) ? key.slice(0, -suffix.length) : key),
  };
}

/**
 * The shared state seen through a scope: callers pass pool names, the store sees scoped keys. Lease names are scoped
 * too, and per pool when `pool` is given: pools of one fleet behind the same gateway never wait for each other's run.
 */
export function scopeSharedState<T extends SharedState>(state: T, scope: EvidenceScope, pool?: string): SharedState {
  const lease = (name: string): string => (pool === undefined ? `${name}:${scope.id}` : `${name}:${scope.key(pool)}`);
  return {
    tryAcquireLock: (name, owner, ttl, now) => state.tryAcquireLock(lease(name), owner, ttl, now),
    renewLock: (name, owner, ttl, now) => state.renewLock(lease(name), owner, ttl, now),
    releaseLock: (name, owner) => state.releaseLock(lease(name), owner),
    markAbandonedRuns: (now, olderThan, pool) => state.markAbandonedRuns(now, olderThan, pool === undefined ? undefined : scope.key(pool)),
    touchRun: (runId, now) => state.touchRun?.(runId, now),
    beginRun: (run) => state.beginRun({ ...run, pool: scope.key(run.pool) }),
    finishRun: (summary) => state.finishRun(summary),
    recentRuns: async (pool, limit) => (await state.recentRuns(scope.key(pool), limit)).map((run) => ({ ...run, pool: scope.poolOf(run.pool) })),
    saveDeployOutcome: (pool, outcome) => state.saveDeployOutcome(scope.key(pool), outcome),
    lastDeployOutcome: (pool) => state.lastDeployOutcome(scope.key(pool)),
    saveConfigDrift: (pool, report) => state.saveConfigDrift(scope.key(pool), report),
    lastConfigDrift: (pool) => state.lastConfigDrift(scope.key(pool)),
    saveStartupRecord: (pool, record) => state.saveStartupRecord(scope.key(pool), record),
    lastStartupRecord: (pool) => state.lastStartupRecord(scope.key(pool)),
  };
}

/** A probe sink + evidence source (the local store) seen through a scope. */
export function scopeEvidenceStore(store: ProbeSink & EvidenceSource, scope: EvidenceScope): ProbeSink & EvidenceSource {
  return {
    beginRun: (run) => store.beginRun({ ...run, pool: scope.key(run.pool) }),
    recordProbe: (record) => store.recordProbe(record),
    finishRun: (summary) => store.finishRun(summary),
    recordVerdict: (verdict) => store.recordVerdict({ ...verdict, pool: scope.key(verdict.pool) }),
    flush: () => store.flush(),
    readWindow: (pool, window, binInMs, signal) => store.readWindow(scope.key(pool), window, binInMs, signal),
  };
}

/** Alert state seen through a scope (one incident per pool *and* gateway). */
export function scopeAlertStore(store: AlertStateStore, scope: EvidenceScope): AlertStateStore {
  return {
    async read(pool) {
      const found = await store.read(scope.key(pool));
      return found === null ? null : { ...found, state: { ...found.state, pool: scope.poolOf(found.state.pool) } };
    },
    write: (state, etag) => store.write({ ...state, pool: scope.key(state.pool) }, etag),
    appendLog: (entry) => store.appendLog({ ...entry, pool: scope.key(entry.pool) }),
    recent: async (pool, limit) => (await store.recent(scope.key(pool), limit)).map((entry) => ({ ...entry, pool: scope.poolOf(entry.pool) })),
  };
}
