import { escapeHtml } from './escapeHtml';
import { countOf, formatPercent, formatPoints, formatPValue } from './format';
import { seriesStyle } from './seriesStyle';
import type { ReportBackend } from './types';

/**
 * Expected vs observed share per backend: one horizontal bar each (observed share), a whisker for the confidence
 * interval, and a black dashed marker with a triangle at the expected share. Coordinates are SVG percentages so
 * the bars stretch to any width without distorting markers or patterns. A flagged backend's bar is hatched and
 * labelled "FLAGGED" in text; the numbers are printed beside every bar and in the table that follows.
 */
export function renderShareBars(
  backends: readonly ReportBackend[],
  labels: ReadonlyMap<string, string>,
  failoverBackends: ReadonlySet<string> = new Set(),
): string {
  if (backends.length === 0) return '<p>No backends in the pool definition.</p>';
  const rows = backends.map((b, i) => renderRow(b, i, labels.get(b.name) ?? b.name, failoverBackends.has(b.name))).join('\n');
  const confidence = backends.find((b) => b.interval)?.interval?.confidence;
  const ciText = confidence !== undefined ? `${formatConfidence(confidence)} interval` : 'confidence interval';
  const legend = `<ul class="legend" aria-hidden="true">
<li><svg viewBox="0 0 28 14"><rect x="0" y="2" width="28" height="10" fill="#57606a"/></svg>observed share</li>
<li><svg viewBox="0 0 28 14"><path d="M2,7H26M2,2V12M26,2V12" stroke="#1b1f24" stroke-width="2" fill="none"/></svg>${escapeHtml(ciText)}</li>
<li><svg viewBox="0 0 28 14"><path d="M14,4V14" stroke="#000" stroke-width="3" stroke-dasharray="3 2"/><polygon points="9,0 19,0 14,5" fill="#000"/></svg>expected share</li>
<li><svg viewBox="0 0 28 14"><rect x="0" y="2" width="28" height="10" fill="#57606a"/><path d="M4,12L12,2M12,12L20,2M20,12L28,2" stroke="#fff" stroke-width="2.5"/></svg>flagged or failover (hatched)</li>
</ul>`;
  const ticks = [
    ['0%', 'start'],
    ['25%', 'middle'],
    ['50%', 'middle'],
    ['75%', 'middle'],
    ['100%', 'end'],
  ]
    .map(([x, anchor]) => `<text x="${x}" y="12" text-anchor="${anchor}" font-size="12" fill="#57606a">${x}</text>`)
    .join('');
  const scale = `<svg class="scale" aria-hidden="true">${ticks}</svg>`;
  return `${legend}\n${rows}\n${scale}`;
}

function pct(share: number): string {
  return `${(Math.min(1, Math.max(0, share)) * 100).toFixed(2)}%`;
}

function renderRow(b: ReportBackend, index: number, label: string, failedOver: boolean): string {
  const style = seriesStyle(index);
  const patternId = `hatch-${index}`;
  const observed = b.observedShare;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="100%" height="26" fill="#eef1f4"/>`);
  for (const g of [0.25, 0.5, 0.75]) {
    parts.push(`<line x1="${pct(g)}" x2="${pct(g)}" y1="0" y2="26" stroke="#d0d7de" stroke-width="1"/>`);
  }
  if (observed !== null) {
    const fill = b.flagged || failedOver ? `url(#${patternId})` : style.colour;
    parts.push(`<rect x="0" y="5" width="${pct(observed)}" height="16" fill="${fill}"/>`);
  }
  if (b.interval) {
    const lo = pct(b.interval.low);
    const hi = pct(b.interval.high);
    // A white halo under the whisker keeps it visible on top of a coloured or hatched bar.
    for (const [stroke, width] of [['#ffffff', 5], ['#1b1f24', 2]] as const) {
      parts.push(`<line x1="${lo}" x2="${hi}" y1="13" y2="13" stroke="${stroke}" stroke-width="${width}"/>`);
      parts.push(`<line x1="${lo}" x2="${lo}" y1="6" y2="20" stroke="${stroke}" stroke-width="${width}"/>`);
      parts.push(`<line x1="${hi}" x2="${hi}" y1="6" y2="20" stroke="${stroke}" stroke-width="${width}"/>`);
    }
  }
  parts.push(`<line x1="${pct(b.expectedShare)}" x2="${pct(b.expectedShare)}" y1="4" y2="26" stroke="#000" stroke-width="3" stroke-dasharray="4 3"/>`);
  parts.push(`<svg x="${pct(b.expectedShare)}" y="0" overflow="visible"><polygon points="-6,0 6,0 0,7" fill="#000"/></svg>`);
  const defs = b.flagged || failedOver
    ? `<defs><pattern id="${patternId}" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)"><rect width="8" height="8" fill="${style.colour}"/><line x1="0" y1="0" x2="0" y2="8" stroke="#ffffff" stroke-width="4"/></pattern></defs>`
    : '';

  const observedText =
    observed === null
      ? 'no answers'
      : `observed <strong>${escapeHtml(formatPercent(observed))}</strong>` +
        (b.interval ? ` (${escapeHtml(formatPercent(b.interval.low))}–${escapeHtml(formatPercent(b.interval.high))})` : '');
  const deviation = b.deviationInPoints === null ? '' : ` · ${escapeHtml(formatPoints(b.deviationInPoints))}`;
  const flag =
    (b.flagged ? ' <span class="tag st-bad">FLAGGED</span>' : '') + (failedOver ? ' <span class="tag st-bad">FAILOVER</span>' : '');
  const aria =
    `${label}: ` +
    (observed === null ? 'no answers' : `observed ${formatPercent(observed)}`) +
    (b.interval ? `, interval ${formatPercent(b.interval.low)} to ${formatPercent(b.interval.high)}` : '') +
    `, expected ${formatPercent(b.expectedShare)}` +
    (b.flagged ? ', flagged' : '') +
    (failedOver ? ', answered as a failover backend' : '');
  const who = label === b.name ? escapeHtml(b.name) : `${escapeHtml(label)} <span class="muted small">${escapeHtml(b.name)}</span>`;
  const declared = `priority ${b.priority}${b.weight !== null ? ` · weight ${b.weight}` : ''} · ${countOf(b.observedCount, 'answer')}`;
  const pValue = b.pValue !== null ? ` · ${escapeHtml(formatPValue(b.pValue))}` : '';
  return `<div class="bar-row">
<div class="bar-label"><span class="who">${who}</span><span class="small">${observedText} · expected ${escapeHtml(formatPercent(b.expectedShare))}${deviation}${flag}</span></div>
<svg class="bar-svg" role="img" aria-label="${escapeHtml(aria)}">${defs}${parts.join('')}</svg>
<div class="muted small">${escapeHtml(declared)}${pValue}</div>
</div>`;
}

/** 0.99 → `99%`, 0.9999 → `99.99%` (never rounded up to a misleading `100%`). */
export function formatConfidence(confidence: number): string {
  const pct = confidence * 100;
  for (let digits = 0; digits <= 4; digits++) {
    const text = pct.toFixed(digits);
    // Trailing zeros are trimmed only after a decimal point: 90 stays "90" (it once printed "9% interval").
    if (Math.abs(Number(text) - pct) < 1e-9 || (Number(text) < 100 && digits >= 2)) return `${text.includes('.') ? text.replace(/\.?0+$/, '') : text}%`;
  }
  return `${pct.toFixed(4)}%`;
}
