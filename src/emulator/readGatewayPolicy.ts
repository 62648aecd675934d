import type { RetryPolicy } from './gateway';

/** A `<when>` of an inbound `<choose>` that picks the backend by a request header's value. */
export interface HeaderRoute {
  /** Request header compared (case-insensitive name). */
  readonly header: string;
  /** Value that selects this route (exact, case-sensitive, as C#'s `==`). */
  readonly value: string;
  /** `set-backend-service backend-id` inside the `<when>`. */
  readonly backendId: string;
}

/** How the policy resolves the token-limit counter key (policy expressions are not evaluated in general). */
export type CounterKey =
  | { readonly kind: 'subscription' }
  | { readonly kind: 'ip-address' }
  /** A literal value, or an expression the emulator does not evaluate (then the text itself is the key). */
  | { readonly kind: 'constant'; readonly value: string };

/** `<azure-openai-token-limit>` (or `<llm-token-limit>`, the same attributes) in inbound. */
export interface TokenLimitPolicy {
  readonly tokensPerMinute: number;
  readonly counterKey: CounterKey;
  readonly estimatePromptTokens: boolean;
  /** Header carrying the time to wait on a 429; APIM's default is `Retry-After`. */
  readonly retryAfterHeaderName: string;
  readonly remainingTokensHeaderName: string | undefined;
  readonly tokensConsumedHeaderName: string | undefined;
}

/** What the emulated gateway takes from an API policy. */
export interface GatewayPolicy {
  /**
   * `set-backend-service backend-id` in inbound outside any `<choose>`, else the one in the `<otherwise>` of
   * a header-routing `<choose>`; undefined when absent.
   */
  readonly backendId: string | undefined;
  /** Header routes of an inbound `<choose>`, in document order (the first match wins); empty when none. */
  readonly headerRoutes: readonly HeaderRoute[];
  /** The token limit in inbound; null when there is none. */
  readonly tokenLimit: TokenLimitPolicy | null;
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
  const match = new RegExp(`(?:^|\\s)${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag);
  return match?.[1];
}

function decodeXml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function backendIdIn(fragment: string): string | undefined {
  const tag = /<set-backend-service\b[^>]*>/i.exec(fragment)?.[0];
  return tag ? attribute(tag, 'backend-id') : undefined;
}

/** `context.Request.Headers.GetValueOrDefault("x-route", "") == "on-your-data"` (either operand order). */
function headerCondition(condition: string): { header: string; value: string } | undefined {
  const read = String.raw`context\.Request\.Headers\.GetValueOrDefault\(\s*"([^"]+)"\s*(?:,\s*"[^"]*"\s*)?\)`;
  const forward = new RegExp(String.raw`^\s*@\(\s*${read}\s*==\s*"([^"]*)"\s*\)\s*$`).exec(condition);
  if (forward?.[1] !== undefined && forward[2] !== undefined) return { header: forward[1], value: forward[2] };
  const backward = new RegExp(String.raw`^\s*@\(\s*"([^"]*)"\s*==\s*${read}\s*\)\s*$`).exec(condition);
  if (backward?.[1] !== undefined && backward[2] !== undefined) return { header: backward[2], value: backward[1] };
  return undefined;
}

function readCounterKey(raw: string): CounterKey {
  const compact = raw.replace(/\s+/g, '');
  if (compact === '@(context.Subscription.Id)') return { kind: 'subscription' };
  if (compact === '@(context.Request.IpAddress)') return { kind: 'ip-address' };
  return { kind: 'constant', value: raw };
}

function readTokenLimit(inbound: string): TokenLimitPolicy | null {
  const tag = /<(?:azure-openai|llm)-token-limit\b[^>]*>/i.exec(inbound)?.[0];
  if (!tag) return null;
  const tokensPerMinute = Number(attribute(tag, 'tokens-per-minute'));
  if (!Number.isInteger(tokensPerMinute) || tokensPerMinute < 0) return null;
  return {
    tokensPerMinute,
    counterKey: readCounterKey(decodeXml(attribute(tag, 'counter-key') ?? '')),
    estimatePromptTokens: (attribute(tag, 'estimate-prompt-tokens') ?? 'false').toLowerCase() === 'true',
    retryAfterHeaderName: attribute(tag, 'retry-after-header-name') ?? 'Retry-After',
    remainingTokensHeaderName: attribute(tag, 'remaining-tokens-header-name'),
    tokensConsumedHeaderName: attribute(tag, 'tokens-consumed-header-name'),
  };
}

/**
 * Reads the parts of an API policy the emulator acts on. This is not a policy engine: C# expressions are
 * not evaluated. A retry `condition` is reduced to the status codes it compares with `StatusCode == NNN`
 * (the lab's 429/503 condition; a 503 never matches the pool's own 503, which ends in on-error);
 * `interval` is in seconds as in APIM. An inbound `<choose>` is read only for `<when>`s that compare one
 * request header with a string (`GetValueOrDefault("h", "") == "v"`) and set a backend; other conditions
 * are ignored.
 */
export function readGatewayPolicy(xml: string): GatewayPolicy {
  const inbound = section(xml, 'inbound');
  const backend = section(xml, 'backend');
  const outbound = section(xml, 'outbound');
  const onError = section(xml, 'on-error');
  const chooses = [...inbound.matchAll(/<choose\b[^>]*>([\s\S]*?)<\/choose>/gi)].map((match) => match[1] ?? '');
  const headerRoutes: HeaderRoute[] = [];
  let otherwiseBackend: string | undefined;
  for (const choose of chooses) {
    for (const when of choose.matchAll(/<when\b([^>]*)>([\s\S]*?)<\/when>/gi)) {
      const condition = headerCondition(decodeXml(attribute(when[1] ?? '', 'condition') ?? ''));
      const backendId = backendIdIn(when[2] ?? '');
      if (condition && backendId !== undefined) headerRoutes.push({ ...condition, backendId });
    }
    otherwiseBackend ??= backendIdIn(section(choose, 'otherwise'));
  }
  const outsideChoose = inbound.replace(/<choose\b[^>]*>[\s\S]*?<\/choose>/gi, '');
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
    backendId: backendIdIn(outsideChoose) ?? otherwiseBackend,
    headerRoutes,
    tokenLimit: readTokenLimit(outsideChoose),
    retry,
    hidesPool503: /<set-status\b[^>]*\bcode\s*=\s*"503"/i.test(onError),
    backendHostHeader: hostHeader ? attribute(hostHeader, 'name') : undefined,
  };
}
