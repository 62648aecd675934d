import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { HttpRequest, HttpResponse, InvocationContext, type HttpResponseInit } from '@azure/functions';
import type { CapturedFunction, FunctionsRegistry } from './functionsCoreShim';
import { triggerOf } from './functionsCoreShim';
import { ensureError } from '../lib/util/errors';
import { DEFAULT_QUEUE_HOST_OPTIONS } from '../lib/queue/queueHostOptions';
import type { QueueHostOptions, QueueTransport } from '../lib/queue/types';
import { QueueTriggerListener, type QueueTriggerMetadata } from './queueTriggerListener';

/** The longest delay `setTimeout` honours. */
const MAX_TIMEOUT_IN_MS = 2_147_483_647;

/** Options of {@link LocalFunctionsHost}. */
export interface LocalFunctionsHostOptions {
  readonly registry: FunctionsRegistry;
  /** Port for `http://host:port/api/...`; default 7071 as `func start`; 0 = any free port. */
  readonly port?: number;
  readonly host?: string;
  /** Resolves `%NAME%` in timer schedules, as the Functions host does from app settings. */
  readonly settings?: Readonly<Record<string, string | undefined>>;
  /** Overrides the schedule of named timer functions (the demo runs faster than production). */
  readonly scheduleOverrides?: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
  /**
   * On `stop`, how long responses in flight may take to finish before their connections are cut; default
   * {@link DEFAULT_DRAIN_TIMEOUT_IN_MS}. Cutting them at once truncated report pages mid-body (issue 15).
   */
  readonly drainTimeoutInMs?: number;
  /**
   * The queue a queue-triggered function (`app.storageQueue`) reads, given its binding's queue name (`%SETTING%`
   * resolved) and connection setting name: an in-process queue locally, the Storage queue service (Azurite in tests)
   * in the azure environment (`chooseQueueTransport`). Asked when the host starts listening, and may answer later
   * (`currentFleetQueueTransport` waits for the fleet). Required when such a function is registered.
   */
  readonly queueTransportOf?: (binding: { readonly queueName: string; readonly connection: string }) => QueueTransport | Promise<QueueTransport>;
  /** host.json `extensions.queues` (`queueHostOptionsFrom`); default the queue extension's defaults. */
  readonly queueOptions?: QueueHostOptions;
  /** How long a message stays hidden while its function runs (renewed at half); default 10 minutes as the host. */
  readonly queueProcessingVisibilityTimeoutInMs?: number;
}

/** Default bound of the drain on `stop`: a report is built in well under a second, even under load. */
export const DEFAULT_DRAIN_TIMEOUT_IN_MS = 5_000;

/** The outcome of one timer invocation, for callers that wait for it. */
export interface TimerInvocation {
  readonly functionName: string;
  readonly startedAt: Date;
  readonly error: Error | undefined;
}

/**
 * Hosts the functions captured by the `@azure/functions-core` shim the way Core Tools does locally:
 * HTTP triggers on `/api/<route>`, timers on their NCRONTAB schedule, `appStart` hooks first.
 * Auth levels are not enforced locally (as with `func start`); Azure enforces them.
 */
export class LocalFunctionsHost {
  readonly #options: LocalFunctionsHostOptions;
  readonly #log: (line: string) => void;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #queueListeners: QueueTriggerListener[] = [];
  #server: http.Server | undefined;
  /** Responses started and not yet finished (or aborted by the client). */
  #openResponses = 0;
  #drained: (() => void) | undefined;
  #baseUrl = '';
  #stopped = false;

  constructor(options: LocalFunctionsHostOptions) {
    this.#options = options;
    this.#log = options.log ?? ((line) => console.log(line));
  }

  /** `http://host:port` once started. */
  get baseUrl(): string {
    return this.#baseUrl;
  }

  /**
   * Binds the HTTP port, runs the `appStart` hooks (awaiting them; requests that arrive meanwhile wait for them,
   * as the Functions host serves nothing before its start-up hooks), then starts the timers.
   *
   * The port is bound first so that a busy or invalid port fails before any start-up work (a deploy) is done.
   *
   * @throws the listen error (`code` EADDRINUSE, EACCES …) with nothing left open, or a hook's error after closing
   *   the listener.
   */
  async start(): Promise<void> {
    let hooksDone: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (hooksDone = resolve));
    const server = http.createServer((req, res) => {
      this.#openResponses += 1;
      res.once('close', () => {
        this.#openResponses -= 1;
        if (this.#openResponses === 0) this.#drained?.();
      });
      const work = ready.then(() => this.#handleHttp(req, res)).catch((error: unknown) => {
        this.#log(`[host] request failed: ${ensureError(error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('Internal Server Error');
      });
      this.#track(work);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 7071, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    try {
      for (const hook of this.#options.registry.hooks.get('appStart') ?? []) {
        await hook({ hookData: {}, appHookData: {}, functionAppDirectory: process.cwd() });
      }
    } catch (error) {
      this.#server = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    } finally {
      hooksDone();
    }
    const address = server.address() as AddressInfo;
    this.#baseUrl = `http://${this.#options.host ?? '127.0.0.1'}:${address.port}`;
    for (const fn of this.#options.registry.functions.values()) {
      const trigger = triggerOf(fn);
      if (trigger.type.toLowerCase() === 'httptrigger') {
        this.#log(`[host] ${fn.name}: [${(trigger.methods ?? ['GET', 'POST']).join(',')}] ${this.#baseUrl}/api/${trigger.route ?? fn.name}`);
      } else if (trigger.type.toLowerCase() === 'timertrigger') {
        const schedule = this.scheduleOf(fn);
        this.#log(`[host] ${fn.name}: timer (${schedule})`);
        this.#scheduleNext(fn, schedule);
        if (trigger.runOnStartup === true) void this.invokeTimer(fn.name);
      } else if (trigger.type.toLowerCase() === 'queuetrigger') {
        await this.#listenToQueue(fn);
      }
    }
  }

  /**
   * Runs every queued message of every queue-triggered function now and waits for them: after `invokeTimer`, the
   * runs the tick queued have finished when this resolves (the local host's way to drive one tick to its end).
   */
  async drainQueues(): Promise<void> {
    await Promise.all(this.#queueListeners.map((listener) => listener.drain()));
  }

  /** Starts polling the queue of a queue-triggered function, as the Functions host's queue listener does. */
  async #listenToQueue(fn: CapturedFunction): Promise<void> {
    const trigger = triggerOf(fn);
    const queueName = this.#resolveSettings(`Queue trigger "${fn.name}"`, 'its queue name', String(trigger['queueName'] ?? ''));
    const connection = String(trigger['connection'] ?? 'AzureWebJobsStorage');
    if (!this.#options.queueTransportOf) throw new Error(`Queue trigger "${fn.name}" (queue ${queueName}): the local host was given no queue (queueTransportOf).`);
    let transport: QueueTransport;
    try {
      transport = await this.#options.queueTransportOf({ queueName, connection });
    } catch (error) {
      // As the Functions host: a trigger whose listener cannot start is reported; the other functions keep running.
      this.#log(`[host] ${fn.name}: not listening to queue ${queueName}: ${ensureError(error).message}`);
      return;
    }
    const options = this.#options.queueOptions ?? DEFAULT_QUEUE_HOST_OPTIONS;
    const listener = new QueueTriggerListener({
      functionName: fn.name,
      transport,
      options,
      log: this.#log,
      ...(this.#options.queueProcessingVisibilityTimeoutInMs !== undefined ? { processingVisibilityTimeoutInMs: this.#options.queueProcessingVisibilityTimeoutInMs } : {}),
      invoke: (value, triggerMetadata) => this.#invokeQueue(fn, value, triggerMetadata),
    });
    this.#log(`[host] ${fn.name}: queue ${queueName} (batchSize ${options.batchSize}, maxDequeueCount ${options.maxDequeueCount})`);
    listener.start();
    this.#queueListeners.push(listener);
  }

  /** One queue-triggered invocation: the worker's value (JSON → object) and `context.triggerMetadata`; rejects when the function fails. */
  async #invokeQueue(fn: CapturedFunction, value: unknown, triggerMetadata: QueueTriggerMetadata): Promise<void> {
    const context = this.#context(fn, { ...triggerMetadata });
    const work = Promise.resolve().then(() => fn.handler(value, context));
    this.#track(work.catch(() => undefined));
    await work;
  }

  /** Resolves `%NAME%` from app settings, as the Functions host does in binding expressions. */
  #resolveSettings(who: string, where: string, raw: string): string {
    return raw.replace(/%([^%]+)%/g, (_, name: string) => {
      const value = this.#options.settings?.[name];
      if (!value) throw new Error(`${who}: app setting "${name}" used in ${where} is not set.`);
      return value;
    });
  }

  /** The effective NCRONTAB schedule of a timer function (overrides and `%SETTING%` resolved). */
  scheduleOf(fn: CapturedFunction): string {
    const override = this.#options.scheduleOverrides?.[fn.name];
    if (override) return override;
    return this.#resolveSettings(`Timer "${fn.name}"`, 'its schedule', String(triggerOf(fn).schedule ?? ''));
  }

  /** Invokes a timer function now (as the host does on schedule); resolves when it has finished. */
  async invokeTimer(functionName: string): Promise<TimerInvocation> {
    const fn = this.#options.registry.functions.get(functionName);
    if (!fn) throw new Error(`No function named "${functionName}".`);
    const startedAt = new Date();
    const schedule = this.scheduleOf(fn);
    const next = CronExpressionParser.parse(schedule, { currentDate: startedAt, tz: 'UTC' }).next().toDate();
    const timer = {
      isPastDue: false,
      schedule: { adjustForDST: false },
      scheduleStatus: { last: startedAt.toISOString(), next: next.toISOString(), lastUpdated: startedAt.toISOString() },
    };
    const context = this.#context(fn);
    const work = (async (): Promise<TimerInvocation> => {
      try {
        await fn.handler(timer, context);
        return { functionName, startedAt, error: undefined };
      } catch (error) {
        const failure = ensureError(error);
        this.#log(`[host] ${functionName} failed: ${failure.message}`);
        return { functionName, startedAt, error: failure };
      }
    })();
    this.#track(work);
    return work;
  }

  /**
   * Stops timers and the listener (no new connections), lets responses in flight finish for at most
   * `drainTimeoutInMs`, cuts what is left, then waits for invocations in flight.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const handle of this.#timers.values()) clearTimeout(handle);
    this.#timers.clear();
    // Queue listeners stop polling first; the runs they started finish below with every other invocation.
    await Promise.all(this.#queueListeners.splice(0).map((listener) => listener.close()));
    const server = this.#server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (this.#openResponses > 0) {
        const drainTimeoutInMs = this.#options.drainTimeoutInMs ?? DEFAULT_DRAIN_TIMEOUT_IN_MS;
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
          timer = setTimeout(resolve, drainTimeoutInMs);
        });
        clearTimeout(timer);
        this.#drained = undefined;
        if (this.#openResponses > 0) this.#log(`[host] cut ${this.#openResponses} response(s) still open after ${drainTimeoutInMs} ms`);
      }
      // Keep-alive connections whose responses are done, and anything past the bound.
      server.closeAllConnections();
      await closed;
    }
    await Promise.allSettled([...this.#running]);
    for (const hook of this.#options.registry.hooks.get('appTerminate') ?? []) {
      await hook({ hookData: {}, appHookData: {} });
    }
  }

  #track(work: Promise<unknown>): void {
    this.#running.add(work);
    void work.finally(() => this.#running.delete(work));
  }

  #scheduleNext(fn: CapturedFunction, schedule: string): void {
    if (this.#stopped) return;
    const dueAtMs = CronExpressionParser.parse(schedule, { currentDate: new Date(), tz: 'UTC' }).next().getTime();
    this.#wakeAt(fn, schedule, dueAtMs);
  }

  /** Node fires timeouts over 2^31−1 ms at once, so long waits are taken in capped steps. */
  #wakeAt(fn: CapturedFunction, schedule: string, dueAtMs: number): void {
    if (this.#stopped) return;
    const delayInMs = Math.max(0, dueAtMs - Date.now());
    const handle = setTimeout(() => {
      this.#timers.delete(fn.name);
      if (Date.now() < dueAtMs) {
        this.#wakeAt(fn, schedule, dueAtMs);
        return;
      }
      void this.invokeTimer(fn.name).finally(() => this.#scheduleNext(fn, schedule));
    }, Math.min(delayInMs, MAX_TIMEOUT_IN_MS));
    handle.unref();
    this.#timers.set(fn.name, handle);
  }

  #context(fn: CapturedFunction, triggerMetadata?: Record<string, unknown>): InvocationContext {
    const log = this.#log;
    return new InvocationContext({
      invocationId: randomUUID(),
      functionName: fn.name,
      ...(triggerMetadata ? { triggerMetadata } : {}),
      logHandler: (level, ...args) => log(`[${fn.name}] ${level === 'information' ? '' : `${level}: `}${args.map(String).join(' ')}`),
    });
  }

  async #handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.#baseUrl);
    const match = this.#findHttpFunction(url.pathname, req.method ?? 'GET');
    if (!match) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    if (match === 'method-not-allowed') {
      res.writeHead(405, { 'content-type': 'text/plain' });
      res.end('Method Not Allowed');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const body = Buffer.concat(chunks);
    const request = new HttpRequest({
      method: req.method ?? 'GET',
      url: url.toString(),
      headers,
      query,
      params: {},
      ...(body.length > 0 ? { body: { bytes: new Uint8Array(body) } } : {}),
    });
    const result = (await match.handler(request, this.#context(match))) as HttpResponseInit | HttpResponse | undefined;
    const response = result instanceof HttpResponse ? result : new HttpResponse(result ?? {});
    const outHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      outHeaders[name] = value;
    });
    const payload = response.body ? Buffer.from(await response.arrayBuffer()) : Buffer.alloc(0);
    res.writeHead(response.status, outHeaders);
    res.end(payload);
  }

  #findHttpFunction(pathname: string, method: string): CapturedFunction | 'method-not-allowed' | undefined {
    let methodMismatch = false;
    for (const fn of this.#options.registry.functions.values()) {
      const trigger = triggerOf(fn);
      if (trigger.type.toLowerCase() !== 'httptrigger') continue;
      const route = `/api/${(trigger.route ?? fn.name).replace(/^\/+/, '')}`;
      if (route.toLowerCase() !== pathname.replace(/\/+$/, '').toLowerCase()) continue;
      const methods = (trigger.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase());
      if (methods.includes(method.toUpperCase())) return fn;
      methodMismatch = true;
    }
    return methodMismatch ? 'method-not-allowed' : undefined;
  }
}

