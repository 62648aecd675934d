import { escapeHtml } from './escapeHtml';
import { countOf, formatCount, formatPercent } from './format';
import { markerSvg, seriesStyle, type SeriesStyle } from './seriesStyle';
import type { Report, ReportBackend, ReportHistoryPoint, ReportIncident } from './types';

/** Above this many backends one chart becomes spaghetti: draw one small chart per backend instead. */
const MAX_SERIES_IN_ONE_CHART = 4;
/** Above this many bins, neighbours are merged for display (5-minute bins over a day are mostly noise). */
const MAX_POINTS = 48;
/** Above this many points, markers are drawn on every k-th point only (the line carries the rest). */
const MAX_MARKERS_PER_SERIES = 36;
/** Candidate tops of the y axis: the smallest that fits the data (with headroom) is used. */
const Y_TOPS = [0.05, 0.1, 0.2, 0.25, 0.4, 0.5, 0.75, 1] as const;

interface Layout {
  readonly width: number;
  readonly height: number;
  readonly pad: { readonly left: number; readonly right: number; readonly top: number; readonly bottom: number };
  readonly fontSize: number;
  readonly maxTicks: number;
}

// Font sizes are in viewBox units: the chart is drawn at most 640 px wide and about 358 px on a 390 px phone, so 14
// units read as 11.9 px there (labels stay ≥ 11 px, checked by the browser test).
const MAIN: Layout = { width: 420, height: 230, pad: { left: 50, right: 22, top: 22, bottom: 32 }, fontSize: 14, maxTicks: 5 };
const SMALL: Layout = { width: 300, height: 150, pad: { left: 48, right: 18, top: 20, bottom: 30 }, fontSize: 16, maxTicks: 3 };

type Bins = Report['timeline'] | readonly ReportHistoryPoint[];

/**
 * Share over time per backend as SVG line charts: a solid line with a distinct marker shape per backend and a
 * dashed line at its expected share. Up to four backends share one chart; more get one small chart each (same
 * y axis, so they compare). The y axis stops just above the largest share, so a 3% backend is not a flat line
 * on the floor. Points without answers leave a gap (no invented zero). Incident periods (drift, failover, outage,
 * blind …) are shaded, hatched and named, so the story healthy → drift → recovered reads without colour. The
 * report's `history` (last hour, run by run) is charted when present, otherwise the primary window's bins.
 * The numbers follow in a collapsible table.
 */
export function renderTimelineChart(
  report: Pick<Report, 'timeline' | 'backends' | 'window'> & Partial<Pick<Report, 'history'>>,
  labels: ReadonlyMap<string, string>,
): string {
  const series = seriesOf(report);
  if (series.points.length === 0) return '<p>No probes recorded yet, so there is nothing to chart.</p>';
  const factor = series.byRun ? 1 : Math.max(1, Math.ceil(series.points.length / MAX_POINTS));
  const bins = mergeBins(series.points, factor);
  const binInMs = series.pointWidthMs * factor;
  const lastStart = bins[bins.length - 1]?.startMs ?? series.fromMs;
  const toMs = Math.max(series.toMs, lastStart + (series.byRun ? 0 : binInMs), series.fromMs + 1);
  const fromMs = series.fromMs;
  const yMax = yTop(report.backends, bins);
  const styled = report.backends.map((b, i) => ({ backend: b, style: seriesStyle(i), label: labels.get(b.name) ?? b.name }));
  const context: ChartContext = { bins, fromMs, toMs, binInMs, yMax, byRun: series.byRun, incidents: series.incidents };

  let charts: string;
  if (styled.length <= MAX_SERIES_IN_ONE_CHART) {
    const legend = styled
      .map(
        (s) =>
          `<li><svg viewBox="0 0 28 14"><line x1="0" x2="28" y1="7" y2="7" stroke="${s.style.colour}" stroke-width="2"/>${markerSvg(s.style, 14, 7, 8)}</svg>` +
          `${escapeHtml(s.label)} (${escapeHtml(s.style.markerName)}; dashed: expected ${escapeHtml(formatPercent(s.backend.expectedShare))})</li>`,
      )
      .join('');
    const incidentKey = series.incidents.length > 0 ? '<li><svg viewBox="0 0 28 14"><rect x="0" y="0" width="28" height="14" class="inc-key"/></svg>shaded: incident</li>' : '';
    charts = `<ul class="legend" aria-hidden="true">${legend}${incidentKey}</ul>\n${chartSvg(MAIN, context, styled, 'chart')}`;
  } else {
    charts = `<div class="multiples">${styled
      .map(
        (s) =>
          `<div class="multiple"><div class="small"><strong>${escapeHtml(s.label)}</strong> <span class="muted">expected ${escapeHtml(formatPercent(s.backend.expectedShare))} (dashed)</span></div>` +
          chartSvg(SMALL, context, [s], 'chart-small') +
          '</div>',
      )
      .join('')}</div>`;
  }

  const summary = styled
    .map((s) => {
      const values = bins.map((bin) => bin.shares[s.backend.name]).filter((v): v is number => v !== null && v !== undefined);
      if (values.length === 0) return `${s.label}: no answers`;
      return `${s.label} ranged ${formatPercent(Math.min(...values))}–${formatPercent(Math.max(...values))} (expected ${formatPercent(s.backend.expectedShare)})`;
    })
    .join('; ');
  const answered = bins.reduce((sum, bin) => sum + bin.answered, 0);
  const withSeconds = binInMs < 60_000;
  const head = styled.map((s) => `<th class="num" scope="col">${escapeHtml(s.label)}</th>`).join('');
  const rows = bins
    .map(
      (bin) =>
        `<tr><th scope="row">${escapeHtml(clockUtc(bin.startMs, withSeconds))}</th>` +
        (series.byRun ? `<td>${escapeHtml(bin.verdict ?? '—')}</td>` : '') +
        `<td class="num">${formatCount(bin.answered)}</td>` +
        styled.map((s) => `<td class="num">${escapeHtml(formatPercent(bin.shares[s.backend.name] ?? null))}</td>`).join('') +
        '</tr>',
    )
    .join('\n');
  const caption = [
    `${describePoints(bins.length, series.byRun, binInMs)} from ${clockUtc(fromMs, withSeconds)} to ${clockUtc(toMs, withSeconds)} UTC, ${countOf(answered, 'identified answer')}` +
      (series.leftOutRuns > 0 && series.window !== 'run'
        ? ` (including those of ${countOf(series.leftOutRuns, 'run')} judged on ${series.leftOutRuns === 1 ? 'its' : 'their'} own, which the ${series.window} verdict leaves out)`
        : '') +
      '.',
    series.fromHistory ? describeIncidents(series.incidents, withSeconds) : '',
    `${summary}.`,
  ]
    .filter((t) => t !== '')
    .join(' ');

  return `<figure>
${charts}
<figcaption>${escapeHtml(caption)}</figcaption>
<details><summary>Shares per ${series.byRun ? 'run' : 'bin'} (table)</summary>
<div class="table-wrap"><table><thead><tr><th scope="col">${series.byRun ? 'Run start' : 'Bin start'} (UTC)</th>${series.byRun ? '<th scope="col">Run verdict</th>' : ''}<th class="num" scope="col">Answers</th>${head}</tr></thead>
<tbody>${rows}</tbody></table></div></details>
</figure>`;
}

/** What is charted: the report's history when it has points, otherwise the primary window's bins. */
function seriesOf(report: Pick<Report, 'timeline' | 'backends' | 'window'> & Partial<Pick<Report, 'history'>>): {
  points: Bins;
  fromMs: number;
  toMs: number;
  pointWidthMs: number;
  byRun: boolean;
  incidents: readonly ReportIncident[];
  leftOutRuns: number;
  window: string;
  /** Incidents are known (from the history); without it the chart claims nothing about them. */
  fromHistory: boolean;
} {
  const h = report.history;
  if (h && h.points.length > 0) {
    const byRun = h.pointsAre === 'run';
    // Run by run: the span starts at the first run (or incident) rather than an hour before, so a fresh demo's
    // minutes fill the chart instead of its right edge.
    const firstMs = Math.min(h.points[0]!.startMs, ...h.incidents.map((i) => i.fromMs));
    const fromMs = byRun ? Math.max(h.fromMs, firstMs) : h.fromMs;
    const toMs = byRun ? Math.max(h.points[h.points.length - 1]!.startMs, fromMs + 1) : h.toMs;
    const gaps = h.points.slice(1).map((p, i) => p.startMs - h.points[i]!.startMs).filter((g) => g > 0);
    const pointWidthMs = byRun ? (gaps.length > 0 ? Math.min(...gaps) : Math.max(1, toMs - fromMs)) : h.binInMs;
    return { points: h.points, fromMs, toMs, pointWidthMs, byRun, incidents: h.incidents, leftOutRuns: h.leftOutRuns, window: h.window, fromHistory: true };
  }
  const fromMs = report.window.fromMs;
  const pointWidthMs =
    report.timeline.length > 1 ? report.timeline[1]!.startMs - report.timeline[0]!.startMs : Math.max(1, report.window.toMs - fromMs);
  return { points: report.timeline, fromMs, toMs: report.window.toMs, pointWidthMs, byRun: false, incidents: [], leftOutRuns: 0, window: report.window.name, fromHistory: false };
}

function describePoints(count: number, byRun: boolean, binInMs: number): string {
  if (byRun) return `${countOf(count, 'run')}, one point each,`;
  const binText = binInMs >= 60_000 ? `${Math.round(binInMs / 60_000)} min` : `${Math.max(1, Math.round(binInMs / 1000))} s`;
  return `${countOf(count, 'bin')} of ${binText}`;
}

function describeIncidents(incidents: readonly ReportIncident[], withSeconds: boolean): string {
  if (incidents.length === 0) return 'No incident in this span.';
  const parts = incidents.map(
    (i) => `${i.health} from ${clockUtc(i.fromMs, withSeconds)}${i.toMs === null ? ', still open' : ` to ${clockUtc(i.toMs, withSeconds)}`}`,
  );
  return `Shaded: ${parts.join('; ')}.`;
}

interface ChartContext {
  readonly bins: readonly ChartPoint[];
  readonly fromMs: number;
  readonly toMs: number;
  readonly binInMs: number;
  readonly yMax: number;
  /** Points are runs (drawn at their start) rather than bins (drawn at their middle). */
  readonly byRun: boolean;
  readonly incidents: readonly ReportIncident[];
}

/** One charted point: a bin of the timeline or a run of the history. */
type ChartPoint = Bins[number] & { readonly verdict?: string };

/** Fill per incident health; a hatch pattern and a text label go with it, so colour is never the only cue. */
const INCIDENT_FILL: Readonly<Record<string, string>> = {
  drift: '#D55E00',
  failover: '#CC79A7',
  outage: '#b42318',
  blind: '#57606a',
  'auth-failure': '#8F6A00',
  'config-drift': '#0072B2',
};

function chartSvg(
  layout: Layout,
  c: ChartContext,
  series: readonly { readonly backend: ReportBackend; readonly style: SeriesStyle; readonly label: string }[],
  className: string,
): string {
  const { width, height, pad, fontSize } = layout;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (ms: number): number => pad.left + ((Math.min(Math.max(ms, c.fromMs), c.toMs) - c.fromMs) / (c.toMs - c.fromMs)) * plotW;
  const y = (share: number): number => pad.top + (1 - Math.min(share, c.yMax) / c.yMax) * plotH;
  const f = (n: number): string => n.toFixed(1);

  const parts: string[] = [];
  const defs: string[] = [];
  c.incidents.forEach((inc, k) => {
    const colour = INCIDENT_FILL[inc.health] ?? '#9a6700';
    const x0 = x(inc.fromMs);
    const x1 = Math.max(x0 + 3, x(inc.toMs ?? c.toMs));
    const id = `hatch-${className}-${k}`;
    defs.push(
      `<pattern id="${id}" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="${colour}" fill-opacity="0.12"/><line x1="0" y1="0" x2="0" y2="8" stroke="${colour}" stroke-opacity="0.35" stroke-width="3"/></pattern>`,
    );
    parts.push(
      `<rect class="incident" data-health="${escapeHtml(inc.health)}" x="${f(x0)}" y="${pad.top}" width="${f(x1 - x0)}" height="${f(plotH)}" fill="url(#${id})"><title>${escapeHtml(inc.health)}</title></rect>`,
    );
    parts.push(`<text x="${f(x0 + 2)}" y="${f(pad.top - 5)}" font-size="${fontSize}" fill="${colour}" font-weight="600">${escapeHtml(inc.health)}</text>`);
  });
  const gridSteps = layout === SMALL ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1];
  for (const g of gridSteps) {
    const share = g * c.yMax;
    parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${f(y(share))}" y2="${f(y(share))}" stroke="${g === 0 ? '#8c959f' : '#d0d7de'}" stroke-width="1"/>`);
    parts.push(`<text x="${pad.left - 6}" y="${f(y(share) + 4)}" text-anchor="end" font-size="${fontSize}" fill="#57606a">${escapeHtml(axisPercent(share, c.yMax))}</text>`);
  }
  const ticks = timeTicks(c.fromMs, c.toMs, layout.maxTicks);
  const withSeconds = ticks.length > 1 && ticks[1]! - ticks[0]! < 60_000;
  for (const t of ticks) {
    parts.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${f(y(0))}" y2="${f(y(0) + 4)}" stroke="#8c959f"/>`);
    parts.push(`<text x="${f(x(t))}" y="${f(y(0) + fontSize + 4)}" text-anchor="middle" font-size="${fontSize}" fill="#57606a">${escapeHtml(clockUtc(t, withSeconds))}</text>`);
  }
  if (layout === MAIN) parts.push(`<text x="${width - pad.right}" y="${f(y(0) + 2 * fontSize + 2)}" text-anchor="end" font-size="${fontSize}" fill="#57606a">UTC</text>`);

  const markerEvery = Math.max(1, Math.ceil(c.bins.length / MAX_MARKERS_PER_SERIES));
  const aria: string[] = [];
  for (const { backend, style, label } of series) {
    const ye = f(y(backend.expectedShare));
    parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${ye}" y2="${ye}" stroke="${style.colour}" stroke-width="1.5" stroke-dasharray="6 4" opacity="0.9"/>`);
    let d = '';
    let penDown = false;
    const markers: string[] = [];
    c.bins.forEach((bin, k) => {
      const share = bin.shares[backend.name];
      if (share === null || share === undefined) {
        penDown = false;
        return;
      }
      const px = x(c.byRun ? bin.startMs : bin.startMs + c.binInMs / 2);
      const py = y(share);
      d += `${penDown ? 'L' : 'M'}${f(px)},${f(py)}`;
      penDown = true;
      if (k % markerEvery === 0) markers.push(markerSvg(style, px, py, 7));
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${style.colour}" stroke-width="2" stroke-linejoin="round"/>`);
    parts.push(markers.join(''));
    aria.push(`${label}, expected ${formatPercent(backend.expectedShare)}`);
  }
  const incidentText = c.incidents.length > 0 ? ` Shaded incidents: ${c.incidents.map((i) => i.health).join(', ')}.` : '';
  return `<svg class="${className}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(`Share over time: ${aria.join('; ')}.${incidentText} Numbers in the table below.`)}">${defs.length > 0 ? `<defs>${defs.join('')}</defs>` : ''}${parts.join('')}</svg>`;
}

/** Merges every `factor` consecutive bins, recomputing shares from the answer counts they stand for. */
function mergeBins(bins: Bins, factor: number): readonly ChartPoint[] {
  if (factor <= 1) return bins;
  const merged: ChartPoint[] = [];
  for (let i = 0; i < bins.length; i += factor) {
    const group = bins.slice(i, i + factor);
    const answered = group.reduce((sum, b) => sum + b.answered, 0);
    const names = new Set(group.flatMap((b) => Object.keys(b.shares)));
    const shares: Record<string, number | null> = {};
    for (const name of names) {
      const count = group.reduce((sum, b) => sum + (b.shares[name] ?? 0) * b.answered, 0);
      shares[name] = answered > 0 ? count / answered : null;
    }
    merged.push({ startMs: group[0]!.startMs, answered, shares });
  }
  return merged;
}

/** The smallest candidate top that leaves ~10% headroom above every share and expectation. */
function yTop(backends: readonly ReportBackend[], bins: readonly ChartPoint[]): number {
  let max = 0;
  for (const b of backends) max = Math.max(max, b.expectedShare);
  for (const bin of bins) {
    for (const share of Object.values(bin.shares)) if (share !== null && Number.isFinite(share)) max = Math.max(max, share);
  }
  return Y_TOPS.find((top) => top >= Math.min(1, max * 1.1)) ?? 1;
}

function axisPercent(share: number, yMax: number): string {
  const pct = share * 100;
  return `${yMax <= 0.1 && pct % 1 !== 0 ? pct.toFixed(1) : Math.round(pct)}%`;
}

function clockUtc(ms: number, withSeconds = false): string {
  const iso = new Date(ms).toISOString();
  return withSeconds ? iso.slice(11, 19) : iso.slice(11, 16);
}

/** Up to `maxTicks` round tick times across the window. */
function timeTicks(fromMs: number, toMs: number, maxTicks: number): number[] {
  const span = toMs - fromMs;
  const steps = [1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000];
  const step = steps.find((s) => span / s <= maxTicks) ?? 86_400_000 * Math.ceil(span / 86_400_000 / maxTicks);
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs && ticks.length <= maxTicks; t += step) ticks.push(t);
  return ticks;
}
