import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';

/** One request as the fake server saw it (body decompressed when `content-encoding` says gzip/deflate). */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query exactly as sent, e.g. `/v1//subscriptions/…/query`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** `body` as UTF-8 text. */
  readonly text: string;
}

/** What a handler returns: status, optional headers and a body (objects are sent as JSON). */
export interface FakeResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Never answer (the client must time out); the socket is destroyed when the server closes. */
  readonly hang?: boolean;
}

export type FakeHandler = (request: RecordedRequest) => FakeResponse | Promise<FakeResponse>;

export interface HttpsFakeServer {
  /** `https://127.0.0.1:<port>` (no trailing slash). */
  readonly origin: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Resolves once no request is being handled (answers written; hanging ones do not count). */
  whenIdle(): Promise<void>;
  /** Replaces the handler (tests switch behaviour between cases). */
  setHandler(handler: FakeHandler): void;
  close(): Promise<void>;
}

const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');

/**
 * Starts a `node:https` server on 127.0.0.1, port 0, with the test certificate (`test/fixtures/tls`).
 * The test process must trust it through `NODE_EXTRA_CA_CERTS` (as `npm test` sets); nothing here disables
 * TLS verification. Requests are recorded; the handler decides the answer (default: 404).
 */
export async function startHttpsFakeServer(handler?: FakeHandler): Promise<HttpsFakeServer> {
  let current: FakeHandler = handler ?? (() => ({ status: 404, body: { error: { code: 'NotFound', message: 'no handler' } } }));
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  const settle = (): void => {
    inFlight -= 1;
    if (inFlight === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
    }
  };
  const server: Server = createServer(
    { cert: readFileSync(join(TLS_DIR, 'cert.pem')), key: readFileSync(join(TLS_DIR, 'key.pem')) },
    (req: IncomingMessage, res: ServerResponse) => {
      inFlight += 1;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void (async () => {
          const raw = Buffer.concat(chunks);
          const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
          const body = encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw;
          const recorded: RecordedRequest = {
            method: req.method ?? 'GET',
            url: req.url ?? '/',
            headers: req.headers,
            body,
            text: body.toString('utf8'),
          };
          requests.push(recorded);
          let answer: FakeResponse;
          try {
            answer = await current(recorded);
          } catch (error) {
            answer = { status: 500, body: { error: { code: 'FakeFailure', message: String(error) } } };
          }
          if (answer.hang === true) {
            hanging.add(res);
            settle();
            return;
          }
          const isText = typeof answer.body === 'string' || answer.body === undefined;
          const payload = answer.body === undefined ? '' : isText ? String(answer.body) : JSON.stringify(answer.body);
          res.writeHead(answer.status, {
            'content-type': isText ? 'text/plain' : 'application/json',
            ...answer.headers,
          });
          res.end(payload, settle);
        })();
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    requests,
    whenIdle(): Promise<void> {
      return inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    setHandler(next: FakeHandler): void {
      current = next;
    },
    close(): Promise<void> {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
