import type { EvidenceSource, WindowEvidence } from '../../../src/lib/store/types';
import { createTrafficProbeGate } from '../../../src/lib/telemetry/createTrafficProbeGate';
import { emptyEvidence } from '../../../src/lib/verifier/runVerificationCycle';
import { labPool } from './labPool';

const NOW = Date.UTC(2026, 10, 25, 2, 0, 0);
const pool = labPool();

/** Real-traffic evidence of the last hour with these 2xx answers per member (lab pool: weights 2:1). */
function traffic(first: number, second: number, degraded?: string): EvidenceSource {
  return {
    async readWindow(_pool, window, binInMs): Promise<WindowEvidence> {
      const base = emptyEvidence(window, binInMs, 'x');
      return {
        ...base,
        source: 'all-traffic',
        total: first + second,
        answered: first + second,
        backends: [
          { backend: 'openai-instance1', answered: first, errorsByStatus: {}, latencyP50InMs: null, latencyP95InMs: null },
          { backend: 'openai-instance2', answered: second, errorsByStatus: {}, latencyP50InMs: null, latencyP95InMs: null },
        ],
        degraded,
      };
    },
  };
}

const gate = (source: EvidenceSource) =>
  createTrafficProbeGate({ source, pool, alpha: 2e-4, toleranceInPoints: 5, binInMs: 300_000, now: () => NOW });

describe('createTrafficProbeGate', () => {
  it('skips probing while an hour of real traffic conclusively follows the weights', async () => {
    const decision = await gate(traffic(4000, 2000))();
    expect(decision.skip).toBe(true);
    expect(decision.reason).toMatch(/conclusive and within tolerance \(6000 answers\): no synthetic probes needed/);
  });

  it('probes when real traffic is too thin to decide', async () => {
    expect(await gate(traffic(20, 10))()).toEqual({ skip: false, reason: 'real traffic of the last hour is inconclusive; probing' });
  });

  it('probes when real traffic shows drift, so the probes confirm it and drive the alert', async () => {
    expect(await gate(traffic(3000, 3000))()).toEqual({ skip: false, reason: 'real traffic of the last hour is drift; probing' });
  });

  it('probes when the logs are incomplete or cannot be read', async () => {
    expect((await gate(traffic(4000, 2000, 'trafficBins timed out'))()).skip).toBe(false);
    const failing: EvidenceSource = {
      readWindow: async () => {
        throw new Error('Log query trafficSummary failed with HTTP 403');
      },
    };
    const decision = await gate(failing)();
    expect(decision).toEqual({ skip: false, reason: 'real traffic could not be read (Log query trafficSummary failed with HTTP 403); probing' });
  });
});
