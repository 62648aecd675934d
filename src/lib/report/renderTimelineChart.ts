import { escapeHtml } from './escapeHtml';
import { formatCount, formatPercent } from './format';
import { markerSvg, seriesStyle } from './seriesStyle';
import type { Report } from './types';

const WIDTH = 420;
const HEIGHT = 220;
const PAD = { left: 48, right: 22, top: 12, bottom: 30 } as const;
/** Above this many bins, markers are drawn on every k-th point only (the line carries the rest). */
const MAX_MARKERS_PER_SERIES = 36;

/**
 * Share over time per backend as an SVG line chart: one solid line with a distinct marker shape per backend and a
 * dashed line at its expected share. Bins without answers leave a gap (no invented zero). The numbers follow in a
 * collapsible table (no script needed: `<details>`).
 */
export function renderTimelineChart(report: Pick<Report, 'timeline' | 'backends' | 'window'>, labels: ReadonlyMap<string, string>): string {
  const bins = report.timeline;
  if (bins.length === 0) return '<p>No time bins in this window yet.</p>';
  const fromMs = report.window.fromMs;
  const toMs = report.window.toMs > fromMs ? report.window.toMs : (bins[bins.length - 1]?.startMs ?? fromMs) + 1;
  const binInMs = bins.length > 1 ? (bins[1]!.startMs - bins[0]!.startMs) : toMs - fromMs;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (ms: number): number => PAD.left + (Math.min(Math.max(ms, fromMs), toMs) - fromMs) / (toMs - fromMs) * plotW;
  const y = (share: number): number => PAD.top + (1 - share) * plotH;
  const f = (n: number): string => n.toFixed(1);

  const grid: string[] = [];
  for (const g of [0, 0.25, 0.5, 0.75, 1]) {
    grid.push(`<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${f(y(g))}" y2="${f(y(g))}" stroke="${g === 0 ? '#8c959f' : '#d0d7de'}" stroke-width="1"/>`);
    grid.push(`<text x="${PAD.left - 6}" y="${f(y(g) + 4)}" text-anchor="end" font-size="13" fill="#57606a">${g * 100}%</text>`);
  }
  for (const t of timeTicks(fromMs, toMs)) {
    grid.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${f(y(0))}" y2="${f(y(0) + 4)}" stroke="#8c959f"/>`);
    grid.push(`<text x="${f(x(t))}" y="${f(y(0) + 18)}" text-anchor="middle" font-size="13" fill="#57606a">${escapeHtml(clockUtc(t))}</text>`);
  }
  grid.push(`<text x="${WIDTH - PAD.right}" y="${HEIGHT - 1}" text-anchor="end" font-size="11" fill="#57606a">UTC</text>`);

  const series: string[] = [];
  const legend: string[] = [];
  const markerEvery = Math.max(1, Math.ceil(bins.length / MAX_MARKERS_PER_SERIES));
  report.backends.forEach((b, i) => {
    const style = seriesStyle(i);
    const ye = f(y(b.expectedShare));
    series.push(`<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${ye}" y2="${ye}" stroke="${style.colour}" stroke-width="1.5" stroke-dasharray="6 4" opacity="0.9"/>`);
    let d = '';
    let penDown = false;
    const markers: string[] = [];
    bins.forEach((bin, k) => {
      const share = bin.shares[b.name];
      if (share === null || share === undefined) {
        penDown = false;
        return;
      }
      const px = x(bin.startMs + binInMs / 2);
      const py = y(share);
      d += `${penDown ? 'L' : 'M'}${f(px)},${f(py)}`;
      penDown = true;
      if (k % markerEvery === 0) markers.push(markerSvg(style, px, py, 7));
    });
    if (d) series.push(`<path d="${d}" fill="none" stroke="${style.colour}" stroke-width="2" stroke-linejoin="round"/>`);
    series.push(markers.join(''));
    const label = labels.get(b.name) ?? b.name;
    legend.push(
      `<li><svg viewBox="0 0 28 14"><line x1="0" x2="28" y1="7" y2="7" stroke="${style.colour}" stroke-width="2"/>${markerSvg(style, 14, 7, 8)}</svg>` +
        `${escapeHtml(label)} (${escapeHtml(style.markerName)}; dashed: expected ${escapeHtml(formatPercent(b.expectedShare))})</li>`,
    );
  });

  const summary = report.backends
    .map((b) => {
      const values = bins.map((bin) => bin.shares[b.name]).filter((v): v is number => v !== null && v !== undefined);
      const label = labels.get(b.name) ?? b.name;
      if (values.length === 0) return `${label}: no answers`;
      return `${label} ranged ${formatPercent(Math.min(...values))}–${formatPercent(Math.max(...values))} (expected ${formatPercent(b.expectedShare)})`;
    })
    .join('; ');
  const answered = bins.reduce((sum, bin) => sum + bin.answered, 0);
  const binMinutes = Math.round(binInMs / 60_000);

  const head = report.backends.map((b) => `<th class="num" scope="col">${escapeHtml(labels.get(b.name) ?? b.name)}</th>`).join('');
  const rows = bins
    .map(
      (bin) =>
        `<tr><th scope="row">${escapeHtml(clockUtc(bin.startMs))}</th><td class="num">${formatCount(bin.answered)}</td>` +
        report.backends.map((b) => `<td class="num">${escapeHtml(formatPercent(bin.shares[b.name] ?? null))}</td>`).join('') +
        '</tr>',
    )
    .join('\n');

  return `<figure>
<ul class="legend" aria-hidden="true">${legend.join('')}</ul>
<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(`Share over time. ${summary}.`)}">${grid.join('')}${series.join('')}</svg>
<figcaption>${escapeHtml(`${bins.length} bins of ${binMinutes} min, ${formatCount(answered)} identified answers. ${summary}.`)}</figcaption>
<details><summary>Shares per bin (table)</summary>
<div class="table-wrap"><table><thead><tr><th scope="col">Bin start (UTC)</th><th class="num" scope="col">Answers</th>${head}</tr></thead>
<tbody>${rows}</tbody></table></div></details>
</figure>`;
}

function clockUtc(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/** Four to seven round tick times across the window. */
function timeTicks(fromMs: number, toMs: number): number[] {
  const span = toMs - fromMs;
  const steps = [60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000];
  const step = steps.find((s) => span / s <= 6) ?? 86_400_000 * Math.ceil(span / 86_400_000 / 6);
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs && ticks.length < 8; t += step) ticks.push(t);
  return ticks;
}
