import { assembleReport } from '../../../src/lib/verifier/assembleReport';
import { labPool } from '../report/fixtures';
import { evidenceOf } from '../stats/evidence';

function assemble(probesPerRun: number) {
  return assembleReport({
    pool: labPool(),
    windows: [{ name: 'run', evidence: evidenceOf({ 'openai-instance1': 67, 'openai-instance2': 33 }), alpha: 1e-4, description: 'in this run' }],
    primaryWindow: 'run',
    generatedAtMs: 0,
    toleranceInPoints: 5,
    dispersionWarn: 1.25,
    probesPerRun,
    runsPerHour: 12,
    lastDeploy: null,
    configDrift: null,
    policy: [],
    alerts: { state: null, recent: [] },
  });
}

describe('assembleReport budget', () => {
  it('says how many answers the hour window needs to show the 2:1 pool ok, and that 100 probes a run every 5 minutes reach it', () => {
    expect(assemble(100).budget?.equivalence).toEqual({ window: 'hour', toleranceInPoints: 5, power: 0.95, answersNeeded: 1177, probesPerRunNeeded: 99, reachable: true });
    expect(assemble(60).budget?.equivalence).toMatchObject({ answersNeeded: 1177, probesPerRunNeeded: 99, reachable: false });
  });

  it('judges a healthy 100-answer run inconclusive with what it establishes, not "follows its weights"', () => {
    const report = assemble(100);
    expect(report.status).toBe('inconclusive');
    expect(report.headline).toMatch(/^Inconclusive for openai-instance-backend-pool \(100 answers in this run\): no backend is missing: no share is off by more than \d+(\.\d)? points/);
    expect(report.headline).toMatch(/more answers needed to confirm\.$/);
    expect(report.windows[0]).toMatchObject({ decidedBy: 'fixed-n', deadBackendRuledOut: true });
  });
});
