export const DASHBOARD_CSS = /* css */ `
:root { --ink: #1d2433; --muted: #5b6478; --line: #dde2ea; --bg: #f5f7fa; --card: #fff; --ok: #2f7d4f; --warn: #b7791f; --over: #c0392b; --accent: #2d5be3; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
.top { display: flex; align-items: center; gap: 1rem; padding: .75rem 1.5rem; background: var(--ink); color: #fff; }
.top h1 { margin: 0; font-size: 1.25rem; letter-spacing: .02em; }
.top .who { margin: 0 0 0 auto; color: #cfd6e4; }
main { max-width: 1100px; margin: 1.5rem auto; padding: 0 1rem; display: grid; gap: 1rem; }
#board { display: grid; gap: 1rem; grid-template-columns: 1fr 1fr; }
#board[hidden] { display: none; }
#board > .toolbar, #board > section:nth-of-type(1), #board > section:nth-of-type(2) { grid-column: 1 / -1; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; }
.card.narrow { max-width: 420px; }
.card h2 { margin: 0 0 .75rem; font-size: 1.05rem; }
.card h3 { font-size: .95rem; margin: 1rem 0 .5rem; color: var(--muted); }
.card-head { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; margin-bottom: .5rem; }
.card-head h2 { margin: 0 auto 0 0; }
label { font-weight: 600; }
label.inline { font-weight: 400; color: var(--muted); }
input, select, button { font: inherit; }
input, select { padding: .4rem .55rem; border: 1px solid var(--line); border-radius: 6px; }
#sign-in input { width: 100%; margin: .35rem 0; }
button { padding: .4rem .85rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; cursor: pointer; }
button[aria-pressed="false"] { background: #fff; color: var(--accent); }
.range { display: inline-flex; gap: .25rem; }
.toolbar { display: flex; align-items: center; gap: .5rem; }
.hint { color: var(--muted); font-size: .85rem; }
.error { color: var(--over); }
.meters { list-style: none; margin: 0; padding: 0; display: grid; gap: .9rem; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); }
.meter .name { font-weight: 600; }
.meter .numbers { color: var(--muted); font-size: .9rem; }
.meter .credit:empty { display: none; }
#credits td { overflow-wrap: anywhere; }
.bar { height: 10px; background: #e9edf3; border-radius: 5px; overflow: hidden; margin: .35rem 0; }
.bar > span { display: block; height: 100%; background: var(--ok); }
.bar.warn > span { background: var(--warn); }
.bar.over > span { background: var(--over); }
.chart svg { width: 100%; height: 220px; display: block; }
.chart rect { fill: var(--accent); }
.chart text { fill: var(--muted); font-size: 10px; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: .85rem; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .4rem; border-bottom: 1px solid var(--line); }
td.share { width: 35%; }
td.share span { display: block; height: 8px; background: var(--accent); border-radius: 4px; }
.list { list-style: none; padding: 0; margin: 0; }
.list li { padding: .4rem 0; border-bottom: 1px solid var(--line); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.empty { color: var(--muted); }
@media (max-width: 800px) { #board { grid-template-columns: 1fr; } }
`;
