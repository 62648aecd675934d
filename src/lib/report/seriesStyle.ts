/** How each backend is drawn: a colour (Okabe–Ito, safe for colour-blind readers) and a marker shape, so colour is never the only cue. */
export interface SeriesStyle {
  readonly colour: string;
  readonly marker: 'circle' | 'square' | 'triangle' | 'diamond' | 'cross' | 'plus';
  /** The marker's name in words, for legends read aloud. */
  readonly markerName: string;
}

const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#8F6A00', '#56B4E9', '#000000'] as const;
const MARKERS = [
  ['circle', 'circle'],
  ['square', 'square'],
  ['triangle', 'triangle'],
  ['diamond', 'diamond'],
  ['cross', 'cross'],
  ['plus', 'plus'],
] as const;

/** The style of the backend at `index` in pool order (cycles for large pools; colour × marker stays distinct up to 42). */
export function seriesStyle(index: number): SeriesStyle {
  const colour = COLOURS[index % COLOURS.length] ?? '#000000';
  const [marker, markerName] = MARKERS[index % MARKERS.length] ?? MARKERS[0];
  return { colour, marker, markerName };
}

/** An SVG marker of `size` (px, full width) centred on (cx, cy). */
export function markerSvg(style: SeriesStyle, cx: number, cy: number, size: number): string {
  const r = size / 2;
  const f = (n: number): string => n.toFixed(1);
  const fill = `fill="${style.colour}" stroke="#ffffff" stroke-width="1"`;
  switch (style.marker) {
    case 'circle':
      return `<circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r)}" ${fill}/>`;
    case 'square':
      return `<rect x="${f(cx - r)}" y="${f(cy - r)}" width="${f(size)}" height="${f(size)}" ${fill}/>`;
    case 'triangle':
      return `<polygon points="${f(cx)},${f(cy - r * 1.15)} ${f(cx + r * 1.15)},${f(cy + r)} ${f(cx - r * 1.15)},${f(cy + r)}" ${fill}/>`;
    case 'diamond':
      return `<polygon points="${f(cx)},${f(cy - r * 1.3)} ${f(cx + r * 1.3)},${f(cy)} ${f(cx)},${f(cy + r * 1.3)} ${f(cx - r * 1.3)},${f(cy)}" ${fill}/>`;
    case 'cross':
      return `<path d="M${f(cx - r)},${f(cy - r)}L${f(cx + r)},${f(cy + r)}M${f(cx + r)},${f(cy - r)}L${f(cx - r)},${f(cy + r)}" stroke="${style.colour}" stroke-width="2.5" fill="none"/>`;
    case 'plus':
      return `<path d="M${f(cx - r)},${f(cy)}L${f(cx + r)},${f(cy)}M${f(cx)},${f(cy - r)}L${f(cx)},${f(cy + r)}" stroke="${style.colour}" stroke-width="2.5" fill="none"/>`;
  }
}
