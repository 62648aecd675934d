import type { WindowEvidence } from '../store/types';
import { countOf, describeWindow, formatCount } from './format';
import type { ReportFinding, ReportGatewayThrottled, ReportTokenUse } from './types';

/** Above this share of the API's tokens-per-minute limit, one run's probes draw a finding (issue 17: "well inside"). */
export const TOKEN_LIMIT_WARN_ABOVE_PERCENT = 10;

const MINUTE_IN_MS = 60_000;

/** The report's `gatewayThrottled` for a window, or undefined when the window has nothing to say about it. */
export function toGatewayThrottled(evidence: WindowEvidence): ReportGatewayThrottled | undefined {
  const g = evidence.gatewayThrottled;
  if (g === undefined || (g.count === 0 && g.remainingTokens === null)) return undefined;
  return { count: g.count, lastRetryAfterSeconds: g.lastRetryAfterSeconds, remainingTokens: g.remainingTokens };
}

/** The report's `tokenUse`: the verifier's own tokens in `window`, against `limitPerMinute` when declared. Pure. */
export function toTokenUse(window: string, evidence: WindowEvidence, probesPerRun: number | undefined, limitPerMinute: number | undefined): ReportTokenUse {
  const minutes = Math.max(1, (evidence.window.toMs - evidence.window.fromMs) / MINUTE_IN_MS);
  const tokensPerProbe = evidence.answered > 0 && evidence.tokensUsed > 0 ? evidence.tokensUsed / evidence.answered : null;
  const tokensPerRun = tokensPerProbe === null || probesPerRun === undefined ? null : Math.ceil(tokensPerProbe * probesPerRun);
  const limit = limitPerMinute ?? null;
  return {
    window,
    tokensUsed: evidence.tokensUsed,
    tokensPerMinute: round1(evidence.tokensUsed / minutes),
    tokensPerProbe: tokensPerProbe === null ? null : round1(tokensPerProbe),
    tokensPerRun,
    limitPerMinute: limit,
    runShareOfLimitPercent: tokensPerRun === null || limit === null ? null : round1((tokensPerRun / limit) * 100),
    warnAbovePercent: TOKEN_LIMIT_WARN_ABOVE_PERCENT,
  };
}

/** Findings about the gateway's token limit: the verifier was throttled, or its runs would use too much of the limit. */
export function gatewayTokenFindings(window: string, evidence: WindowEvidence, tokenUse: ReportTokenUse | undefined): ReportFinding[] {
  const findings: ReportFinding[] = [];
  const throttled = evidence.gatewayThrottled;
  if (throttled !== undefined && throttled.count > 0) {
    const details = [
      throttled.lastRetryAfterSeconds === null ? null : `last Retry-After ${formatCount(throttled.lastRetryAfterSeconds)} s`,
      throttled.remainingTokens === null ? null : `${countOf(throttled.remainingTokens, 'token')} remaining when last seen`,
    ].filter((d): d is string => d !== null);
    findings.push({
      kind: 'gateway-throttled',
      severity: 'warning',
      message:
        `The gateway's token limit throttled ${formatCount(throttled.count)} of the verifier's ${countOf(evidence.total, 'probe')} ${describeWindow(window)}` +
        ` (APIM answered 429 itself, before choosing a backend${details.length > 0 ? `; ${details.join(', ')}` : ''}): the verifier's probes were refused, not a backend. ` +
        'They are left out of the shares, the errors and the outage check.',
    });
  }
  if (tokenUse !== undefined && tokenUse.runShareOfLimitPercent !== null && tokenUse.runShareOfLimitPercent > tokenUse.warnAbovePercent && tokenUse.tokensPerRun !== null && tokenUse.limitPerMinute !== null) {
    findings.push({
      kind: 'token-budget',
      severity: 'warning',
      message:
        `A full run's probes use about ${countOf(tokenUse.tokensPerRun, 'token')} (${formatCount(tokenUse.tokensPerProbe ?? 0)} per probe), ${tokenUse.runShareOfLimitPercent}% of the API's token limit of ` +
        `${formatCount(tokenUse.limitPerMinute)} per minute: more than ${tokenUse.warnAbovePercent}%, so the verifier competes with real callers for the limit. Send fewer probes per run or give the verifier its own counter-key.`,
    });
  }
  return findings;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
