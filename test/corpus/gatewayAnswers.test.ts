import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { loadPoolDefinition } from '../../src/lib/pool/loadPoolDefinition';
import type { ResolvedPool } from '../../src/lib/pool/types';
import { runProbes } from '../../src/lib/probe/runProbes';
import type { ProbeRecord } from '../../src/lib/probe/types';
import type { Report } from '../../src/lib/report/types';
import { verifyOnce } from '../../src/lib/verifier/verifyOnce';
import { LAB_POOL_PATH, recordUnhandledRejections, type RejectionRecorder } from './support';

/**
 * Strange gateway answers, from a fake gateway on port 0: every probe outcome is a record (never a throw), the
 * right `kind` and `errorCode`, and `verifyOnce` turns them into a report that says what happened — never `ok`.
 */

type Mode =
  | 'huge-usage'
  | 'no-region'
  | 'unknown-region'
  | 'unique-8kb-region'
  | 'html-error'
  | 'invalid-json'
  | 'empty-body'
  | 'ten-megabytes'
  | 'trickle'
  | 'reset'
  | 'unauthorized';

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant', content: 'P' } }],
  usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 },
});

let mode: Mode = 'no-region';
let answerCount = 0;
let server: http.Server;
let gatewayUrl: string;
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();
let pool: ResolvedPool;
let rejections: RejectionRecorder;

function answer(request: http.IncomingMessage, response: http.ServerResponse): void {
  request.resume();
  switch (mode) {
    case 'huge-usage':
      // Two of these summed to Infinity: "Infinity tokens used" (issue 15).
      response
        .writeHead(200, { 'content-type': 'application/json', 'x-ms-region': 'West US' })
        .end(COMPLETION.replace('"total_tokens":9', '"total_tokens":1e308'));
      return;
    case 'no-region':
      response.writeHead(200, { 'content-type': 'application/json' }).end(COMPLETION);
      return;
    case 'unknown-region':
      response.writeHead(200, { 'content-type': 'application/json', 'x-ms-region': 'Mars Central' }).end(COMPLETION);
      return;
    case 'unique-8kb-region': {
      // A per-response id in the identifying header: 8 KB, different on every answer (issue 15).
      answerCount += 1;
      const value = `req-${answerCount}-`.padEnd(8 * 1024, 'x');
      response.writeHead(200, { 'content-type': 'application/json', 'x-ms-region': value }).end(COMPLETION);
      return;
    }
    case 'html-error':
      response.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    case 'invalid-json':
      response.writeHead(200, { 'content-type': 'application/json', 'x-ms-region': 'West US' }).end('{"id": "chatcmpl-1", "choices": [');
      return;
    case 'empty-body':
      response.writeHead(200, { 'content-type': 'application/json', 'x-ms-region': 'West US' }).end();
      return;
    case 'ten-megabytes': {
      response.writeHead(200, { 'content-type': 'application/json', 'x-ms-region': 'West US' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 10 * 1024 * 1024 && !response.destroyed) {
          sent += chunk.length;
          if (!response.write(chunk)) {
            response.once('drain', pump);
            return;
          }
        }
        if (!response.destroyed) response.end();
      };
      pump();
      return;
    }
    case 'trickle': {
      // Headers at once, then one byte every 50 ms: each byte resets an idle timer, never the probe's deadline.
      response.writeHead(200, { 'content-type': 'application/json', 'x-ms-region': 'West US' });
      let count = 0;
      const timer = setInterval(() => {
        count += 1;
        if (response.destroyed || count > 100) {
          clearInterval(timer);
          timers.delete(timer);
          if (!response.destroyed) response.end();
          return;
        }
        response.write(' ');
      }, 50);
      timers.add(timer);
      return;
    }
    case 'reset':
      request.socket.destroy();
      return;
    case 'unauthorized':
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"statusCode":401,"message":"Access denied due to invalid subscription key."}');
      return;
  }
}

/** [mode, expected kind, expected errorCode pattern, identifier value, what the verifyOnce report must show]. */
const CASES: readonly [Mode, ProbeRecord['kind'], RegExp | null, string | null, (report: Report) => void][] = [
  ['no-region', 'ok', null, null, (r) => {
    expect(r.unidentified.count).toBe(4);
    expect(r.findings.map((f) => f.kind)).toContain('unidentified');
  }],
  ['unknown-region', 'ok', null, 'Mars Central', (r) => {
    expect(r.unidentified.values).toEqual({ 'Mars Central': 4 });
    expect(r.findings.find((f) => f.kind === 'unidentified')?.message).toContain('Mars Central');
  }],
  ['html-error', 'http', /^502$/, null, (r) => {
    expect(r.errors.byStatus['502']).toBe(4);
    expect(r.findings.map((f) => f.kind)).toContain('errors');
  }],
  ['invalid-json', 'http', /^invalid-json$/, 'West US', (r) => {
    expect(r.backends.every((b) => b.observedCount === 0)).toBe(true);
    expect(r.findings.map((f) => f.kind)).toContain('errors');
  }],
  ['empty-body', 'http', /^empty-body$/, 'West US', (r) => {
    expect(r.backends.every((b) => b.observedCount === 0)).toBe(true);
    expect(r.findings.map((f) => f.kind)).toContain('errors');
  }],
  ['ten-megabytes', 'http', /^body-too-large$/, 'West US', (r) => {
    expect(r.backends.every((b) => b.observedCount === 0)).toBe(true);
    expect(r.findings.map((f) => f.kind)).toContain('errors');
  }],
  ['trickle', 'timeout', /^timeout$/, 'West US', (r) => {
    expect(r.errors.timeout).toBe(4);
    expect(r.findings.find((f) => f.kind === 'errors')?.message).toMatch(/timeout/);
  }],
  ['reset', 'network', /^ECONNRESET$|socket hang up/i, null, (r) => {
    expect(r.errors.network).toBe(4);
    expect(r.findings.find((f) => f.kind === 'errors')?.message).toMatch(/network/);
  }],
];

beforeAll(async () => {
  rejections = recordUnhandledRejections();
  pool = await loadPoolDefinition(LAB_POOL_PATH);
  server = http.createServer(answer);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/openai`;
});

afterAll(async () => {
  for (const timer of timers) clearInterval(timer);
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rejections.uninstall();
});

const probeOptions = (): Parameters<typeof runProbes>[0] => ({
  gatewayUrl,
  subscriptionKey: 'SECRET-SUBKEY-gateway-corpus',
  pool,
  runId: 'corpus-run',
  maxProbes: 4,
  concurrency: 2,
  timeoutInMs: 300,
});

describe('strange gateway answers through runProbes', () => {
  it.each(CASES.map((c) => [c[0], c] as const))('%s: every probe is a record of the right kind, nothing thrown', async (_name, [m, kind, code, identifier]) => {
    mode = m;
    const result = await runProbes(probeOptions());
    expect(result.records).toHaveLength(4);
    expect(result.fatal).toBeNull();
    for (const record of result.records) {
      expect(record.kind).toBe(kind);
      if (code) expect(record.errorCode).toMatch(code);
      else expect(record.errorCode).toBeNull();
      // A bad answer that carries a known region is attributed to that backend (its fault, not the pool's).
      if (kind !== 'network') expect(record.identifierValue).toBe(identifier);
      expect(record.backend).toBe(identifier === 'West US' ? 'openai-instance1' : null);
    }
  });

  it('a gateway refusing the key with 401 stops the run as a configuration error after a few probes', async () => {
    mode = 'unauthorized';
    const result = await runProbes({ ...probeOptions(), maxProbes: 50 });
    expect(result.fatal?.kind).toBe('unauthorized');
    expect(result.fatal?.message).toMatch(/api-key/);
    expect(result.fatal?.message).not.toContain('SECRET-SUBKEY');
    expect(result.probesSent).toBeLessThan(10);
  });

  it('a closed port stops the run as unreachable, naming the origin', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await runProbes({ ...probeOptions(), gatewayUrl: `http://127.0.0.1:${port}/openai`, maxProbes: 50 });
    expect(result.fatal?.kind).toBe('unreachable');
    expect(result.fatal?.message).toContain(`127.0.0.1:${port}`);
    expect(result.fatal?.message).toContain('ECONNREFUSED');
  });
});

/**
 * A 2xx whose body is unusable (invalid JSON, empty, larger than the cap) from a known backend is counted under
 * its status; the report lists it as "200 with an unusable body" (was a bug: such answers were silently dropped).
 */
const SILENT_BAD_BODIES: readonly Mode[] = ['invalid-json', 'empty-body', 'ten-megabytes'];

async function verifyAgainst(m: Mode): Promise<Awaited<ReturnType<typeof verifyOnce>>> {
  mode = m;
  return verifyOnce({
    pool,
    gatewayUrl,
    subscriptionKey: 'SECRET-SUBKEY-gateway-corpus',
    requests: 4,
    concurrency: 2,
    timeoutInMs: 300,
    alpha: 1e-4,
    toleranceInPoints: 5,
    sequential: true,
  });
}

describe('unusable 2xx bodies through verifyOnce', () => {
  it.each(SILENT_BAD_BODIES)('%s: the report is not ok and nothing is counted as an answer', async (m) => {
    const result = await verifyAgainst(m);
    expect(result.fatal).toBeNull();
    expect(result.report.status).not.toBe('ok');
    expect(result.report.backends.every((b) => b.observedCount === 0)).toBe(true);
  });

  it.each(SILENT_BAD_BODIES)('%s: the report has an errors finding explaining the failed answers', async (m) => {
    const result = await verifyAgainst(m);
    expect(result.report.findings.map((f) => f.kind)).toContain('errors');
    expect(result.report.findings.find((f) => f.kind === 'errors')?.message).toMatch(/200 with an unusable body/);
  });
});

describe('strange gateway answers through verifyOnce', () => {
  it.each(CASES.filter((c) => !SILENT_BAD_BODIES.includes(c[0])).map((c) => [c[0], c] as const))('%s: the report says what happened and is never ok', async (_name, [m, , , , check]) => {
    const result = await verifyAgainst(m);
    expect(result.fatal).toBeNull();
    expect(result.report.status).not.toBe('ok');
    expect(result.report.total).toBe(4);
    check(result.report);
    expect(JSON.stringify(result.report)).not.toContain('SECRET-SUBKEY');
  });
});

describe('out-of-range token usage', () => {
  it('is treated as unknown: the run counts no tokens instead of Infinity', async () => {
    mode = 'huge-usage';
    const result = await runProbes(probeOptions());
    expect(result.records.every((record) => record.kind === 'ok' && record.totalTokens === null)).toBe(true);
    expect(result.tokensUsed).toBe(0);
    const { formatReportText } = await import('../../src/cli/formatReportText');
    const verified = await verifyAgainst('huge-usage');
    const text = formatReportText(verified.report, { probesSent: verified.probesSent, tokensUsed: verified.tokensUsed, stoppedEarly: verified.stoppedEarly });
    expect(text).not.toMatch(/Infinity|NaN|e\+\d/);
  });
});

describe('an identifying header with a unique 8 KB value on every answer', () => {
  it('keeps at most 20 values of at most 200 characters, and still counts every answer', async () => {
    mode = 'unique-8kb-region';
    const result = await verifyOnce({
      pool,
      gatewayUrl,
      subscriptionKey: 'SECRET-SUBKEY-gateway-corpus',
      requests: 300,
      concurrency: 8,
      timeoutInMs: 2000,
      alpha: 1e-4,
      toleranceInPoints: 5,
      sequential: false,
    });
    const { unidentified } = result.report;
    expect(unidentified.count).toBe(300);
    const values = Object.entries(unidentified.values);
    expect(values.length).toBeLessThanOrEqual(20);
    expect(values.every(([value]) => value.length <= 200)).toBe(true);
    expect(values.reduce((sum, [, n]) => sum + n, 0) + (unidentified.otherAnswers ?? 0)).toBe(300);
    expect(unidentified.otherAnswers).toBe(280);
    expect(result.report.findings.find((f) => f.kind === 'unidentified')?.message).toMatch(/other values × 280/);
    // 300 × 8 KB would be 2.4 MB; bounded, the whole report stays small.
    expect(JSON.stringify(result.report).length).toBeLessThan(60_000);
    expect(result.records.every((r) => (r.identifierValue ?? '').length <= 200)).toBe(true);
  });
});

describe('after every strange answer', () => {
  it('left no unhandled promise rejection behind', () => {
    expect(rejections.list()).toEqual([]);
  });
});
