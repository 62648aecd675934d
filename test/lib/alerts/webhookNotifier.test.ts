import { createServer } from 'node:net';
import { WebhookDeliveryError } from '../../../src/lib/alerts/WebhookDeliveryError';
import type { AlertNotification } from '../../../src/lib/alerts/types';
import { createWebhookNotifier, DEFAULT_WEBHOOK_TIMEOUT_IN_MS } from '../../../src/lib/alerts/webhookNotifier';
import { startWebhookReceiver, type WebhookReceiver } from './webhookReceiver';

const SECRET_PATH = '/workflows/abc/triggers/manual/paths/invoke?sig=SECRET-SIG-0123456789';
const NOTE: AlertNotification = {
  kind: 'alert',
  pool: 'openai-instance-backend-pool',
  health: 'drift',
  previousHealth: 'ok',
  at: '2026-11-25T01:35:00.000Z',
  message: 'Weight drift: East US answered 18.1%, expected 33.3% (720 answers in the last hour) <&>.',
};

describe('createWebhookNotifier', () => {
  let receiver: WebhookReceiver;
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.answer(200);
    receiver.errorHeaders = {};
    sleeps.length = 0;
  });

  it('posts the notification fields as JSON in the generic format', async () => {
    await createWebhookNotifier({ url: receiver.url(SECRET_PATH), format: 'generic', sleep }).send(NOTE);
    expect(receiver.requests).toHaveLength(1);
    const request = receiver.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(SECRET_PATH);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual(NOTE);
  });

  it('posts an Adaptive Card in a message envelope for Teams workflows', async () => {
    await createWebhookNotifier({ url: receiver.url('/teams'), format: 'teams', sleep }).send(NOTE);
    const body = JSON.parse(receiver.requests[0]!.body);
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    const attachment = body.attachments[0];
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(attachment.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    const texts = attachment.content.body.filter((b: { type: string }) => b.type === 'TextBlock').map((b: { text: string }) => b.text);
    expect(texts).toEqual(['🚨 drift on openai-instance-backend-pool', NOTE.message]);
    const facts = attachment.content.body.find((b: { type: string }) => b.type === 'FactSet').facts;
    expect(facts).toContainEqual({ title: 'Health', value: 'ok → drift' });
  });

  it('posts text and blocks for Slack, escaping mrkdwn control characters', async () => {
    await createWebhookNotifier({ url: receiver.url('/slack'), format: 'slack', sleep }).send({ ...NOTE, kind: 'recovery', health: 'ok', previousHealth: 'drift' });
    const body = JSON.parse(receiver.requests[0]!.body);
    expect(body.text).toBe(`✅ openai-instance-backend-pool recovered (was drift): ${NOTE.message}`);
    expect(body.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context']);
    expect(body.blocks[1].text).toEqual({ type: 'mrkdwn', text: NOTE.message.replace('<&>', '&lt;&amp;&gt;') });
  });

  it('sends a 500 once per round (the webhook may have acted on it) and fails without naming the URL', async () => {
    receiver.answer(500);
    const notifier = createWebhookNotifier({ url: receiver.url(SECRET_PATH), format: 'generic', sleep, backoffInMs: 500 });
    const error = await notifier.send(NOTE).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect((error as Error).message).toBe('webhook (generic) returned 500');
    expect(error).toMatchObject({ status: 500, attempts: 1, format: 'generic' });
    expect(receiver.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    const everything = `${(error as Error).message} ${(error as Error).stack} ${JSON.stringify(error)} ${String((error as Error).cause)}`;
    expect(everything).not.toContain('SECRET-SIG');
    expect(everything).not.toContain('127.0.0.1');
  });

  it('carries a stable id in the payload and the X-Alert-Id and Idempotency-Key headers', async () => {
    const note = { ...NOTE, id: 'openai-instance-backend-pool@2026-11-25T01:35:00.000Z#2', incidentId: 'openai-instance-backend-pool@2026-11-25T01:35:00.000Z', sequence: 2 };
    await createWebhookNotifier({ url: receiver.url('/x'), format: 'generic', sleep }).send(note);
    const request = receiver.requests[0]!;
    expect(JSON.parse(request.body)).toMatchObject({ id: note.id, incidentId: note.incidentId, sequence: 2 });
    expect(decodeURIComponent(String(request.headers['x-alert-id']))).toBe(note.id);
    expect(decodeURIComponent(String(request.headers['idempotency-key']))).toBe(note.id);
  });

  it('does not retry a 400 (the payload will not get better)', async () => {
    receiver.answer(400);
    await expect(createWebhookNotifier({ url: receiver.url('/x'), format: 'slack', sleep }).send(NOTE)).rejects.toThrow('webhook (slack) returned 400');
    expect(receiver.requests).toHaveLength(1);
  });

  it('passes a Retry-After on 429 (seconds or HTTP-date) to the caller instead of waiting for it', async () => {
    receiver.answer(429);
    receiver.errorHeaders = { 'retry-after': '300' };
    const error = await createWebhookNotifier({ url: receiver.url('/x'), format: 'generic', sleep }).send(NOTE).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 300_000 });
    expect(sleeps).toEqual([]);
    receiver.errorHeaders = { 'retry-after': new Date(Date.now() + 600_000).toUTCString() };
    const dated = await createWebhookNotifier({ url: receiver.url('/x'), format: 'generic', sleep }).send(NOTE).catch((e: unknown) => e);
    expect((dated as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(590_000);
  });

  it('never resends after a timeout: a slow webhook gets the notification once', async () => {
    receiver.answer('hang');
    const started = Date.now();
    await expect(createWebhookNotifier({ url: receiver.url(SECRET_PATH), format: 'teams', sleep, timeoutInMs: 100, retries: 2 }).send(NOTE)).rejects.toThrow(
      'webhook (teams) timed out after 100 ms',
    );
    expect(receiver.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('waits seconds, not milliseconds, for a slow channel by default', () => {
    expect(DEFAULT_WEBHOOK_TIMEOUT_IN_MS).toBeGreaterThanOrEqual(20_000);
  });

  it('reports a refused connection by code only', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const error = await createWebhookNotifier({ url: `http://127.0.0.1:${port}${SECRET_PATH}`, format: 'generic', sleep, retries: 2 })
      .send(NOTE)
      .catch((e: Error) => e);
    expect((error as Error).message).toBe('webhook (generic) network error (ECONNREFUSED)');
    // Nothing reached a refused port, so trying again within the round is no duplicate.
    expect(error).toMatchObject({ attempts: 3 });
    expect(JSON.stringify(error)).not.toContain('SECRET');
  });

  it('rejects a malformed URL without echoing it', () => {
    expect(() => createWebhookNotifier({ url: 'not a url SECRET', format: 'generic' })).toThrow('ALERT_WEBHOOK_URL is not a valid URL');
    expect(() => createWebhookNotifier({ url: 'ftp://x/SECRET', format: 'generic' })).toThrow('ALERT_WEBHOOK_URL must be an http(s) URL');
  });

  it('is named after its format only', () => {
    expect(createWebhookNotifier({ url: receiver.url(SECRET_PATH), format: 'teams' }).name).toBe('webhook (teams)');
  });
});
