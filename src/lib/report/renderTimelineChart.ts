import { escapeHtml } from './escapeHtml';
import { formatCount, formatPercent } from './format';
import { markerSvg, seriesStyle, type SeriesStyle } from './seriesStyle';
import type { Report, ReportBackend } from './types';

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

const MAIN: Layout = { width: 420, height: 220, pad: { left: 48, right: 22, top: 12, bottom: 30 }, fontSize: 13, maxTicks: 6 };
const SMALL: Layout = { width: 300, height: 130, pad: { left: 44, right: 18, top: 10, bottom: 26 }, fontSize: 13, maxTicks: 3 };

type Bins = Report['timeline'];

/**
 * Share over time per backend as SVG line charts: a solid line with a distinct marker shape per backend and a
 * dashed line at its expected share. Up to four backends share one chart; more get one small chart each (same
 * y axis, so they compare). The y axis stops just above the largest share, so a 3% backend is not a flat line
 * on the floor. Bins without answers leave a gap (no invented zero). The numbers follow in a collapsible table.
 */
export function renderTimelineChart(report: Pick<Report, 'timeline' | 'backends' | 'window'>, labels: ReadonlyMap<string, string>): string {
  if (report.timeline.length === 0) return '<p>No time bins in this window yet.</p>';
  const fromMs = report.window.fromMs;
  const sourceBinInMs =
    report.timeline.length > 1 ? report.timeline[1]!.startMs - report.timeline[0]!.startMs : Math.max(1, report.window.toMs - fromMs);
  const factor = Math.max(1, Math.ceil(report.timeline.length / MAX_POINTS));
  const bins = mergeBins(report.timeline, factor);
  const binInMs = sourceBinInMs * factor;
  const lastStart = bins[bins.length - 1]?.startMs ?? fromMs;
  const toMs = Math.max(report.window.toMs, lastStart + binInMs, fromMs + 1);
  const yMax = yTop(report.backends, bins);
  const styled = report.backends.map((b, i) => ({ backend: b, style: seriesStyle(i), label: labels.get(b.name) ?? b.name }));
  const context = { bins, fromMs, toMs, binInMs, yMax };

  let charts: string;
  if (styled.length <= MAX_SERIES_IN_ONE_CHART) {
    const legend = styled
      .map(
        (s) =>
          `<li><svg viewBox="0 0 28 14"><line x1="0" x2="28" y1="7" y2="7" stroke="${s.style.colour}" stroke-width="2"/>${markerSvg(s.style, 14, 7, 8)}</svg>` +
          `${escapeHtml(s.label)} (${escapeHtml(s.style.markerName)}; dashed: expected ${escapeHtml(formatPercent(s.backend.expectedShare))})</li>`,
      )
      .join('');
    charts = `<ul class="legend" aria-hidden="true">${legend}</ul>\n${chartSvg(MAIN, context, styled, 'chart')}`;
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
  const binText = binInMs >= 60_000 ? `${Math.round(binInMs / 60_000)} min` : `${Math.max(1, Math.round(binInMs / 1000))} s`;
  const head = styled.map((s) => `<th class="num" scope="col">${escapeHtml(s.label)}</th>`).join('');
  const rows = bins
    .map(
      (bin) =>
        `<tr><th scope="row">${escapeHtml(clockUtc(bin.startMs, binInMs < 60_000))}</th><td class="num">${formatCount(bin.answered)}</td>` +
        styled.map((s) => `<td class="num">${escapeHtml(formatPercent(bin.shares[s.backend.name] ?? null))}</td>`).join('') +
        '</tr>',
    )
    .join('\n');

  return `<figure>
${charts}
<figcaption>${escapeHtml(`${bins.length} bins of ${binText}, ${formatCount(answered)} identified answers. ${summary}.`)}</figcaption>
<details><summary>Shares per bin (table)</summary>
<div class="table-wrap"><table><thead><tr><th scope="col">Bin start (UTC)</th><th class="num" scope="col">Answers</th>${head}</tr></thead>
<tbody>${rows}</tbody></table></div></details>
</figure>`;
}

interface ChartContext {
  readonly bins: Bins;
  readonly fromMs: number;
  readonly toMs: number;
  readonly binInMs: number;
  readonly yMax: number;
}

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
  if (layout === MAIN) parts.push(`<text x="${width - pad.right}" y="${height - 1}" text-anchor="end" font-size="11" fill="#57606a">UTC</text>`);

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
      const px = x(bin.startMs + c.binInMs / 2);
      const py = y(share);
      d += `${penDown ? 'L' : 'M'}${f(px)},${f(py)}`;
      penDown = true;
      if (k % markerEvery === 0) markers.push(markerSvg(style, px, py, 7));
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${style.colour}" stroke-width="2" stroke-linejoin="round"/>`);
    parts.push(markers.join(''));
    aria.push(`${label}, expected ${formatPercent(backend.expectedShare)}`);
  }
  return `<svg class="${className}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(`Share over time: ${aria.join('; ')}. Numbers in the table below.`)}">${parts.join('')}</svg>`;
}

/** Merges every `factor` consecutive bins, recomputing shares from the answer counts they stand for. */
function mergeBins(bins: Bins, factor: number): Bins {
  if (factor <= 1) return bins;
  const merged: Bins[number][] = [];
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
function yTop(backends: readonly ReportBackend[], bins: Bins): number {
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
