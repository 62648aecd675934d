import type { RetryPolicy } from './gateway';

/** What the emulated gateway takes from an API policy. */
export interface GatewayPolicy {
  /** `set-backend-service backend-id` in inbound; undefined when absent. */
  readonly backendId: string | undefined;
  /** The `retry` around forward-request; null when there is none. */
  readonly retry: RetryPolicy | null;
  /** True when on-error answers a 503 itself (`set-status code="503"`), hiding the pool's own 503. */
  readonly hidesPool503: boolean;
  /** Header set in outbound to `@(context.Request.Url.Host)`; undefined when absent. */
  readonly backendHostHeader: string | undefined;
}

function section(xml: string, name: string): string {
  const match = new RegExp(`<${name}\\b[^>]*>([\\s\\S]*?)</${name}>`, 'i').exec(xml);
  return match?.[1] ?? '';
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag);
  return match?.[1];
}

function decodeXml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Reads the parts of an API policy the emulator acts on. This is not a policy engine: C# expressions are
 * not evaluated. A retry `condition` is reduced to the status codes it compares with `StatusCode == NNN`
 * (the lab's 429/503 condition; a 503 never matches the pool's own 503, which ends in on-error);
 * `interval` is in seconds as in APIM.
 */
export function readGatewayPolicy(xml: string): GatewayPolicy {
  const inbound = section(xml, 'inbound');
  const backend = section(xml, 'backend');
  const outbound = section(xml, 'outbound');
  const onError = section(xml, 'on-error');
  const setBackend = /<set-backend-service\b[^>]*>/i.exec(inbound)?.[0];
  const retryTag = /<retry\b[^>]*>/i.exec(backend)?.[0];
  let retry: RetryPolicy | null = null;
  if (retryTag) {
    const condition = decodeXml(attribute(retryTag, 'condition') ?? '');
    const statusCodes = [...condition.matchAll(/StatusCode\s*==\s*(\d{3})/g)].map((match) => Number(match[1]));
    const count = Number(attribute(retryTag, 'count') ?? '0');
    const intervalInSeconds = Number(attribute(retryTag, 'interval') ?? '0');
    retry = {
      count: Number.isInteger(count) && count >= 0 ? Math.min(count, 50) : 0,
      intervalInMs: Number.isFinite(intervalInSeconds) && intervalInSeconds > 0 ? Math.min(intervalInSeconds, 300) * 1000 : 0,
      firstFastRetry: (attribute(retryTag, 'first-fast-retry') ?? 'false').toLowerCase() === 'true',
      statusCodes: [...new Set(statusCodes)],
    };
  }
  const hostHeader = [...outbound.matchAll(/<set-header\b([^>]*)>\s*<value>\s*@\(\s*context\.Request\.Url\.Host\s*\)\s*<\/value>/gi)][0]?.[1];
  return {
    backendId: setBackend ? attribute(setBackend, 'backend-id') : undefined,
    retry,
    hidesPool503: /<set-status\b[^>]*\bcode\s*=\s*"503"/i.test(onError),
    backendHostHeader: hostHeader ? attribute(hostHeader, 'name') : undefined,
  };
}
