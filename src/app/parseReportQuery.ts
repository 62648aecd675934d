import { backendNameProblem } from '../lib/pool/validatePoolDocument';
import { REFRESH_LIMITS } from '../lib/report/htmlPage';

/** A validated report query. */
export type ReportQuery =
  | {
      readonly ok: true;
      readonly window: 'run' | 'hour' | 'day' | undefined;
      readonly format: 'json' | 'html';
      readonly pool: string | undefined;
      /** `?service=`: which APIM service's `pool` is meant, where pool names repeat across services; only with `pool`. */
      readonly service: string | undefined;
      /** `?refresh=N`: reload the HTML page every N seconds (10–3600); undefined when absent. */
      readonly refresh: number | undefined;
    }
  | { readonly ok: false; readonly message: string };

const WINDOWS = ['run', 'hour', 'day'] as const;
const FORMATS = ['json', 'html'] as const;
const { min: REFRESH_MIN, max: REFRESH_MAX } = REFRESH_LIMITS;

/** An APIM service name: 1–50 letters, digits and hyphens, starting with a letter, not ending with a hyphen. */
const APIM_SERVICE_NAME = /^[a-zA-Z](?:[a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$/;
/** A DNS host name or IPv4 address (labels of 1–63 letters, digits, hyphens), or a bracketed IPv6 address, with an optional port. */
const HOST = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]{2,45}\])(?::\d{1,5})?$/;
const MAX_SERVICE_LENGTH = 253;

/** Whether `service` can name the service a pool belongs to (`serviceOf`): an APIM service name or the gateway's host. */
export function isServiceName(service: string): boolean {
  return service.length <= MAX_SERVICE_LENGTH && (APIM_SERVICE_NAME.test(service) || HOST.test(service));
}

/**
 * Validates `window`, `format`, `pool`, `service` and `refresh` of `GET /api/report`. Other parameters are ignored (Azure adds `code`
 * for function keys). Without `format`, an `Accept` header that prefers `text/html` selects HTML.
 * Every problem is named at once, with what is allowed.
 */
export function parseReportQuery(query: { get(name: string): string | null }, accept: string | null): ReportQuery {
  const problems: string[] = [];
  const window = query.get('window');
  const format = query.get('format');
  const pool = query.get('pool');
  const refresh = query.get('refresh');
  const service = query.get('service');
  if (refresh !== null && !(/^\d{1,5}$/.test(refresh) && Number(refresh) >= REFRESH_MIN && Number(refresh) <= REFRESH_MAX)) {
    problems.push(`refresh "${truncate(refresh)}" is not allowed; use a whole number of seconds from ${REFRESH_MIN} to ${REFRESH_MAX}`);
  }
  if (window !== null && !(WINDOWS as readonly string[]).includes(window)) {
    problems.push(`window "${truncate(window)}" is not allowed; use one of: ${WINDOWS.join(', ')}`);
  }
  if (format !== null && !(FORMATS as readonly string[]).includes(format)) {
    problems.push(`format "${truncate(format)}" is not allowed; use one of: ${FORMATS.join(', ')}`);
  }
  // Every name a definition accepts (e.g. "pool(1)"), by the definition's own rule (issue 15).
  const poolProblem = pool === null ? undefined : backendNameProblem(pool);
  if (pool !== null && poolProblem !== undefined) {
    problems.push(`pool "${truncate(pool)}" is not a pool name: it ${poolProblem}`);
  }
  if (service !== null && !isServiceName(service)) {
    problems.push(`service "${truncate(service)}" is not a service name: use an APIM service name or the gateway's host name (at most ${MAX_SERVICE_LENGTH} characters)`);
  }
  if (service !== null && pool === null) {
    problems.push('service is only allowed with pool: it says which service\'s pool to report (use ?pool=<name>&service=<name>)');
  }
  if (problems.length > 0) return { ok: false, message: `Invalid query: ${problems.join('; ')}.` };
  const wantsHtml = format === 'html' || (format === null && prefersHtml(accept));
  return {
    ok: true,
    window: (window ?? undefined) as 'run' | 'hour' | 'day' | undefined,
    format: wantsHtml ? 'html' : 'json',
    pool: pool ?? undefined,
    service: service ?? undefined,
    refresh: refresh === null ? undefined : Number(refresh),
  };
}

function prefersHtml(accept: string | null): boolean {
  if (!accept) return false;
  const html = accept.indexOf('text/html');
  const json = accept.indexOf('application/json');
  return html >= 0 && (json < 0 || html < json);
}

function truncate(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 40 ? `${printable.slice(0, 40)}…` : printable;
}
