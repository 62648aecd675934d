import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake gateway answers one request. */
export type GatewayAnswer =
  /** A chat completion (or any JSON) with the given status and optional identifying header. */
  | {
      readonly type: 'json';
      readonly status?: number;
      readonly region?: string;
      readonly body?: unknown;
      readonly headers?: Record<string, string>;
      /** Answer after this many ms (server-side delay, to keep requests in flight). */
      readonly delayInMs?: number;
    }
  /** Never finishes: with `sendHead`, headers (and region) and a body fragment go out first. */
  | { readonly type: 'hang'; readonly region?: string; readonly sendHead?: boolean }
  /** Destroy the socket before any answer. */
  | { readonly type: 'reset' }
  /** Send headers and part of the body, then destroy the socket. */
  | { readonly type: 'reset-mid-body'; readonly region?: string }
  /** A raw body with a status and content type. */
  | { readonly type: 'raw'; readonly status: number; readonly contentType: string; readonly body: string; readonly region?: string }
  /** `sizeInBytes` of JSON-looking filler, streamed in chunks (optionally without content-length). */
  | { readonly type: 'huge'; readonly sizeInBytes: number; readonly region?: string; readonly chunked?: boolean };

/** What the fake saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface FakeGateway {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Most requests that were being handled at the same time. */
  readonly maxInFlight: () => number;
  setScript(script: (index: number) => GatewayAnswer): void;
  close(): Promise<void>;
}

/** A chat completion body as Azure OpenAI 2024-02-01 returns it. */
export function chatCompletion(totalTokens = 9): unknown {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gpt-4o',
    choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant', content: 'P' } }],
    usage: { prompt_tokens: totalTokens - 1, completion_tokens: 1, total_tokens: totalTokens },
  };
}

/**
 * A node:http server on 127.0.0.1 port 0 standing in for the APIM gateway. Answers follow a script indexed by
 * request order; every answer sets an affinity cookie so tests can check it is never sent back.
 */
export async function startFakeGateway(script: (index: number) => GatewayAnswer): Promise<FakeGateway> {
  let current = script;
  const requests: SeenRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  let inFlight = 0;
  let maxInFlight = 0;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const index = requests.length;
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let done = false;
      const release = (): void => {
        if (!done) {
          done = true;
          inFlight -= 1;
        }
      };
      response.on('close', release);
      answer(current(index), request, response);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/openai`,
    requests,
    maxInFlight: () => maxInFlight,
    setScript: (next) => {
      current = next;
    },
    close: async () => {
      for (const socket of sockets) {
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(plan: GatewayAnswer, request: http.IncomingMessage, response: http.ServerResponse): void {
  response.setHeader('set-cookie', 'ARRAffinity=sticky-backend-1; Path=/; HttpOnly');
  response.setHeader('apim-request-id', 'req-1');
  const withRegion = (region: string | undefined): void => {
    if (region !== undefined) {
      response.setHeader('x-ms-region', region);
    }
  };
  switch (plan.type) {
    case 'json': {
      if (plan.delayInMs !== undefined && plan.delayInMs > 0) {
        const { delayInMs, ...rest } = plan;
        setTimeout(() => answer(rest, request, response), delayInMs);
        return;
      }
      withRegion(plan.region);
      for (const [name, value] of Object.entries(plan.headers ?? {})) {
        response.setHeader(name, value);
      }
      const body = JSON.stringify(plan.body ?? chatCompletion());
      response.writeHead(plan.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    case 'hang':
      if (plan.sendHead === true) {
        withRegion(plan.region);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"id":');
      }
      return;
    case 'reset':
      request.socket.destroy();
      return;
    case 'reset-mid-body':
      withRegion(plan.region);
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
      response.write('{"id":"chatcmpl-1",', () => request.socket.destroy());
      return;
    case 'raw':
      withRegion(plan.region);
      response.writeHead(plan.status, { 'content-type': plan.contentType, 'content-length': Buffer.byteLength(plan.body) });
      response.end(plan.body);
      return;
    case 'huge': {
      withRegion(plan.region);
      response.writeHead(200, plan.chunked === true ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'content-length': plan.sizeInBytes });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let left = plan.sizeInBytes;
      const pump = (): void => {
        while (left > 0) {
          const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= piece.length;
          if (!response.write(piece)) {
            response.once('drain', pump);
            return;
          }
        }
        response.end();
      };
      response.on('close', () => {
        left = 0;
      });
      pump();
      return;
    }
  }
}
