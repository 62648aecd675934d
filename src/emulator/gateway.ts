import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AccessLog, AccessLogAttempt } from './accessLog';
import type { ArmBackendResource } from './armBackendStore';
import type { ArmEndpoint } from './armEndpoint';
import { Balancer, type SelectionAlgorithm } from './balancer';
import { CircuitBreaker, parseRetryAfterInMs, toBreakerRule, type BreakerSnapshot } from './circuitBreaker';
import { headerValue, isRecord, readBody, sendJson, tryParseJson } from './httpUtil';
import { countPromptTokens } from './openAiSimulator';
import { createRandom } from './random';
import { readGatewayPolicy, type GatewayPolicy, type TokenLimitPolicy } from './readGatewayPolicy';
import { TokenLimiter } from './tokenLimiter';

/** The API's retry policy (`<retry count interval first-fast-retry>` around forward-request). */
export interface RetryPolicy {
  readonly count: number;
  readonly intervalInMs: number;
  readonly firstFastRetry: boolean;
  readonly statusCodes: readonly number[];
}

/** Where a virtual host name lives on loopback. */
export interface VirtualEndpoint {
  readonly port: number;
  readonly region: string;
}

/** One API of the service: its id (ARM) and URL suffix (path, no leading slash). */
export interface GatewayApi {
  readonly id: string;
  readonly path: string;
}

export interface GatewayOptions {
  readonly arm: ArmEndpoint;
  readonly accessLog: AccessLog;
  /** The APIs of the service; a request goes to the one whose path is the longest prefix of its path. */
  readonly apis: readonly GatewayApi[];
  readonly subscriptionKey: string;
  readonly algorithm: SelectionAlgorithm;
  readonly instances: number;
  readonly seed: number | undefined;
  readonly now: () => number;
  /** Virtual DNS: backend host → loopback simulator; undefined = unreachable. */
  readonly resolveHost: (host: string) => VirtualEndpoint | undefined;
  readonly listenHost: string;
  /** forward-request timeout; APIM's default is 300 s. */
  readonly forwardTimeoutInMs: number;
}

/** `context.Subscription.Id` of the emulator's one subscription (the counter key of a token limit). */
const EMULATED_SUBSCRIPTION_ID = 'emulator-subscription';

/** A fake managed-identity token for `https://cognitiveservices.azure.com`: recognisable, not a JWT anyone could use. */
const MANAGED_IDENTITY_TOKEN = 'emulated-mi-token.aud=https%3A%2F%2Fcognitiveservices.azure.com';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date', 'upgrade', 'proxy-connection']);

type ForwardResult =
  | { readonly kind: 'response'; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: Buffer }
  | { readonly kind: 'error'; readonly reason: 'BackendConnectionFailure' | 'Timeout' };

interface PoolMember {
  readonly name: string;
  readonly priority: number | undefined;
  readonly weight: number | undefined;
  readonly backend: ArmBackendResource;
}

/** One gateway instance: its own balancer and breakers, as each APIM unit keeps its own state. */
class GatewayInstance {
  readonly balancer: Balancer;
  readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    algorithm: SelectionAlgorithm,
    seed: number | undefined,
    private readonly now: () => number,
    private readonly onBreakerChange: (backendId: string, change: 'opened' | 'closed', at: number) => void,
  ) {
    this.balancer = new Balancer(algorithm, createRandom(seed));
  }

  breaker(name: string): CircuitBreaker {
    const key = name.toLowerCase();
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = new CircuitBreaker(this.now, (change, at) => this.onBreakerChange(name, change, at));
      this.breakers.set(key, breaker);
    }
    return breaker;
  }
}

/** A breaker opening or closing, named like APIM's Event Grid events. */
export interface BreakerEvent {
  readonly type: 'Microsoft.ApiManagement.CircuitBreaker.Opened' | 'Microsoft.ApiManagement.CircuitBreaker.Closed';
  readonly backendId: string;
  readonly gatewayInstance: number;
  /** Epoch ms (environment clock); a close is dated when the trip ended, noticed lazily. */
  readonly at: number;
}

const MAX_BREAKER_EVENTS = 1000;

/** Breaker state of one backend on one instance, for the control API. */
export interface InstanceBreakerState extends BreakerSnapshot {
  readonly gatewayInstance: number;
  readonly backendId: string;
}

function keysEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The emulated APIM gateway of one service with one or more APIs: the API chosen by path prefix,
 * subscription-key check, the API's token limit, routing to the backend named in its policy (by a request
 * header when the policy routes on one; as currently deployed through the ARM endpoint), pool selection
 * with circuit breakers per gateway instance (a backend's breaker is shared by every API using it), the
 * retry policy and on-error handling, and managed-identity auth to backends.
 */
export class Gateway {
  private readonly instanceStates: GatewayInstance[];
  private nextInstance = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 128 });
  private readonly cachedPolicies = new Map<string, { readonly etag: string; readonly policy: GatewayPolicy }>();
  private readonly events: BreakerEvent[] = [];
  private readonly tokenLimiter: TokenLimiter;
  /** Longest path first, so that `openai/v2` wins over `openai`. */
  private readonly apisByPath: readonly GatewayApi[];

  constructor(private readonly options: GatewayOptions) {
    this.tokenLimiter = new TokenLimiter(options.now);
    this.apisByPath = [...options.apis].sort((a, b) => b.path.length - a.path.length);
    this.instanceStates = Array.from(
      { length: Math.max(1, options.instances) },
      (_, index) =>
        new GatewayInstance(options.algorithm, options.seed === undefined ? undefined : options.seed + index * 7919, options.now, (backendId, change, at) => {
          this.events.push({
            type: change === 'opened' ? 'Microsoft.ApiManagement.CircuitBreaker.Opened' : 'Microsoft.ApiManagement.CircuitBreaker.Closed',
            backendId,
            gatewayInstance: index,
            at,
          });
          if (this.events.length > MAX_BREAKER_EVENTS) this.events.shift();
        }),
    );
  }

  /** The API whose URL suffix starts the path (the longest such suffix); undefined when none does. */
  apiFor(pathname: string): GatewayApi | undefined {
    const lower = pathname.toLowerCase();
    return this.apisByPath.find((api) => {
      const prefix = `/${api.path}`.toLowerCase();
      return lower === prefix || lower.startsWith(`${prefix}/`);
    });
  }

  /** True when the path belongs to one of the APIs (its URL suffix). */
  ownsPath(pathname: string): boolean {
    return this.apiFor(pathname) !== undefined;
  }

  /** The policy in force for an API (default: the first), as the gateway reads it (re-read only when its ETag changes). */
  currentPolicy(apiId: string = this.options.apis[0]?.id ?? ''): GatewayPolicy {
    const { xml, etag } = this.options.arm.policy(apiId);
    const key = apiId.toLowerCase();
    const cached = this.cachedPolicies.get(key);
    if (cached?.etag === etag) {
      return cached.policy;
    }
    const policy = readGatewayPolicy(xml);
    this.cachedPolicies.set(key, { etag, policy });
    return policy;
  }

  /** Breaker states of every backend seen, per instance. */
  breakerStates(): InstanceBreakerState[] {
    return this.instanceStates.flatMap((instance, gatewayInstance) =>
      [...instance.breakers.entries()].map(([backendId, breaker]) => ({ gatewayInstance, backendId, ...breaker.snapshot() })),
    );
  }

  /** Breaker openings and closings, oldest first (the last 1,000). */
  breakerEvents(): BreakerEvent[] {
    return [...this.events];
  }

  close(): void {
    this.agent.destroy();
  }

  /** Handles one client request on the API; rejects only when the request body cannot be read (e.g. too large). */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const api = this.apiFor(url.pathname);
    if (!api) {
      request.resume();
      sendJson(response, 404, { statusCode: 404, message: 'Resource not found' });
      return;
    }
    const requestId = randomUUID();
    const instanceIndex = this.nextInstance;
    this.nextInstance = (this.nextInstance + 1) % this.instanceStates.length;
    const instance = this.instanceStates[instanceIndex] as GatewayInstance;
    const at = this.options.now();
    const attempts: AccessLogAttempt[] = [];
    const finish = (status: number, outcome?: string): void => {
      this.options.accessLog.add({
        id: requestId,
        apiId: api.id,
        apiPath: api.path,
        at,
        status,
        gatewayInstance: instanceIndex,
        attempts,
        ...(outcome ? { outcome } : {}),
      });
    };
    const apimError = (status: number, message: string, outcome: string, headers: Record<string, string> = {}): void => {
      sendJson(response, status, { statusCode: status, message }, { ...headers, 'apim-request-id': requestId });
      finish(status, outcome);
    };

    const key =
      headerValue(request, 'api-key') ?? headerValue(request, 'ocp-apim-subscription-key') ?? url.searchParams.get('subscription-key') ?? undefined;
    if (key === undefined || key === '') {
      request.resume();
      apimError(
        401,
        'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.',
        'unauthorized',
      );
      return;
    }
    if (!keysEqual(key, this.options.subscriptionKey)) {
      request.resume();
      apimError(401, 'Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.', 'unauthorized');
      return;
    }
    const operationPath = url.pathname.slice(api.path.length + 1);
    const isChat = /^\/deployments\/[^/]+\/chat\/completions\/?$/i.test(operationPath);
    if (!isChat || request.method !== 'POST') {
      request.resume();
      apimError(404, 'Resource not found', 'not-found');
      return;
    }
    // forward-request buffer-request-body="true": the body is kept so that retries can resend it.
    const body = await readBody(request);

    const policy = this.currentPolicy(api.id);
    const tokenLimit = policy.tokenLimit;
    const counterKey = tokenLimit ? this.counterKeyOf(tokenLimit, request) : '';
    const tokenHeaders: Record<string, string> = {};
    if (tokenLimit) {
      const estimate = tokenLimit.estimatePromptTokens ? estimatePromptTokens(body) : undefined;
      const check = this.tokenLimiter.check(counterKey, tokenLimit.tokensPerMinute, estimate);
      if (tokenLimit.remainingTokensHeaderName) tokenHeaders[tokenLimit.remainingTokensHeaderName.toLowerCase()] = String(check.remainingTokens);
      if (!check.allowed) {
        // APIM answers itself, before any backend: 429 when the rate is exceeded, `Retry-After` unless
        // retry-after-header-name names another header, and the remaining-tokens header "after each policy
        // execution" (learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy); no x-ms-region.
        // The reference does not quote the body: the wording follows APIM's rate-limit answer ("Rate limit is
        // exceeded. Try again in N seconds.") in APIM's error shape, as issue 17 quotes it.
        apimError(429, `Token limit is exceeded. Try again in ${check.retryAfterInSeconds} seconds.`, 'token-limit', {
          ...tokenHeaders,
          [tokenLimit.retryAfterHeaderName.toLowerCase()]: String(check.retryAfterInSeconds),
        });
        return;
      }
    }
    // A header-routed API ("on your data"): the first <when> whose header has the value picks the backend.
    const routed = policy.headerRoutes.find((route) => headerValue(request, route.header) === route.value);
    const backendId = routed?.backendId ?? policy.backendId;
    if (backendId === undefined) {
      apimError(500, 'The API policy has no set-backend-service and the emulated API has no service URL.', 'no-backend');
      return;
    }
    const target = this.options.arm.store.getBackend(backendId);
    if (!target) {
      apimError(500, `Backend '${backendId}' named in the API policy (set-backend-service) is not deployed on this APIM service.`, 'no-pool');
      return;
    }
    const members = this.membersOf(target.value);
    // The subscription key never travels to the backend, not even in the query string.
    const forwardedQuery = new URLSearchParams(url.search);
    forwardedQuery.delete('subscription-key');
    const query = forwardedQuery.toString();
    const retry = policy.retry;
    const maxAttempts = 1 + (retry ? Math.max(0, retry.count) : 0);
    for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
      if (attempt > 0 && retry && retry.intervalInMs > 0 && !(attempt === 1 && retry.firstFastRetry)) {
        await new Promise((resolve) => setTimeout(resolve, retry.intervalInMs));
      }
      const member = instance.balancer.select(members, (candidate) => !instance.breaker(candidate.name).isTripped(), target.value.name.toLowerCase());
      if (!member) {
        // The pool's own 503: an error, so the retry loop stops and on-error runs.
        if (policy.hidesPool503) {
          response.writeHead(503, 'Service Unavailable', { 'content-length': 0, 'apim-request-id': requestId });
          response.end();
          finish(503, 'pool-unavailable');
        } else {
          apimError(503, `Backend pool ${target.value.name} is temporarily unavailable`, 'pool-unavailable');
        }
        return;
      }
      const result = await this.forward(member.backend, `${operationPath}${query ? `?${query}` : ''}`, body, request);
      const backendUrl = member.backend.properties.url ?? '';
      const host = safeHost(backendUrl);
      const region = this.options.resolveHost(host)?.region ?? null;
      const breaker = instance.breaker(member.name);
      const rule = toBreakerRule(member.backend.properties.circuitBreaker?.rules[0]);
      if (result.kind === 'error') {
        const tripped = breaker.record(rule, { status: undefined, retryAfterInMs: undefined });
        attempts.push({ backendId: member.name, host, region, status: null, error: result.reason, ...(tripped ? { tripped } : {}) });
        if (result.reason === 'Timeout') {
          apimError(504, 'Gateway Timeout', 'backend-timeout');
        } else {
          apimError(500, 'Internal server error', 'backend-connection-failure');
        }
        return;
      }
      const retryAfterInMs = parseRetryAfterInMs(result.headers, this.options.now());
      const tripped = breaker.record(rule, { status: result.status, retryAfterInMs });
      attempts.push({ backendId: member.name, host, region, status: result.status, ...(tripped ? { tripped } : {}) });
      const willRetry = retry !== null && attempt + 1 < maxAttempts && retry.statusCodes.includes(result.status);
      if (willRetry) {
        continue;
      }
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(result.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) {
          headers[name] = value;
        }
      }
      headers['apim-request-id'] ??= requestId;
      if (tokenLimit) {
        const consumed = result.status >= 200 && result.status < 300 ? totalTokensOf(result.body) : 0;
        const remaining = this.tokenLimiter.consume(counterKey, consumed, tokenLimit.tokensPerMinute);
        if (tokenLimit.remainingTokensHeaderName) headers[tokenLimit.remainingTokensHeaderName.toLowerCase()] = String(remaining);
        if (tokenLimit.tokensConsumedHeaderName) headers[tokenLimit.tokensConsumedHeaderName.toLowerCase()] = String(consumed);
      }
      if (policy.backendHostHeader) {
        headers[policy.backendHostHeader.toLowerCase()] = host;
      }
      headers['content-length'] = String(result.body.length);
      if (!response.destroyed) {
        response.writeHead(result.status, headers);
        response.end(result.body);
      }
      finish(result.status);
      return;
    }
  }

  private counterKeyOf(tokenLimit: TokenLimitPolicy, request: IncomingMessage): string {
    switch (tokenLimit.counterKey.kind) {
      case 'subscription':
        return `subscription:${EMULATED_SUBSCRIPTION_ID}`;
      case 'ip-address':
        return `ip:${request.socket.remoteAddress ?? ''}`;
      default:
        return `constant:${tokenLimit.counterKey.value}`;
    }
  }

  private membersOf(target: ArmBackendResource): PoolMember[] {
    if (target.properties.type !== 'Pool') {
      return [{ name: target.name, priority: undefined, weight: undefined, backend: target }];
    }
    const members: PoolMember[] = [];
    for (const service of target.properties.pool?.services ?? []) {
      const name = this.options.arm.store.memberName(service.id);
      const backend = name === undefined ? undefined : this.options.arm.store.getBackend(name)?.value;
      if (backend && backend.properties.type !== 'Pool') {
        members.push({ name: backend.name, priority: service.priority, weight: service.weight, backend });
      }
    }
    return members;
  }

  private forward(backend: ArmBackendResource, operationPathAndQuery: string, body: Buffer, client: IncomingMessage): Promise<ForwardResult> {
    const backendUrl = backend.properties.url ?? '';
    let parsed: URL;
    try {
      parsed = new URL(backendUrl);
    } catch {
      return Promise.resolve({ kind: 'error', reason: 'BackendConnectionFailure' });
    }
    const endpoint = this.options.resolveHost(parsed.hostname);
    if (!endpoint) {
      // Virtual DNS has no such host: behave like an unreachable backend, never dial the real one.
      return Promise.resolve({ kind: 'error', reason: 'BackendConnectionFailure' });
    }
    const path = `${parsed.pathname.replace(/\/+$/, '')}${operationPathAndQuery}`;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: ForwardResult): void => {
        if (!settled) {
          settled = true;
          resolve(result);
        }
      };
      const outgoing = httpRequest(
        {
          host: this.options.listenHost,
          port: endpoint.port,
          method: 'POST',
          path,
          agent: this.agent,
          headers: {
            host: parsed.host,
            'content-type': headerValue(client, 'content-type') ?? 'application/json',
            'content-length': body.length,
            // authentication-managed-identity: the client's subscription key is never forwarded.
            authorization: `Bearer ${MANAGED_IDENTITY_TOKEN}`,
          },
          timeout: this.options.forwardTimeoutInMs,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () =>
            settle({ kind: 'response', status: incoming.statusCode ?? 502, headers: incoming.headers, body: Buffer.concat(chunks) }),
          );
          incoming.on('error', () => settle({ kind: 'error', reason: 'BackendConnectionFailure' }));
        },
      );
      outgoing.on('timeout', () => {
        settle({ kind: 'error', reason: 'Timeout' });
        outgoing.destroy();
      });
      outgoing.on('error', () => settle({ kind: 'error', reason: 'BackendConnectionFailure' }));
      outgoing.end(body);
    });
  }
}

/** The prompt estimate of `estimate-prompt-tokens`: the chat messages of the body, as the simulator counts them. */
function estimatePromptTokens(body: Buffer): number {
  const parsed = tryParseJson(body.toString('utf8'));
  const messages = parsed.ok && isRecord(parsed.value) ? parsed.value['messages'] : undefined;
  return Array.isArray(messages) ? countPromptTokens(messages) : 0;
}

/** `usage.total_tokens` of an Azure OpenAI answer; 0 when absent (the policy counts what the backend reports). */
function totalTokensOf(body: Buffer): number {
  const parsed = tryParseJson(body.toString('utf8'));
  const usage = parsed.ok && isRecord(parsed.value) ? parsed.value['usage'] : undefined;
  const total = isRecord(usage) ? usage['total_tokens'] : undefined;
  return typeof total === 'number' && Number.isFinite(total) && total > 0 ? total : 0;
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}
