/**
 * The report's only stylesheet, inlined in one `<style>` block whose sha256 goes into the Content-Security-Policy.
 * Static on purpose: the hash is computed once and every report carries the same one. No element uses a `style`
 * attribute (that would need `'unsafe-inline'`); sizes of bars are SVG geometry instead.
 */
export const REPORT_STYLE = `
:root{--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#ffffff;--panel:#f6f8fa;
--ok:#1a7f37;--ok-bg:#dafbe1;--bad:#b42318;--bad-bg:#ffebe9;--warn:#9a6700;--warn-bg:#fff8c5;--info:#0969da;--info-bg:#ddf4ff}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif}
main,.banner-inner{max-width:980px;margin:0 auto;padding:0 16px}
h1{font-size:1.05rem;margin:0;font-weight:700;letter-spacing:.02em}
h2{font-size:1.15rem;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:16px 0 6px}
p{margin:6px 0}
.banner{border-bottom:4px solid;padding:14px 0 12px}
.banner .verdict{display:flex;gap:12px;align-items:flex-start}
.banner .icon{flex:0 0 auto;width:36px;height:36px}
.banner .headline{font-size:1.15rem;font-weight:600;margin:2px 0 0}
.banner .meta{color:var(--muted);font-size:.85rem;margin-top:8px}
.st-ok{background:var(--ok-bg);border-color:var(--ok)}
.st-bad{background:var(--bad-bg);border-color:var(--bad)}
.st-warn{background:var(--warn-bg);border-color:var(--warn)}
.st-info{background:var(--info-bg);border-color:var(--info)}
.tag{display:inline-block;font-size:.75rem;font-weight:700;letter-spacing:.04em;padding:1px 6px;border-radius:4px;border:1px solid;white-space:nowrap}
.tag.st-ok{color:var(--ok)}.tag.st-bad{color:var(--bad)}.tag.st-warn{color:var(--warn)}.tag.st-info{color:var(--info)}
.muted{color:var(--muted)}
.small{font-size:.85rem}
figure{margin:0}
figcaption{font-size:.85rem;color:var(--muted);margin:6px 0}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:.85rem;color:var(--muted);margin:4px 0 10px;padding:0;list-style:none}
.legend li{display:flex;align-items:center;gap:6px}
.legend svg{width:28px;height:14px;flex:0 0 auto}
.bar-row{margin:10px 0 14px}
.bar-label{display:flex;flex-wrap:wrap;justify-content:space-between;gap:2px 12px}
.bar-label .who{font-weight:600}
.bar-svg{display:block;width:100%;height:26px}
.scale{display:block;width:100%;height:16px;overflow:visible}
.chart{display:block;width:100%;max-width:640px;height:auto}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:14px 24px;margin:8px 0}
.chart-small{display:block;width:100%;height:auto}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:6px 0}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
ul.findings{list-style:none;padding:0;margin:0}
ul.findings li{display:flex;gap:8px;align-items:baseline;padding:6px 0;border-bottom:1px solid var(--line)}
details{margin:6px 0}
summary{cursor:pointer;color:var(--info)}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em;background:var(--panel);padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
footer{margin:32px auto 24px;max-width:980px;padding:0 16px;color:var(--muted);font-size:.8rem}
nav.windows ul,nav.toc ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;margin:8px 0 0;padding:0;font-size:.9rem}
nav.toc{margin:14px 0 0;padding:8px 10px;background:var(--panel);border-radius:6px}
nav.toc ul{font-size:.85rem}
a{color:var(--info)}
details.fold>summary{list-style-position:outside;margin-left:1.1em}
details.fold>summary h2{display:inline-block;border-bottom:0;margin:22px 0 4px}
.inc-key{fill:#D55E00;fill-opacity:.25;stroke:#D55E00;stroke-opacity:.5}
@media (max-width:600px){body{font-size:14px}.banner .headline{font-size:1rem}.banner .icon{width:28px;height:28px}th,td{padding:4px 5px}h2{margin-top:22px}
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.stack tr{display:block;border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:4px 8px}
table.stack td{display:flex;justify-content:space-between;gap:12px;border:0;padding:3px 0;text-align:right;white-space:normal}
table.stack td::before{content:attr(data-label);font-weight:600;color:var(--muted);text-align:left;flex:0 0 auto;max-width:45%}}
@media print{.banner{border-bottom-width:2px}details{display:block}}
`;
