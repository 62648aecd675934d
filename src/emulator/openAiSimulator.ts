import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Fault } from './fault';
import { BodyTooLargeError, headerValue, isRecord, readBody, sendJson, tryParseJson } from './httpUtil';
import { sampleLognormal, type RandomSource } from './random';

/** How one simulated Azure OpenAI resource behaves. */
export interface OpenAiSimulatorOptions {
  /** Virtual host name, e.g. `aoai-nov26-instance1.openai.azure.com` (what the gateway dials). */
  readonly host: string;
  /** Sent as `x-ms-region`, e.g. `West US`. */
  readonly region: string;
  readonly deployments: readonly string[];
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
  readonly latencyInMs: { readonly median: number; readonly p95: number };
  /** Multiplies sampled latencies; 0 answers at once. */
  readonly latencyScale: number;
  readonly random: RandomSource;
  readonly now: () => number;
  /** Loopback address to listen on. */
  readonly listenHost: string;
}

/** Counters for the control API. */
export interface SimulatorStats {
  readonly requests: number;
  readonly byStatus: Record<string, number>;
  /** Requests per credential kind seen (never the credential): `bearer`, `api-key`, `none`. */
  readonly byAuthScheme: Record<string, number>;
  /** Requests per query parameter name seen (names only, never values). */
  readonly byQueryParameter: Record<string, number>;
}

const WINDOW_IN_MS = 60_000;
const API_VERSION_FOR_MESSAGES = '2024-02-01';

/** Roughly 4 characters per token, as OpenAI's rule of thumb. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Prompt tokens of chat messages: content tokens plus a small per-message overhead (+3 priming). */
export function countPromptTokens(messages: readonly unknown[]): number {
  let total = 3;
  for (const message of messages) {
    total += 4;
    if (isRecord(message)) {
      const content = message['content'];
      if (typeof content === 'string') {
        total += estimateTokens(content);
      } else if (Array.isArray(content)) {
        for (const part of content) {
          if (isRecord(part) && typeof part['text'] === 'string') {
            total += estimateTokens(part['text']);
          }
        }
      }
      if (typeof message['name'] === 'string') {
        total += 1;
      }
    }
  }
  return total;
}

/** An error answer in the Azure OpenAI inference shape `{"error":{code,message,param,type,inner_error}}`. */
function openAiError(code: string, message: string, type = 'invalid_request_error'): unknown {
  return { error: { code, message, param: null, type } };
}

/**
 * One simulated Azure OpenAI resource on its own loopback port: chat completions per the 2024-02-01
 * inference spec, Standard-deployment quotas (requests and tokens per minute → 429 with retry headers),
 * lognormal latency, and injectable faults.
 */
export class OpenAiSimulator {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly window: { at: number; tokens: number }[] = [];
  private currentFault: Fault = { kind: 'healthy' };
  private listenPort = 0;
  private requests = 0;
  private readonly byStatus: Record<string, number> = {};
  private readonly byAuthScheme: Record<string, number> = {};
  private readonly byQueryParameter: Record<string, number> = {};

  constructor(readonly options: OpenAiSimulatorOptions) {}

  /** The loopback port (stable across down/heal when the OS allows it). */
  get port(): number {
    return this.listenPort;
  }

  get fault(): Fault {
    return this.currentFault;
  }

  get stats(): SimulatorStats {
    return { requests: this.requests, byStatus: { ...this.byStatus }, byAuthScheme: { ...this.byAuthScheme }, byQueryParameter: { ...this.byQueryParameter } };
  }

  async start(): Promise<void> {
    await this.listen(this.listenPort);
  }

  /** Applies a fault; `down` closes the listener, anything else (re)opens it. */
  async setFault(fault: Fault): Promise<void> {
    this.currentFault = fault;
    if (fault.kind === 'down') {
      await this.stopListening();
    } else if (!this.server) {
      await this.listen(this.listenPort);
    }
  }

  async close(): Promise<void> {
    await this.stopListening();
  }

  private listen(port: number): Promise<void> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (error instanceof BodyTooLargeError) {
          sendJson(response, 413, openAiError('RequestEntityTooLarge', error.message), { connection: 'close' });
          return;
        }
        sendJson(response, 500, openAiError('InternalServerError', `Simulator error: ${String(error)}`, 'server_error'));
      });
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        if (port !== 0 && error.code === 'EADDRINUSE') {
          // The old port was taken while the resource was down: take a new one (the gateway's virtual DNS follows).
          server.removeListener('error', onError);
          this.listen(0).then(resolve, reject);
          return;
        }
        reject(error);
      };
      server.once('error', onError);
      server.listen(port, this.options.listenHost, () => {
        server.removeListener('error', onError);
        this.listenPort = (server.address() as AddressInfo).port;
        this.server = server;
        resolve();
      });
    });
  }

  private stopListening(): Promise<void> {
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of this.sockets) {
        socket.destroy();
      }
      this.sockets.clear();
    });
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
    this.byStatus[String(status)] = (this.byStatus[String(status)] ?? 0) + 1;
    sendJson(response, status, body, {
      'x-ms-region': this.options.region,
      'apim-request-id': randomUUID(),
      'x-request-id': randomUUID(),
      ...headers,
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.requests += 1;
    const bodyBuffer = await readBody(request);
    const fault = this.currentFault;
    const { median, p95 } = this.options.latencyInMs;
    const latencyInMs = this.options.latencyScale > 0 ? sampleLognormal(this.options.random, median, p95) * this.options.latencyScale : 0;
    await this.delay(fault.kind === 'slow' ? fault.delayInMs + latencyInMs : latencyInMs);
    if (response.destroyed) {
      return;
    }
    const url = new URL(`http://simulator${(request.url ?? '/').startsWith('/') ? '' : '/'}${request.url ?? ''}`);
    for (const name of new Set(url.searchParams.keys())) {
      this.byQueryParameter[name] = (this.byQueryParameter[name] ?? 0) + 1;
    }
    const match = /^\/openai\/deployments\/([^/]+)\/chat\/completions\/?$/i.exec(url.pathname);
    if (!match || request.method !== 'POST') {
      this.answer(response, 404, { error: { code: '404', message: 'Resource not found' } });
      return;
    }
    const authorization = headerValue(request, 'authorization');
    const apiKey = headerValue(request, 'api-key');
    const hasBearer = authorization !== undefined && /^Bearer\s+\S+/i.test(authorization);
    for (const scheme of [hasBearer ? 'bearer' : '', apiKey ? 'api-key' : '', !hasBearer && !apiKey ? 'none' : '']) {
      if (scheme) {
        this.byAuthScheme[scheme] = (this.byAuthScheme[scheme] ?? 0) + 1;
      }
    }
    if (!hasBearer && !apiKey) {
      this.answer(response, 401, {
        error: {
          code: '401',
          message:
            'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
        },
      });
      return;
    }
    if (fault.kind === 'auth-reject') {
      this.answer(response, 401, {
        error: {
          code: 'PermissionDenied',
          message:
            'The principal lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action` to perform `POST /openai/deployments/{deployment-id}/chat/completions` operation.',
        },
      });
      return;
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) {
      this.answer(response, 400, openAiError('BadRequest', "Missing required query parameter 'api-version'."));
      return;
    }
    const deployment = decodeURIComponent(match[1] ?? '');
    if (!this.options.deployments.some((name) => name.toLowerCase() === deployment.toLowerCase())) {
      this.answer(
        response,
        404,
        openAiError(
          'DeploymentNotFound',
          'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
        ),
      );
      return;
    }
    if (fault.kind === 'failing') {
      const status = fault.status ?? 500;
      this.answer(response, status, openAiError(String(status), 'The server had an error while processing your request. Sorry about that!', 'server_error'));
      return;
    }
    if (fault.kind === 'throttled') {
      this.answer(response, 429, this.throttleBody('call rate limit', fault.retryAfterSeconds), this.retryHeaders(fault.retryAfterSeconds * 1000));
      return;
    }
    const parsed = tryParseJson(bodyBuffer.toString('utf8'));
    if (!parsed.ok || !isRecord(parsed.value)) {
      this.answer(
        response,
        400,
        openAiError(
          'BadRequest',
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        ),
      );
      return;
    }
    const body = parsed.value;
    const messages = body['messages'];
    if (!Array.isArray(messages) || messages.length === 0) {
      this.answer(response, 400, openAiError('BadRequest', "'messages' is a required property and must be a non-empty array."));
      return;
    }
    const maxTokens = body['max_tokens'];
    if (maxTokens !== undefined && maxTokens !== null && !(typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens >= 1)) {
      this.answer(response, 400, openAiError('BadRequest', "'max_tokens' must be a positive integer."));
      return;
    }
    const promptTokens = countPromptTokens(messages);
    const fullAnswer = `This is a simulated answer from the ${deployment} deployment in ${this.options.region}.`;
    const limit = typeof maxTokens === 'number' ? maxTokens : Infinity;
    const completionTokens = Math.min(estimateTokens(fullAnswer), limit);
    const content = completionTokens < estimateTokens(fullAnswer) ? fullAnswer.slice(0, completionTokens * 4) : fullAnswer;
    // Azure estimates a request's token cost from the prompt and max_tokens before running it.
    const chargedTokens = promptTokens + (typeof maxTokens === 'number' ? maxTokens : completionTokens);
    const now = this.options.now();
    while (this.window.length > 0 && (this.window[0]?.at ?? 0) <= now - WINDOW_IN_MS) {
      this.window.shift();
    }
    const usedTokens = this.window.reduce((sum, entry) => sum + entry.tokens, 0);
    const overRequests = this.window.length + 1 > this.options.requestsPerMinute;
    const overTokens = usedTokens + chargedTokens > this.options.tokensPerMinute;
    if (overRequests || overTokens) {
      const oldest = this.window[0]?.at ?? now;
      const retryAfterInMs = Math.max(1000, oldest + WINDOW_IN_MS - now);
      const retryAfterSeconds = Math.ceil(retryAfterInMs / 1000);
      this.answer(
        response,
        429,
        this.throttleBody(overRequests ? 'call rate limit' : 'token rate limit', retryAfterSeconds),
        {
          ...this.retryHeaders(retryAfterInMs),
          'x-ratelimit-remaining-requests': Math.max(0, this.options.requestsPerMinute - this.window.length),
          'x-ratelimit-remaining-tokens': Math.max(0, this.options.tokensPerMinute - usedTokens),
        },
      );
      return;
    }
    this.window.push({ at: now, tokens: chargedTokens });
    this.answer(
      response,
      200,
      {
        id: `chatcmpl-${randomUUID().replace(/-/g, '').slice(0, 29)}`,
        object: 'chat.completion',
        created: Math.floor(now / 1000),
        model: 'gpt-4o-2024-08-06',
        system_fingerprint: 'fp_emulator',
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content },
            finish_reason: content === fullAnswer ? 'stop' : 'length',
            content_filter_results: {},
          },
        ],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      },
      {
        'x-ratelimit-remaining-requests': this.options.requestsPerMinute - this.window.length,
        'x-ratelimit-remaining-tokens': Math.max(0, this.options.tokensPerMinute - usedTokens - chargedTokens),
      },
    );
  }

  private retryHeaders(retryAfterInMs: number): Record<string, string | number> {
    return {
      'retry-after': Math.ceil(retryAfterInMs / 1000),
      'retry-after-ms': Math.round(retryAfterInMs),
      'x-ms-retry-after-ms': Math.round(retryAfterInMs),
    };
  }

  private throttleBody(what: string, retryAfterSeconds: number): unknown {
    return {
      error: {
        code: '429',
        message: `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${API_VERSION_FOR_MESSAGES} have exceeded ${what} of your current OpenAI S0 pricing tier. Please retry after ${retryAfterSeconds} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
      },
    };
  }
}
