/** Proofreading rules for every sentence the product prints; each names a slip that once shipped. */

/** Visible text of the page: tags out, entities decoded, one line per block. */
export function textOf(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/<(br|\/p|\/li|\/tr|\/h\d|\/figcaption|\/summary)[^>]*>/g, '\n')
    .replace(/<\/(text|title|td|th)>/g, '\n')
    .replace(/<(\/?(div|section|ul|table|thead|tbody|tr|figure|details|nav|header|main|footer|svg|h\d|p|li))\b[^>]*>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");
}

export const RULES: [string, RegExp][] = [
  ['a plural noun after 1', /(?<![\d.,])\b1 (bins|runs|probes|answers|backends|points|windows|fields|failures|seconds|calls|pools|messages|incidents|days)\b/],
  ['a doubled word', /(?<![-\w.[])([A-Za-z]{2,})[ \t]+\1\b/i],
  ['"yes (no channel)"', /yes \(no channel\)/],
  ['a double full stop', /(?<!\.)\.\.(?!\.)/],
  ['a space before punctuation', /[A-Za-z0-9)] [,;:](?=\s)|[A-Za-z0-9)] \.(?=\s|$)/],
  ['an empty parenthesis', /\(\s*\)/],
  ['an undefined or NaN', /\b(undefined|NaN|null)\b/],
];

/** The first rule `text` breaks, with the text around the slip; null when it reads clean. */
export function firstSlip(text: string): { rule: string; found: string } | null {
  for (const [rule, pattern] of RULES) {
    const match = pattern.exec(text);
    if (match) return { rule, found: text.slice(Math.max(0, match.index - 20), match.index + 50) };
  }
  return null;
}
