import { evidenceScope, scopeEvidenceStore, scopeSharedState } from '../../../src/lib/state/evidenceScope';
import { openSqliteStore } from '../../../src/lib/store/sqliteStore';

/**
 * Issue 16: one local store used by the embedded demo and by a real gateway. Keyed by pool name alone, the demo's
 * evidence showed up in the real gateway's report; keyed by pool and gateway, each sees only its own.
 */
it('keeps the demo\'s probes, runs and deploy records out of a real gateway\'s view of the same pool', async () => {
  const store = openSqliteStore(':memory:');
  try {
    const demo = evidenceScope({ embedded: true });
    const real = evidenceScope({ embedded: false, gatewayUrl: 'https://apim-prod.azure-api.net/openai', apim: { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg', serviceName: 'apim-prod' } });
    const otherService = evidenceScope({ embedded: false, gatewayUrl: 'https://apim-prod.azure-api.net/openai', apim: { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg', serviceName: 'apim-other' } });
    expect(new Set([demo.id, real.id, otherService.id]).size).toBe(3);

    const demoSink = scopeEvidenceStore(store, demo);
    const T0 = Date.UTC(2026, 11, 1, 4, 0, 0);
    await demoSink.beginRun({ runId: 'demo-1', pool: 'pool-a', startedAtMs: T0, trigger: 'timer' });
    await demoSink.recordProbe({ runId: 'demo-1', probeIndex: 0, startedAtMs: T0 + 1, latencyInMs: 10, kind: 'ok', status: 200, backend: 'west', identifierValue: 'West US', totalTokens: 9, errorCode: null });
    scopeSharedState(store, demo).saveDeployOutcome('pool-a', { mode: 'deploy', status: 'succeeded', startedAt: 'a', finishedAt: 'b', actions: [], summary: 'demo deploy' });

    const window = { fromMs: T0, toMs: T0 + 60_000 };
    expect((await demoSink.readWindow('pool-a', window, 60_000)).total).toBe(1);
    expect((await scopeEvidenceStore(store, real).readWindow('pool-a', window, 60_000)).total).toBe(0);
    expect(await scopeSharedState(store, real).recentRuns('pool-a', 10)).toEqual([]);
    expect(await scopeSharedState(store, real).lastDeployOutcome('pool-a')).toBeNull();
    expect((await scopeSharedState(store, demo).recentRuns('pool-a', 10)).map((r) => [r.runId, r.pool])).toEqual([['demo-1', 'pool-a']]);
  } finally {
    store.close();
  }
});
