import { escapeHtml } from '../escapeHtml';
import { countOf, formatPercent } from '../format';
import { markerSvg, seriesStyle } from '../seriesStyle';
import type { FleetSparkline } from './types';

// viewBox units = CSS px (the stylesheet draws `.spark` at 132 × 36): the plot, then a strip on the right for
// the expected-share ticks.
const WIDTH = 132;
const HEIGHT = 36;
const PAD_Y = 3;
const PLOT_RIGHT = 118;
const TICK_FROM = 123;

/**
 * A pool's share per run as an inline SVG sparkline, y from 0% to 100%: one line per backend in the pool report's
 * colour, its newest point marked with the backend's marker shape, and a tick at the right edge at its expected
 * share. Points without answers leave a gap. The numbers (range and expected share per backend) are in the SVG's
 * accessible name and tooltip, and the span in the text below it. Pure.
 */
export function renderSparkline(spark: FleetSparkline): string {
  const span = spark.toMs - spark.fromMs;
  const x = (ms: number): number => (span > 0 ? 2 + ((ms - spark.fromMs) / span) * (PLOT_RIGHT - 4) : PLOT_RIGHT / 2);
  const y = (share: number): number => PAD_Y + (1 - Math.min(1, Math.max(0, share))) * (HEIGHT - 2 * PAD_Y);
  const f = (n: number): string => n.toFixed(1);
  const parts: string[] = [
    `<line x1="0" x2="${PLOT_RIGHT}" y1="${f(y(0))}" y2="${f(y(0))}" stroke="#8c959f" stroke-width="1"/>`,
    `<line x1="${PLOT_RIGHT + 2}" x2="${PLOT_RIGHT + 2}" y1="${f(y(1))}" y2="${f(y(0))}" stroke="#d0d7de" stroke-width="1"/>`,
  ];
  const described: string[] = [];
  spark.backends.forEach((backend, i) => {
    const style = seriesStyle(i);
    const ye = f(y(backend.expectedShare));
    parts.push(`<line x1="${TICK_FROM}" x2="${WIDTH}" y1="${ye}" y2="${ye}" stroke="${style.colour}" stroke-width="2.5"/>`);
    let d = '';
    let penDown = false;
    let last: { px: number; py: number } | undefined;
    const values: number[] = [];
    for (const point of spark.points) {
      const share = point.shares[i];
      if (share === null || share === undefined) {
        penDown = false;
        continue;
      }
      values.push(share);
      last = { px: x(point.startMs), py: y(share) };
      d += `${penDown ? 'L' : 'M'}${f(last.px)},${f(last.py)}`;
      penDown = true;
    }
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${style.colour}" stroke-width="1.5" stroke-linejoin="round"/>`);
    if (last) parts.push(markerSvg(style, last.px, last.py, 6));
    const range =
      values.length === 0
        ? 'no answers'
        : values.length === 1
          ? formatPercent(values[0])
          : `${formatPercent(Math.min(...values))}–${formatPercent(Math.max(...values))}, latest ${formatPercent(values[values.length - 1])}`;
    described.push(`${backend.name} (${style.markerName}): ${range}; expected ${formatPercent(backend.expectedShare)}`);
  });
  const noun = spark.pointsAre === 'run' ? 'run' : 'time bin';
  const count = spark.points.length;
  const when = count === 1 ? `at ${clock(spark.fromMs)} UTC` : `from ${clock(spark.fromMs)} to ${clock(spark.toMs)} UTC`;
  const omitted = spark.omittedBackends > 0 ? ` (${countOf(spark.omittedBackends, 'more backend')} not drawn)` : '';
  const label = `Share per ${noun}, ${countOf(count, noun)} ${when}. ${described.join('. ')}${omitted}.`;
  return (
    `<span class="spark-box"><svg class="spark" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(label)}"><title>${escapeHtml(label)}</title>${parts.join('')}</svg>` +
    `<span class="sub small muted">${escapeHtml(`${countOf(count, noun)} ${when}`)}</span></span>`
  );
}

function clock(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 16) : '—';
}
