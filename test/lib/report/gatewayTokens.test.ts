import type { ResolvedPool } from '../../../src/lib/pool/types';
import type { ProbeRecord } from '../../../src/lib/probe/types';
import { renderReportHtml } from '../../../src/lib/report/renderReportHtml';
import { assembleReport } from '../../../src/lib/verifier/assembleReport';
import { evidenceFromRecords } from '../../../src/lib/verifier/evidenceFromRecords';
import { labPool } from './fixtures';

const WINDOW = { fromMs: 0, toMs: 30_000 };

/** `answered` probes split 2:1 (9 tokens each), then `throttled` answers of the gateway's token limit. */
function runRecords(answered: number, throttled: number): ProbeRecord[] {
  const records: ProbeRecord[] = [];
  for (let i = 0; i < answered; i++) {
    const west = i % 3 !== 2;
    records.push({
      runId: 'run',
      probeIndex: i,
      startedAtMs: i * 10,
      latencyInMs: 20,
      kind: 'ok',
      status: 200,
      backend: west ? 'openai-instance1' : 'openai-instance2',
      identifierValue: west ? 'West US' : 'East US',
      totalTokens: 9,
      errorCode: null,
      remainingTokens: 5_000 - 9 * i,
    });
  }
  for (let j = 0; j < throttled; j++) {
    records.push({ runId: 'run', probeIndex: answered + j, startedAtMs: (answered + j) * 10, latencyInMs: 3, kind: 'gateway-throttled', status: 429, backend: null, identifierValue: null, totalTokens: null, errorCode: 'gateway-token-limit', retryAfterSeconds: 6, remainingTokens: 0 });
  }
  return records;
}

function reportOf(records: readonly ProbeRecord[], pool: ResolvedPool = labPool(), probesPerRun = 100) {
  const evidence = evidenceFromRecords(records, pool.backends.map((b) => b.name), WINDOW, 10_000, 'run');
  return assembleReport({
    pool,
    windows: [{ name: 'run', evidence, alpha: 1e-4, description: 'in this run' }],
    primaryWindow: 'run',
    generatedAtMs: WINDOW.toMs,
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

function withLimit(limit: number): ResolvedPool {
  const pool = labPool();
  return { ...pool, probe: { ...pool.probe, tokenLimitPerMinute: limit } };
}

describe('the report on the gateway token limit and the verifier token use', () => {
  it('shows gatewayThrottled in JSON, explains it as the gateway throttling the verifier, and never as an outage or error', () => {
    const report = reportOf(runRecords(0, 3));
    expect(report.gatewayThrottled).toEqual({ count: 3, lastRetryAfterSeconds: 6, remainingTokens: 0 });
    expect(report.status).toBe('inconclusive');
    expect(report.health).toBe('ok');
    expect(report.errors).toEqual({ byStatus: {}, timeout: 0, network: 0 });
    expect(report.findings.map((f) => f.kind)).not.toContain('outage');
    const finding = report.findings.find((f) => f.kind === 'gateway-throttled');
    expect(finding?.message).toBe(
      "The gateway's token limit throttled 3 of the verifier's 3 probes in this run (APIM answered 429 itself, before choosing a backend; last Retry-After 6 s, 0 tokens remaining when last seen): the verifier's probes were refused, not a backend. They are left out of the shares, the errors and the outage check.",
    );
    expect(report.headline).toMatch(/^Inconclusive for openai-instance-backend-pool \(0 answers in this run\): not decided: the gateway's token limit throttled 3 probes of 3 in this run/);
    const parsed = JSON.parse(JSON.stringify(report)) as { gatewayThrottled: unknown };
    expect(parsed.gatewayThrottled).toEqual({ count: 3, lastRetryAfterSeconds: 6, remainingTokens: 0 });
  });

  it('says so on the HTML page, in a section of its own that opens when probes were throttled', () => {
    const html = renderReportHtml(reportOf(runRecords(2, 3)));
    expect(html).toContain('<section id="tokens" aria-labelledby="h-tokens"><h2 id="h-tokens">Gateway token limit and the verifier&#39;s token use</h2>');
    expect(html).toContain(
      "The gateway's token limit throttled 3 of the verifier's 5 probes in this run: APIM answered 429 itself, before choosing a backend, so these are the verifier's probes being refused, not a backend failing.",
    );
    expect(html).toContain('Last Retry-After: 6 s. Remaining tokens when last seen: 0.');
  });

  it('shows the verifier token use per minute and, with a declared limit, warns when one run takes more than 10% of it', () => {
    const quiet = reportOf(runRecords(90, 0), withLimit(10_000), 100);
    expect(quiet.tokenUse).toEqual({
      window: 'run',
      tokensUsed: 810,
      tokensPerMinute: 810,
      tokensPerProbe: 9,
      tokensPerRun: 900,
      limitPerMinute: 10_000,
      runShareOfLimitPercent: 9,
      warnAbovePercent: 10,
    });
    expect(quiet.findings.map((f) => f.kind)).not.toContain('token-budget');
    expect(quiet.gatewayThrottled).toEqual({ count: 0, lastRetryAfterSeconds: null, remainingTokens: 5_000 - 9 * 89 });

    const greedy = reportOf(runRecords(90, 0), withLimit(5_000), 100);
    expect(greedy.tokenUse?.runShareOfLimitPercent).toBe(18);
    expect(greedy.findings.find((f) => f.kind === 'token-budget')?.message).toBe(
      "A full run's probes use about 900 tokens (9 per probe), 18% of the API's token limit of 5,000 per minute: more than 10%, so the verifier competes with real callers for the limit. Send fewer probes per run or give the verifier its own counter-key.",
    );
    const html = renderReportHtml(greedy);
    expect(html).toContain('<strong>810 tokens per minute</strong> (9 per answered probe, about 900 per run)');
    expect(html).toContain("A full run uses 18% of the API's limit of 5,000 tokens per minute (a finding warns above 10%).");
  });

  it('leaves the token fields out when nothing was recorded about tokens', () => {
    const records = runRecords(3, 0).map((r) => ({ ...r, totalTokens: null, remainingTokens: null }));
    const report = reportOf(records);
    expect(report.tokenUse).toBeUndefined();
    expect(report.gatewayThrottled).toBeUndefined();
    expect(renderReportHtml(report)).toContain('No token use recorded: no answer carried usage or a consumed-tokens header.');
  });
});
