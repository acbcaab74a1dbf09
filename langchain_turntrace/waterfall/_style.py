"""The page's only stylesheet, inlined: no fonts, images or URLs, so the file opens anywhere, offline."""

from __future__ import annotations

from typing import Final

CSS: Final = """
:root {
  --bg: #f6f7f9; --panel: #ffffff; --text: #1f2937; --muted: #6b7280; --line: #e5e7eb; --grid: #eef0f3;
  --agent: #7c3aed; --turn: #94a3b8; --turn-bg: #e2e8f0; --chat: #2563eb; --tool: #059669; --other: #9ca3af;
  --error: #dc2626; --error-bg: #fef2f2; --warn: #b45309; --warn-bg: #fffbeb;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --panel: #171a21; --text: #e5e7eb; --muted: #9ca3af; --line: #2a2f3a; --grid: #1f232c;
    --turn-bg: #334155; --error-bg: #2a1215; --warn-bg: #2a2110;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; padding: 20px 24px 40px; background: var(--bg); color: var(--text);
  font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
h1 { font-size: 20px; margin: 0 0 2px; font-weight: 650; overflow-wrap: anywhere; }
h2 { font-size: 14px; margin: 0 0 10px; font-weight: 650; }
.sub { color: var(--muted); font-size: 12px; margin-bottom: 14px; overflow-wrap: anywhere; }
.mono, code { font-family: var(--mono); font-size: 12px; }
section, header .facts {
  background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px;
}
.facts { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 10px 18px; }
@media (max-width: 1100px) { .facts { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
@media (max-width: 900px) {
  body { padding: 14px 12px 32px; }
  section, header .facts { padding: 12px; }
}
.fact .k { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.fact .v { font-size: 15px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.fact .v.none { color: var(--muted); font-weight: 400; }
.fact.bad .v { color: var(--error); }
.fact.warn .v { color: var(--warn); }
.fact.good .v { color: var(--tool); }
table { width: 100%; border-collapse: collapse; }
th {
  text-align: left; font-weight: 600; color: var(--muted); font-size: 11px; text-transform: uppercase;
  letter-spacing: .04em; padding: 4px 8px; border-bottom: 1px solid var(--line);
}
td { padding: 3px 8px; border-bottom: 1px solid var(--grid); vertical-align: middle; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.num.zero { color: var(--muted); opacity: .6; }
/* The waterfall is a grid (the table's rows and row groups dissolve into it) whose columns, in markup order, are:
   span, timeline, duration, tokens, cost, notes. A narrow table folds each span onto two lines, its name above
   its figures, with the timeline beside both and at least half the width; from 1280px, one line per span and
   the timeline takes whatever the other columns leave. Notes are at least 176px wide, room for an error's badge
   (✕ BudgetExceededError); a longer class name is cut, and whole in the badge's title. */
section.waterfall { container: waterfall / inline-size; }
table.wf { display: grid; --figures: fit-content(7em) fit-content(7em) fit-content(7em); }
.wf thead, .wf tbody, .wf tr { display: contents; }
.wf th, .wf td { display: block; min-width: 0; }
.wf th { white-space: normal; display: flex; flex-direction: column; justify-content: flex-end; }
.wf td:nth-child(2) { display: flex; flex-direction: column; justify-content: center; }
.wf :is(th, td):nth-child(2) { container: timeline / inline-size; }
@container waterfall (width < 1280px) {
  table.wf { grid-template-columns: var(--figures) minmax(min(176px, 25%), 1fr) minmax(50%, 3fr); }
  .wf :is(th, td):nth-child(1) { grid-column: 1 / 5; border-bottom: 0; padding-top: 4px; }
  .wf :is(th, td):nth-child(2) { grid-column: 5; grid-row: span 2; }
  .wf :is(th, td):nth-child(3) { grid-column: 1; }
  .wf :is(th, td):nth-child(4) { grid-column: 2; }
  .wf :is(th, td):nth-child(5) { grid-column: 3; }
  .wf :is(th, td):nth-child(6) { grid-column: 4; }
  .wf td:nth-child(n + 3) { font-size: 12px; padding: 0 8px 4px; }
  .wf td.notes { white-space: normal; }
}
@container waterfall (width >= 1280px) {
  table.wf {
    grid-template-columns: clamp(200px, 20%, 360px) minmax(0, 1fr) var(--figures) clamp(176px, 12%, 240px);
  }
  .wf td { height: 26px; }
}
@container waterfall (width >= 1800px) { table.wf { --figures: auto auto auto; } }
.wf tr:hover td { background: var(--grid); }
.wf tr.err td { background: var(--error-bg); }
.wf td.name { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.wf td.name a { color: inherit; text-decoration: none; }
.wf td.name a:hover, .turns a:hover { text-decoration: underline; }
.turns a { color: var(--chat); text-decoration: none; }
.wf tr.k-agent td.name, .wf tr.k-turn td.name { font-weight: 600; }
.wf tr.err td.name a { color: var(--error); }
.kind {
  display: inline-block; min-width: 44px; margin-right: 6px; padding: 0 4px; border-radius: 3px; color: #fff;
  font-size: 9.5px; font-weight: 700; letter-spacing: .05em; text-align: center; vertical-align: 1px;
}
.kind.agent { background: var(--agent); } .kind.turn { background: var(--turn); }
.kind.chat { background: var(--chat); } .kind.tool { background: var(--tool); }
.kind.other { background: var(--other); }
/* Grid lines and axis labels follow the timeline's own width: 2 intervals, 4 from 400px, 8 from 800px. So an
   interval is at least 100px, room for half a label either side of it (or a whole one at either end, where the
   first label starts and the last one ends): fmt.tick keeps labels to eight characters, about 60px. */
.track {
  --min-bar: 3px;
  position: relative; height: 18px;
  background-image: linear-gradient(to right, var(--line) 1px, transparent 1px); background-size: 50% 100%;
  border-right: 1px solid var(--line);
}
@container timeline (min-width: 400px) { .track { background-size: 25% 100%; } }
@container timeline (min-width: 800px) { .track { background-size: 12.5% 100%; } }
/* A span too short to see still gets --min-bar, moved left if need be so that it ends inside the track. */
.bar {
  position: absolute; top: 3px; height: 12px; border-radius: 2px;
  left: min(var(--at), 100% - var(--min-bar)); width: max(var(--len), var(--min-bar));
}
.bar.agent { background: var(--agent); opacity: .85; }
.bar.turn { background: var(--turn-bg); border: 1px solid var(--turn); }
.bar.chat { background: var(--chat); }
.bar.tool { background: var(--tool); }
.bar.other { background: var(--other); }
.bar.error { background: var(--error); border: 0; opacity: 1; }
.bar.incomplete {
  background-image: repeating-linear-gradient(45deg, rgba(255,255,255,.55) 0 3px, transparent 3px 6px);
}
.bar.interrupted { outline: 2px dashed var(--warn); outline-offset: 1px; }
.axis { position: relative; height: 14px; }
.axis span {
  position: absolute; top: 0; transform: translateX(-50%); text-transform: none; letter-spacing: 0; white-space: nowrap;
}
.axis span:first-child { transform: none; }
.axis span:last-child { transform: translateX(-100%); }
.axis .from4, .axis .from8 { display: none; }
@container timeline (min-width: 400px) { .axis .from4 { display: block; } }
@container timeline (min-width: 800px) { .axis .from8 { display: block; } }
.badge {
  display: inline-block; padding: 0 6px; margin-right: 4px; border-radius: 9px; font-size: 11px;
  background: var(--grid); color: var(--muted); white-space: nowrap;
}
td.notes .badge { max-width: 100%; overflow: hidden; text-overflow: ellipsis; vertical-align: middle; }
.badge.error { background: var(--error); color: #fff; font-weight: 600; }
.badge.incomplete { background: var(--turn-bg); color: var(--text); border: 1px dashed var(--turn); }
.badge.interrupted { background: var(--warn-bg); color: var(--warn); border: 1px solid var(--warn); }
td.notes { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.legend { margin-top: 10px; color: var(--muted); font-size: 12px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.legend i {
  display: inline-block; width: 18px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px;
}
.scroll { overflow-x: auto; }
.turns th { white-space: normal; }
.turns td:nth-child(-n + 4) { white-space: nowrap; }
.share { display: inline-block; height: 8px; background: var(--chat); border-radius: 2px; margin-right: 6px; }
.turns tr.nested td:first-child { padding-left: 22px; color: var(--muted); }
.turns tr.err td { background: var(--error-bg); }
.turns tfoot td { font-weight: 650; border-top: 1px solid var(--line); border-bottom: 0; }
details { border-bottom: 1px solid var(--grid); padding: 4px 0; }
details:target { background: var(--warn-bg); }
summary { cursor: pointer; }
summary .meta { color: var(--muted); margin-left: 8px; }
.attrs { margin: 6px 0 8px 34px; width: auto; max-width: 100%; }
.attrs td { border: 0; padding: 1px 10px 1px 0; vertical-align: top; }
.attrs td.k { color: var(--muted); white-space: nowrap; }
.attrs td.v { white-space: pre-wrap; overflow-wrap: anywhere; }
.empty { color: var(--muted); padding: 20px 0; }
footer { color: var(--muted); font-size: 11px; }
"""
