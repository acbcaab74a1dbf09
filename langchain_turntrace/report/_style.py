"""The page's only stylesheet and its only script, inlined: no fonts, images or URLs, so the file opens offline."""

from __future__ import annotations

import base64
import hashlib
from typing import Final

PALETTE: Final = 8
"""Stacked keys with a colour of their own; the rest share the grey of ``.seg.other``."""

CSS: Final = (
    """
:root {
  --bg: #f6f7f9; --panel: #ffffff; --text: #1f2937; --muted: #6b7280; --line: #e5e7eb; --grid: #eef0f3;
  --accent: #2563eb; --bad: #dc2626; --bad-bg: #fef2f2; --warn: #b45309; --warn-bg: #fffbeb; --good: #059669;
  --c0: #2563eb; --c1: #f59e0b; --c2: #10b981; --c3: #8b5cf6; --c4: #ef4444; --c5: #06b6d4; --c6: #ec4899;
  --c7: #84cc16; --other: #9ca3af;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --panel: #171a21; --text: #e5e7eb; --muted: #9ca3af; --line: #2a2f3a; --grid: #1f232c;
    --bad-bg: #2a1215; --warn-bg: #2a2110;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0 auto; padding: 20px 24px 40px; max-width: 2400px; background: var(--bg); color: var(--text);
  font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
h1 { font-size: 20px; margin: 0 0 2px; font-weight: 650; }
h2 { font-size: 14px; margin: 0; font-weight: 650; }
.sub, .note { color: var(--muted); font-size: 12px; }
.sub { margin-bottom: 14px; overflow-wrap: anywhere; }
.note { margin: 8px 0 0; }
code, .mono { font-family: var(--mono); font-size: 12px; overflow-wrap: anywhere; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
section {
  background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0;
}
.head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; margin-bottom: 10px; }
.head .note { margin: 0; }
.facts {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px 18px; margin-bottom: 16px;
  background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
}
.fact .k { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.fact .v { font-size: 17px; font-weight: 600; overflow-wrap: anywhere; }
.fact.warn .v { color: var(--warn); } .fact.bad .v { color: var(--bad); }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; margin-bottom: 16px; }
@media (min-width: 1400px) { .grid2 { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.wide { margin-bottom: 16px; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th {
  text-align: left; font-weight: 600; color: var(--muted); font-size: 11px; text-transform: uppercase;
  letter-spacing: .04em; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap;
}
td { padding: 4px 8px; border-bottom: 1px solid var(--grid); vertical-align: top; overflow-wrap: break-word; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.none { color: var(--muted); font-style: italic; }
td .mono, td.when { white-space: nowrap; overflow-wrap: normal; }
tr.more td { color: var(--muted); }
td.bad, span.bad { color: var(--bad); } td.warn, span.warn { color: var(--warn); }
.share { display: flex; align-items: center; gap: 6px; justify-content: flex-end; }
.share i { display: inline-block; height: 6px; border-radius: 3px; background: var(--accent); opacity: .55; }
.refs a { display: inline-block; margin-right: 10px; white-space: nowrap; }
.switch { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.switch button {
  font: inherit; font-size: 12px; padding: 2px 10px; border: 0; background: transparent; color: var(--muted);
  cursor: pointer;
}
.switch button[aria-pressed="true"] { background: var(--accent); color: #fff; }
.chart .plot { position: relative; height: 240px; margin: 8px 0 0 96px; border-bottom: 1px solid var(--line); }
.chart .tick {
  position: absolute; left: 0; right: 0; border-top: 1px dashed var(--grid); height: 0;
}
.chart .tick span {
  position: absolute; right: calc(100% + 8px); transform: translateY(-50%); color: var(--muted); font-size: 11px;
  white-space: nowrap; font-variant-numeric: tabular-nums;
}
.chart .bars { position: absolute; inset: 0; display: flex; align-items: flex-end; gap: 2px; }
.chart .day { flex: 1 1 0; min-width: 0; height: 100%; display: flex; align-items: flex-end; }
.chart .day:hover { background: var(--grid); }
.chart .stack { width: 100%; display: flex; flex-direction: column-reverse; }
.chart .seg { width: 100%; min-height: 1px; }
.chart .xaxis { position: relative; height: 18px; margin-left: 96px; }
.chart .xaxis span {
  position: absolute; top: 3px; transform: translateX(-50%); color: var(--muted); font-size: 11px; white-space: nowrap;
}
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 8px 0 0 96px; padding: 0; }
.legend li { display: flex; align-items: center; gap: 6px; min-width: 0; overflow-wrap: anywhere; }
.legend .amount { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.sw { flex: none; display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
"""
    + "".join(f".c{n} {{ background: var(--c{n}); }} " for n in range(PALETTE))
    + """.other { background: var(--other); }
.smells li { margin: 4px 0; }
.empty { font-size: 14px; }
footer { color: var(--muted); font-size: 11px; margin-top: 8px; }
"""
)

SCRIPT: Final = """
(function () {
  var charts = document.querySelectorAll(".chart[data-stack]");
  var buttons = document.querySelectorAll(".switch button[data-stack]");
  function show(stack) {
    charts.forEach(function (chart) { chart.hidden = chart.dataset.stack !== stack; });
    buttons.forEach(function (button) { button.setAttribute("aria-pressed", String(button.dataset.stack === stack)); });
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      show(button.dataset.stack);
      try { history.replaceState(null, "", "#by-" + button.dataset.stack); } catch (error) { /* a sandboxed file */ }
    });
  });
  if (location.hash === "#by-feature") { show("feature"); }
})();
"""

SCRIPT_HASH: Final = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
"""For the page's Content-Security-Policy: this script runs, nothing else does, and nothing is fetched."""
