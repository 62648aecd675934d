import { WebhookDeliveryError } from './WebhookDeliveryError';
import type { AlertNotification, Notifier } from './types';

export type { Notifier } from './types';

export type WebhookFormat = 'generic' | 'teams' | 'slack';

export interface WebhookNotifierOptions {
  /** The webhook URL. A secret (it embeds the credential): never logged, never in an error message. */
  readonly url: string;
  readonly format: WebhookFormat;
  /** Per attempt; default 10 000 ms. */
  readonly timeoutInMs?: number;
  /** Retries after the first attempt, on timeout, network error, 408, 429 and 5xx; default 2. */
  readonly retries?: number;
  /** First backoff, doubled per retry; default 500 ms. A `Retry-After` up to 10 s is honoured instead. */
  readonly backoffInMs?: number;
  /** Injected for tests; default `setTimeout`. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const MAX_RETRY_AFTER_MS = 10_000;
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
  const timeoutInMs = options.timeoutInMs ?? 10_000;
  const retries = Math.max(0, Math.floor(options.retries ?? 2));
  const backoffInMs = options.backoffInMs ?? 500;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const name = `webhook (${options.format})`;

  return {
    name,
    async send(notification: AlertNotification): Promise<void> {
      const body = JSON.stringify(toWebhookPayload(notification, options.format));
      let lastStatus: number | undefined;
      let lastProblem = '';
      for (let attempt = 1; attempt <= retries + 1; attempt++) {
        const outcome = await postOnce(url, body, timeoutInMs);
        if (outcome.ok) return;
        lastStatus = outcome.status;
        lastProblem = outcome.problem;
        if (!outcome.retryable || attempt > retries) break;
        const backoff = backoffInMs * 2 ** (attempt - 1);
        await sleep(outcome.retryAfterMs !== undefined && outcome.retryAfterMs <= MAX_RETRY_AFTER_MS ? outcome.retryAfterMs : backoff);
      }
      const attempts = retries + 1;
      throw new WebhookDeliveryError(`${name} ${lastProblem}`, options.format, lastStatus, attempts);
    },
  };
}

type PostOutcome =
  | { ok: true }
  | { ok: false; retryable: boolean; status: number | undefined; problem: string; retryAfterMs: number | undefined };

async function postOnce(url: URL, body: string, timeoutInMs: number): Promise<PostOutcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutInMs);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
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
      retryable: status === 408 || status === 429 || status >= 500,
      status,
      problem: `returned ${status}`,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    };
  } catch (error) {
    if (controller.signal.aborted) {
      return { ok: false, retryable: true, status: undefined, problem: `timed out after ${timeoutInMs} ms`, retryAfterMs: undefined };
    }
    // Only the error code is kept: undici's messages and causes can name the host and port.
    const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
    return { ok: false, retryable: true, status: undefined, problem: `network error${typeof code === 'string' ? ` (${code})` : ''}`, retryAfterMs: undefined };
  } finally {
    clearTimeout(timer);
  }
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The JSON body for a format. Exported for documentation and tests. */
export function toWebhookPayload(n: AlertNotification, format: WebhookFormat): unknown {
  const title = `${STATUS_EMOJI[n.kind] ?? ''} ${titleOf(n)}`.trim();
  switch (format) {
    case 'generic':
      return { kind: n.kind, pool: n.pool, health: n.health, previousHealth: n.previousHealth, at: n.at, message: n.message };
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
          { type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlack(`pool ${n.pool} · ${n.previousHealth} → ${n.health} · ${n.at}`) }] },
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
