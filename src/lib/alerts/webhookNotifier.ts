import { WebhookDeliveryError } from './WebhookDeliveryError';
import type { AlertNotification, Notifier } from './types';

export type { Notifier } from './types';

export type WebhookFormat = 'generic' | 'teams' | 'slack';

export interface WebhookNotifierOptions {
  /** The webhook URL. A secret (it embeds the credential): never logged, never in an error message. */
  readonly url: string;
  readonly format: WebhookFormat;
  /** Per attempt; default {@link DEFAULT_WEBHOOK_TIMEOUT_IN_MS}. */
  readonly timeoutInMs?: number;
  /**
   * Retries within one `send`, only when the request surely never reached the webhook (connection refused, DNS);
   * default 2. A timeout, 408, 429 or 5xx is not retried here: the webhook may have received it (a slow Teams
   * workflow answering after 12 s got the same alert 3 times in 21 s, issue 15); `processAlerts` tries again in a
   * later run with the same notification id.
   */
  readonly retries?: number;
  /** First backoff, doubled per retry; default 500 ms. */
  readonly backoffInMs?: number;
  /** Injected for tests; default `setTimeout`. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Teams workflows and Slack can take seconds to answer (a Power Automate flow runs before it replies); an attempt
 * cut short would be sent again although it arrived.
 */
export const DEFAULT_WEBHOOK_TIMEOUT_IN_MS = 30_000;
/** Socket errors raised before a connection exists: the webhook never saw the request, so resending is safe. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const STATUS_EMOJI: Readonly<Record<string, string>> = { alert: '🚨', reminder: '⏰', recovery: '✅' };

/**
 * A notifier that POSTs the notification as JSON to a webhook:
 * - `generic`: the notification fields as they are (`kind`, `pool`, `health`, `previousHealth`, `at`, `message`).
 * - `teams`: an Adaptive Card (1.4) in a `message` envelope — the format of Teams Workflows ("Send webhook alerts
 *   to a channel"), the replacement for Office 365 connector webhooks and their MessageCards, which are being
 *   retired; legacy incoming webhooks accept the same envelope.
 * - `slack`: `{ text, blocks }` for a Slack incoming webhook (`text` is the notification fallback).
 *
 * Each attempt has a timeout; failures that may pass (timeout, network, 408, 429, 5xx) are retried a bounded number
 * of times with exponential backoff. `send` throws `WebhookDeliveryError` ("webhook (teams) returned 500") — the URL
 * never appears in it.
 * @throws TypeError when `url` is not an http(s) URL (the message does not repeat the URL).
 */
export function createWebhookNotifier(options: WebhookNotifierOptions): Notifier {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError('ALERT_WEBHOOK_URL is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('ALERT_WEBHOOK_URL must be an http(s) URL');
  const timeoutInMs = options.timeoutInMs ?? DEFAULT_WEBHOOK_TIMEOUT_IN_MS;
  const retries = Math.max(0, Math.floor(options.retries ?? 2));
  const backoffInMs = options.backoffInMs ?? 500;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const name = `webhook (${options.format})`;

  return {
    name,
    async send(notification: AlertNotification): Promise<void> {
      const body = JSON.stringify(toWebhookPayload(notification, options.format));
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (notification.id !== undefined) {
        // The same id on every attempt: a receiver (or a proxy honouring Idempotency-Key) can drop a duplicate.
        headers['x-alert-id'] = encodeURIComponent(notification.id);
        headers['idempotency-key'] = encodeURIComponent(notification.id);
      }
      let attempt = 0;
      for (;;) {
        attempt += 1;
        const outcome = await postOnce(url, body, headers, timeoutInMs);
        if (outcome.ok) return;
        if (!outcome.notSent || attempt > retries) {
          throw new WebhookDeliveryError(`${name} ${outcome.problem}`, options.format, outcome.status, attempt, { retryAfterMs: outcome.retryAfterMs });
        }
        await sleep(backoffInMs * 2 ** (attempt - 1));
      }
    },
  };
}

type PostOutcome =
  | { ok: true }
  | { ok: false; notSent: boolean; status: number | undefined; problem: string; retryAfterMs: number | undefined };

async function postOnce(url: URL, body: string, headers: Record<string, string>, timeoutInMs: number): Promise<PostOutcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutInMs);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: controller.signal,
      redirect: 'error',
    });
    // Drain the body so the connection is released; its content is not needed (and may echo the request).
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { ok: true };
    const status = response.status;
    return {
      ok: false,
      notSent: false,
      status,
      problem: `returned ${status}`,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    };
  } catch (error) {
    if (controller.signal.aborted) {
      return { ok: false, notSent: false, status: undefined, problem: `timed out after ${timeoutInMs} ms`, retryAfterMs: undefined };
    }
    // Only the error code is kept: undici's messages and causes can name the host and port.
    const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
    return {
      ok: false,
      notSent: typeof code === 'string' && NOT_SENT_CODES.has(code),
      status: undefined,
      problem: `network error${typeof code === 'string' ? ` (${code})` : ''}`,
      retryAfterMs: undefined,
    };
  } finally {
    clearTimeout(timer);
  }
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  // RFC 9110 §10.2.3: delay-seconds or an HTTP-date.
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const atMs = Date.parse(value);
  return Number.isFinite(atMs) ? Math.max(0, atMs - Date.now()) : undefined;
}

/** The JSON body for a format. Exported for documentation and tests. */
export function toWebhookPayload(n: AlertNotification, format: WebhookFormat): unknown {
  const title = `${STATUS_EMOJI[n.kind] ?? ''} ${titleOf(n)}`.trim();
  switch (format) {
    case 'generic':
      return {
        ...(n.id !== undefined ? { id: n.id, incidentId: n.incidentId, sequence: n.sequence } : {}),
        kind: n.kind,
        pool: n.pool,
        health: n.health,
        previousHealth: n.previousHealth,
        at: n.at,
        message: n.message,
      };
    case 'teams':
      return {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              msteams: { width: 'Full' },
              body: [
                { type: 'TextBlock', size: 'Large', weight: 'Bolder', wrap: true, text: title, color: n.kind === 'recovery' ? 'Good' : 'Attention' },
                { type: 'TextBlock', wrap: true, text: n.message },
                {
                  type: 'FactSet',
                  facts: [
                    { title: 'Pool', value: n.pool },
                    { title: 'Health', value: `${n.previousHealth} → ${n.health}` },
                    { title: 'At (UTC)', value: n.at },
                    ...(n.id !== undefined ? [{ title: 'Alert id', value: n.id }] : []),
                  ],
                },
              ],
            },
          },
        ],
      };
    case 'slack':
      return {
        text: `${title}: ${n.message}`,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
          { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(n.message) } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlack(`pool ${n.pool} · ${n.previousHealth} → ${n.health} · ${n.at}${n.id !== undefined ? ` · id ${n.id}` : ''}`) }] },
        ],
      };
  }
}

function titleOf(n: AlertNotification): string {
  switch (n.kind) {
    case 'alert':
      return `${n.health} on ${n.pool}`;
    case 'reminder':
      return `Still ${n.health} on ${n.pool}`;
    case 'recovery':
      return `${n.pool} recovered (was ${n.previousHealth})`;
  }
}

/** Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
