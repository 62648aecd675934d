import { createHash } from 'node:crypto';
import { escapeHtml } from './escapeHtml';

/**
 * The pieces every HTML page of the verifier shares (the pool report and the fleet overview): the strict
 * Content-Security-Policy derived from the page's one inline stylesheet, the `<head>`, the auto-refresh bounds,
 * status tags and icons, UTC times, and the table that becomes cards on a phone. Pure.
 */

/** Bounds of `?refresh=`: faster than every 10 s only loads the store; slower than an hour is not "auto". */
export const REFRESH_LIMITS = { min: 10, max: 3600 } as const;

/** `seconds` when it is a whole number within {@link REFRESH_LIMITS}, otherwise undefined (no refresh). */
export function refreshSecondsOf(seconds: number | undefined): number | undefined {
  return seconds !== undefined && Number.isInteger(seconds) && seconds >= REFRESH_LIMITS.min && seconds <= REFRESH_LIMITS.max ? seconds : undefined;
}

/**
 * The Content-Security-Policy to send with a page whose only style is the inline block `style`: nothing may load
 * (no script at all, no external font, image or stylesheet); the style is allowed by its sha256 hash rather than
 * `'unsafe-inline'`. `meta` is the same policy minus `frame-ancestors` (which only works as a header), embedded as
 * `<meta>` so a saved copy of the page stays locked down.
 */
export function contentSecurityPolicyFor(style: string): { readonly header: string; readonly meta: string } {
  const hash = `'sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}'`;
  const directives = ["default-src 'none'", `style-src ${hash}`, 'img-src data:', "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"];
  return { header: directives.join('; '), meta: directives.filter((d) => !d.startsWith('frame-ancestors')).join('; ') };
}

/** The document start up to `<body>`: charset, viewport, the CSP `<meta>`, the optional refresh, the title and the style. */
export function renderHead(options: { readonly title: string; readonly style: string; readonly metaPolicy: string; readonly refreshSeconds: number | undefined }): string {
  const refresh = options.refreshSeconds;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(options.metaPolicy)}">
${refresh !== undefined ? `<meta http-equiv="refresh" content="${refresh}">\n` : ''}<meta name="color-scheme" content="light">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(options.title)}</title>
<style>${options.style}</style>
</head>`;
}

export type Tone = 'ok' | 'bad' | 'warn' | 'info';

export const ICONS = {
  ok: '<svg class="icon" viewBox="0 0 36 36" aria-hidden="true"><circle cx="18" cy="18" r="17" fill="#1a7f37"/><path d="M10 18.5l5.5 5.5L27 12.5" stroke="#fff" stroke-width="3.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  bad: '<svg class="icon" viewBox="0 0 36 36" aria-hidden="true"><path d="M18 2L35 33H1z" fill="#b42318"/><path d="M18 12v11" stroke="#fff" stroke-width="3.5" stroke-linecap="round"/><circle cx="18" cy="28" r="2.2" fill="#fff"/></svg>',
  info: '<svg class="icon" viewBox="0 0 36 36" aria-hidden="true"><circle cx="18" cy="18" r="17" fill="#0969da"/><path d="M13 14a5 5 0 1 1 7 4.6c-1.3.6-2 1.4-2 2.9v1" stroke="#fff" stroke-width="3.2" fill="none" stroke-linecap="round"/><circle cx="18" cy="28" r="2.2" fill="#fff"/></svg>',
  warn: '<svg class="icon" viewBox="0 0 36 36" aria-hidden="true"><circle cx="18" cy="18" r="15.5" fill="none" stroke="#9a6700" stroke-width="3"/><path d="M8 28L28 8" stroke="#9a6700" stroke-width="3"/></svg>',
} as const;

/** How a page names each alert-worthy health in capitals (banners, badges); `ok` is named by the verdict instead. */
export const HEALTH_LABEL: Readonly<Record<string, string>> = {
  blind: 'VERIFIER BLIND',
  outage: 'OUTAGE',
  'auth-failure': 'AUTH FAILURE',
  failover: 'FAILOVER',
  drift: 'DRIFT',
  'config-drift': 'CONFIG DRIFT',
};

/** A status badge: the text (escaped) in the tone's colour, so colour never stands alone. */
export function tag(text: string, tone: Tone): string {
  return `<span class="tag st-${tone}">${escapeHtml(text)}</span>`;
}

/**
 * A table that narrow screens show as one card per row ("Label: value"): cells are HTML already (escape them);
 * the headers are escaped here. `numeric` columns are right-aligned; `columnClasses[i]` is added to column i's cells.
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<number> = new Set(),
  columnClasses: readonly (string | undefined)[] = [],
): string {
  const head = headers.map((h, i) => `<th scope="col"${numeric.has(i) ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const classOf = (i: number): string => {
    const names = [numeric.has(i) ? 'num' : undefined, columnClasses[i]].filter((c) => c !== undefined);
    return names.length > 0 ? ` class="${escapeHtml(names.join(' '))}"` : '';
  };
  // data-label lets narrow screens show each row as a card ("Label: value") instead of a squeezed grid.
  const body = rows
    .map((r) => `<tr>${r.map((cell, i) => `<td data-label="${escapeHtml(headers[i] ?? '')}"${classOf(i)}>${cell}</td>`).join('')}</tr>`)
    .join('\n');
  return `<div class="table-wrap"><table class="stack"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** `2026-11-25 01:35 UTC`; `—` for none; the input itself when it is not a date. */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `2026-11-25 01:35:07 UTC`; the input itself when it is not a date. */
export function utcSeconds(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
