/** The dashboard's stylesheet: one column under 800 px, and nothing wider than the screen (tables scroll in their own box). */
export const DASHBOARD_CSS = /* css */ `
:root { --ink: #1d2433; --muted: #5b6478; --line: #dde2ea; --bg: #f5f7fa; --card: #fff; --ok: #2f7d4f; --warn: #b7791f; --over: #c0392b; --accent: #2d5be3; --focus: #f0b429; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); overflow-wrap: anywhere; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .75rem 1.5rem; background: var(--ink); color: #fff; }
.top h1 { margin: 0; font-size: 1.25rem; letter-spacing: .02em; }
.top nav { display: flex; flex-wrap: wrap; gap: .25rem .75rem; }
.top nav a { color: #cfd6e4; text-decoration: none; padding: .15rem .25rem; border-bottom: 2px solid transparent; }
.top nav a[aria-current="page"] { color: #fff; border-bottom-color: #fff; }
.top .who { margin: 0 0 0 auto; color: #cfd6e4; font-size: .9rem; }
.top button.quiet { background: transparent; color: #fff; border-color: #8b96ad; }
main { max-width: 1100px; margin: 1.25rem auto; padding: 0 1rem; display: grid; gap: 1rem; }
#board, [data-view] { display: grid; gap: 1rem; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
.usage { display: grid; gap: 1rem; grid-template-columns: minmax(0, 1fr); }
#board > *, [data-view] > .usage-slot, [data-view] > .view-title, [data-view] > .notice { grid-column: 1 / -1; }
#view-overview > #panel-top-subjects, #view-subject > .panel:not(#panel-holds, #panel-features), #view-operations > .panel { grid-column: 1 / -1; }
.view-title { margin: .25rem 0 0; font-size: 1.3rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; min-width: 0; }
.card.narrow { max-width: 440px; }
.card h2 { margin: 0 0 .5rem; font-size: 1.05rem; }
.card h3 { font-size: .95rem; margin: 1rem 0 .5rem; color: var(--muted); }
.card-head { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; margin-bottom: .5rem; }
.card-head h2 { margin: 0 auto 0 0; }
.status-line { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
.status-line p { margin: 0 auto 0 0; color: var(--muted); font-size: .9rem; }
.filters { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .5rem 1rem; }
.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); font-weight: 600; }
.filters label.check { flex-direction: row; align-items: center; gap: .4rem; font-weight: 400; color: var(--ink); padding-bottom: .4rem; }
.custom-range { display: flex; flex-wrap: wrap; gap: .5rem 1rem; }
.range-label, #compare-note { flex-basis: 100%; margin: 0; }
label { font-weight: 600; }
label.inline { font-weight: 400; color: var(--muted); }
input, select, button { font: inherit; max-width: 100%; }
input, select { padding: .4rem .55rem; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--ink); }
#sign-in input { width: 100%; margin: .35rem 0; }
button { padding: .4rem .85rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; cursor: pointer; }
button.quiet, button[aria-pressed="false"] { background: #fff; color: var(--accent); }
button.small { padding: .2rem .55rem; font-size: .85rem; }
button:disabled { opacity: .55; cursor: default; }
.inline-form { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .5rem; margin-bottom: .5rem; }
.card-head .inline-form { margin: 0; }
.hint { color: var(--muted); font-size: .85rem; }
.error, .notice.failed { color: var(--over); }
.notice { margin: 0; padding: .6rem .8rem; border-radius: 8px; background: #fff7e0; border: 1px solid #f0d58a; }
.panel-note { color: var(--muted); font-style: italic; margin: 0; }
.totals { list-style: none; margin: 0; padding: 0; display: grid; gap: .75rem; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); }
.total, .total[aria-pressed] { width: 100%; height: 100%; text-align: left; display: flex; flex-direction: column; gap: .1rem; background: #fff; color: var(--ink); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .75rem; }
.total[aria-pressed="true"] { border-color: var(--accent); box-shadow: inset 0 0 0 1px var(--accent); }
.total .name { font-weight: 600; }
.total .desc, .total .sub, .total .change { color: var(--muted); font-size: .85rem; }
.total .figure { font-size: 1.35rem; font-weight: 600; }
.meters { list-style: none; margin: 0; padding: 0; display: grid; gap: .9rem; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); }
.meter .name { font-weight: 600; }
.meter .numbers { color: var(--muted); font-size: .9rem; }
.meter .numbers .used { color: var(--ink); font-weight: 600; }
.meter .overage { color: var(--over); }
.meter .credit:empty { display: none; }
.bar { height: 10px; background: #e9edf3; border-radius: 5px; overflow: hidden; margin: .35rem 0; }
.bar > span { display: block; height: 100%; background: var(--ok); }
.bar.warn > span { background: var(--warn); }
.bar.over > span { background: var(--over); }
.chart { width: 100%; min-height: 180px; }
.chart svg { display: block; }
.chart rect { fill: var(--accent); }
.chart rect.previous { fill: #c9d3ea; }
.chart line.grid { stroke: var(--line); }
.chart text.axis { fill: var(--muted); font-size: 11px; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: .85rem; }
.table-wrap { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; overflow-wrap: normal; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { white-space: nowrap; color: var(--muted); font-weight: 600; }
th.num, td.num { text-align: right; white-space: nowrap; }
td.id, td.detail { overflow-wrap: anywhere; min-width: 8rem; }
td.when { white-space: nowrap; }
th button.sort { background: none; border: 0; color: inherit; font: inherit; font-weight: 600; padding: 0; }
th button.sort:hover { color: var(--accent); }
.share { display: flex; align-items: center; gap: .4rem; justify-content: flex-end; min-width: 7rem; }
.share-bar { display: block; height: 8px; background: var(--accent); border-radius: 4px; max-width: 4rem; }
.actions { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; margin-top: .75rem; }
.row-form { display: flex; gap: .3rem; min-width: 12rem; }
.row-form input { width: 9rem; padding: .2rem .4rem; }
.row-actions { display: flex; gap: .3rem; flex-wrap: wrap; }
.list { list-style: none; padding: 0; margin: 0; }
.list li { padding: .4rem 0; border-bottom: 1px solid var(--line); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.empty { color: var(--muted); }
/* Narrow screens: tables of records (not of figures to compare) become one block per row, each value labelled. */
@media (max-width: 600px) {
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack, table.stack tbody, table.stack tr { display: block; width: 100%; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: .4rem 0; }
  table.stack td { display: flex; gap: .5rem; border: 0; padding: .15rem 0; text-align: left; white-space: normal; min-width: 0; overflow-wrap: anywhere; }
  table.stack td::before { content: attr(data-label); flex: 0 0 6.5rem; color: var(--muted); font-weight: 600; overflow-wrap: normal; }
  table.stack td[colspan]::before { content: none; }
  table.stack .row-form { min-width: 0; flex: 1; }
  table.stack .row-form input { flex: 1; width: auto; min-width: 0; }
}
@media (max-width: 800px) {
  #board, [data-view] { grid-template-columns: minmax(0, 1fr); }
  .top { padding: .6rem 1rem; }
  .top .who { margin: 0; flex-basis: 100%; }
  main { padding: 0 .6rem; margin: .75rem auto; }
  .card { padding: .8rem .9rem; }
  .filters label { flex: 1 1 9rem; }
  .filters select, .filters input { width: 100%; }
  .filters label.check { flex-basis: 100%; }
  .filters input[type="checkbox"] { width: auto; }
  .share-bar { display: none; }
  .share { min-width: 0; }
  .total .figure { font-size: 1.15rem; }
}
`;
