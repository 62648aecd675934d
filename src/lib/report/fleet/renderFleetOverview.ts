import { escapeHtml } from '../escapeHtml';
import { countOf } from '../format';
import { contentSecurityPolicyFor, HEALTH_LABEL, ICONS, refreshSecondsOf, renderHead, table, tag, utc, utcSeconds, type Tone } from '../htmlPage';
import { REPORT_STYLE } from '../reportStyle';
import { FLEET_SEVERITY_ORDER } from './buildFleetOverview';
import { renderSparkline } from './renderSparkline';
import type { FleetOverview, FleetRow, FleetSeverity } from './types';

/** The pool page's stylesheet plus the few rules of the fleet table: one `<style>` block, one hash in the CSP. */
const FLEET_STYLE = `${REPORT_STYLE}main,.banner-inner,footer{max-width:1240px}
#pools td{overflow-wrap:anywhere}
#pools td.pool{min-width:10em}
#pools td.text{min-width:16em}
#pools td.when{white-space:nowrap}
#pools .sub{display:block}
.spark-box{display:block}
.spark{display:block;width:132px;height:36px}
ul.counts{list-style:none;display:flex;flex-wrap:wrap;gap:6px 14px;padding:0;margin:10px 0}
@media (max-width:600px){#pools td.pool,#pools td.text{min-width:0}#pools td.when{white-space:normal}#pools td>.cell{min-width:0}
#pools td.text{display:block;text-align:left}#pools td.text::before{display:block;max-width:none}#pools .spark{margin-left:auto}}
`;

const POLICY = contentSecurityPolicyFor(FLEET_STYLE);

/** Options of {@link renderFleetOverview}. */
export interface RenderFleetOptions {
  /** Reload every this many seconds (validated like the pool page's `?refresh=`; anything else is ignored). Kept in the pool links. */
  readonly refreshSeconds?: number;
}

const LABEL: Readonly<Record<FleetSeverity, string>> = {
  ...(HEALTH_LABEL as Record<'outage' | 'blind' | 'auth-failure' | 'failover' | 'drift' | 'config-drift', string>),
  error: 'NO REPORT',
  poisoned: 'POISONED',
  other: 'UNHEALTHY',
  'no-data': 'NO DATA',
  inconclusive: 'INCONCLUSIVE',
  ok: 'OK',
};

/** How the headline counts each severity: "6 pools: 1 in outage, 2 drifting, 3 ok." */
const PHRASE: Readonly<Record<FleetSeverity, string>> = {
  error: 'without a report',
  poisoned: 'with poisoned runs',
  outage: 'in outage',
  blind: 'where the verifier is blind',
  'auth-failure': 'with an auth failure',
  failover: 'in failover',
  drift: 'drifting',
  'config-drift': 'with config drift',
  other: 'in another unhealthy state',
  'no-data': 'with no data',
  inconclusive: 'inconclusive',
  ok: 'ok',
};

function toneOf(severity: FleetSeverity): Tone {
  return severity === 'ok' ? 'ok' : severity === 'inconclusive' ? 'info' : severity === 'no-data' ? 'warn' : 'bad';
}

/**
 * The fleet overview as one self-contained HTML page, styled like the pool report and under the same kind of
 * strict Content-Security-Policy (no script, nothing loaded; the one inline style allowed by its hash): a banner
 * with the worst state, counts, and a table of pools, worst first, with a share sparkline per pool. On a phone
 * the table becomes one card per pool. Every text is HTML-escaped (pool names are user input). Pure.
 */
export function renderFleetOverview(overview: FleetOverview, options: RenderFleetOptions = {}): { html: string; contentSecurityPolicy: string } {
  const refresh = refreshSecondsOf(options.refreshSeconds);
  const worst = overview.worst;
  const label = worst === null ? 'NO POOLS' : worst === 'ok' ? 'ALL OK' : LABEL[worst];
  const tone: Tone = worst === null ? 'warn' : toneOf(worst);
  const icon = tone === 'ok' ? ICONS.ok : tone === 'info' ? ICONS.info : tone === 'warn' ? ICONS.warn : ICONS.bad;
  const headline = headlineOf(overview);
  const title = `${label} · fleet of ${countOf(overview.totalPools, 'pool')} · APIM pool verifier`;
  const shown =
    overview.omittedPools > 0
      ? ` · showing the ${overview.pools.length} worst of ${countOf(overview.totalPools, 'pool')}, the ${countOf(overview.omittedPools, 'healthiest pool')} left out`
      : '';
  const html = `${renderHead({ title, style: FLEET_STYLE, metaPolicy: POLICY.meta, refreshSeconds: refresh })}
<body>
<header class="banner st-${tone}" role="status">
<div class="banner-inner">
<div class="verdict">${icon}<div><h1>${escapeHtml(label)} · fleet of ${escapeHtml(countOf(overview.totalPools, 'pool'))}</h1><p class="headline">${escapeHtml(headline)}</p></div></div>
<p class="meta">Generated ${escapeHtml(utcSeconds(overview.generatedAt))}${refresh !== undefined ? ` · refreshes every ${refresh} s` : ''}${escapeHtml(shown)}</p>
</div>
</header>
<main>
${renderCounts(overview)}
<section id="pools" aria-labelledby="h-pools"><h2 id="h-pools">Pools, worst first</h2>
${overview.pools.length === 0 ? '<p>No pool is watched: the verifier has no pool definition.</p>' : renderTable(overview, refresh)}
</section>
</main>
<footer>apim-pool-verifier · fleet overview schema v${escapeHtml(overview.schemaVersion)} · the same data is served as JSON.</footer>
</body>
</html>
`;
  return { html, contentSecurityPolicy: POLICY.header };
}

function headlineOf(overview: FleetOverview): string {
  if (overview.totalPools === 0) return 'No pool is watched.';
  const parts = FLEET_SEVERITY_ORDER.filter((s) => overview.counts.bySeverity[s] > 0).map((s) => `${overview.counts.bySeverity[s]} ${PHRASE[s]}`);
  return `${countOf(overview.totalPools, 'pool')}: ${parts.join(', ')}.`;
}

function renderCounts(overview: FleetOverview): string {
  if (overview.totalPools === 0) return '';
  const items = FLEET_SEVERITY_ORDER.filter((s) => overview.counts.bySeverity[s] > 0).map(
    (s) => `<li>${tag(LABEL[s], toneOf(s))} ${escapeHtml(String(overview.counts.bySeverity[s]))}</li>`,
  );
  const incidents = `<li>Open incidents: ${escapeHtml(String(overview.counts.openIncidents))}</li>`;
  return `<ul class="counts" aria-label="Pools by state">${items.join('')}${incidents}</ul>`;
}

function renderTable(overview: FleetOverview, refresh: number | undefined): string {
  // One element per cell: on a phone each cell is a flex row of its label and this, whatever the content.
  const rows = overview.pools.map((row) =>
    [poolCell(row, refresh), statusCell(row), escapeHtml(row.headline), sparkCell(row), incidentCell(row), escapeHtml(dataAsOfText(row))].map(
      (cell) => `<div class="cell">${cell}</div>`,
    ),
  );
  const key =
    '<p class="small muted">Share: the share of identified answers per run over the last hour, one line per backend in the pool report\'s colours (the last point marked with its shape); the tick at the right edge is the backend\'s expected share. Exact numbers are in each chart\'s description and on the pool\'s page.</p>';
  return `${key}\n${table(['Pool', 'Status', 'Headline', 'Share, last hour', 'Open incident', 'Data as of'], rows, new Set(), ['pool', undefined, 'text', 'spark-cell', 'when', 'when'])}`;
}

function dataAsOfText(row: FleetRow): string {
  if (row.dataAsOf !== null) return utc(row.dataAsOf);
  return row.status === 'no-data' ? 'no data yet' : row.status === 'error' ? '—' : 'not given';
}

function poolCell(row: FleetRow, refresh: number | undefined): string {
  const name = escapeHtml(row.pool);
  const link =
    row.link === null ? `<strong>${name}</strong>` : `<a href="${escapeHtml(`${row.link}&format=html${refresh !== undefined ? `&refresh=${refresh}` : ''}`)}">${name}</a>`;
  return `${link}<span class="sub small muted">${escapeHtml(row.service)}</span>`;
}

function statusCell(row: FleetRow): string {
  const parts = [tag(LABEL[row.severity], toneOf(row.severity))];
  if (row.poisoned !== null) {
    // The state under the poison: the last report's verdict, which may be stale.
    if (row.status !== 'error') parts.push(`<span class="sub small">last report: ${escapeHtml(row.health !== null && row.health !== 'ok' ? row.health : row.status)}</span>`);
    const last = row.poisoned.lastAt !== null ? `, the last at ${utc(row.poisoned.lastAt)}` : '';
    const reason = row.poisoned.reason !== null ? `: ${row.poisoned.reason}` : '';
    parts.push(`<span class="sub small">${escapeHtml(`${countOf(row.poisoned.count, 'poisoned run message')}${last}${reason}`)}</span>`);
  }
  return parts.join('');
}

function sparkCell(row: FleetRow): string {
  if (row.sparkline === null) return '<span class="small muted">no shares to chart</span>';
  return renderSparkline(row.sparkline);
}

function incidentCell(row: FleetRow): string {
  if (row.incident === null) return '<span class="muted">none</span>';
  const { health, since, openForMs } = row.incident;
  return `${tag(HEALTH_LABEL[health] ?? health.toUpperCase(), 'bad')}<span class="sub small">since ${escapeHtml(utc(since))} (${escapeHtml(formatDuration(openForMs))})</span>`;
}

/** `under a minute`, `40 min`, `3 h 5 min`, `4 days`. */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'under a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 > 0 ? ` ${minutes % 60} min` : ''}`;
  return countOf(Math.floor(hours / 24), 'day');
}
