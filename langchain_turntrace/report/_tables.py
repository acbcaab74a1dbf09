"""The report's tables: cost by a dimension with each row's share, tools, the costliest runs and turns, tokens per
turn, the wiring smells. Run ids link to their waterfall pages when the report has one for them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from langchain_turntrace.report._format import count, esc, moment, ms, share, tokens, usd
from langchain_turntrace.store import CallRef, CostlyTurn, CostRow, RunSummary, ToolFigures, TurnTokens, WiringSmells

ROWS: Final = 15
"""Rows of a cost table; the rest are counted below it (``--json`` and ``turntrace cost`` list them all)."""


class RunLinks:
    """Where a run's waterfall page is, relative to the report; a run without one is shown by its id alone."""

    def __init__(self, pages: Mapping[str, str]) -> None:
        self._pages = pages

    def run(self, run_id: str, text: str | None = None, span_id: str | None = None) -> str:
        label = esc(text if text is not None else run_id[:12])
        page = self._pages.get(run_id)
        if page is None:
            hint = f"turntrace show {run_id[:12]}" if run_id else "ran outside any agent run"
            return f'<span class="mono" title="{esc(hint)}">{label}</span>'
        anchor = f"#span-{span_id}" if span_id else ""
        return f'<a class="mono" href="{esc(page + anchor)}">{label}</a>'


def _table(head: Sequence[tuple[str, bool]], rows: Sequence[str], *, empty: str) -> str:
    """``head``: (title, numeric) per column."""
    if not rows:
        return f'<p class="note">{esc(empty)}</p>'
    cells = "".join(f'<th class="num">{esc(t)}</th>' if num else f"<th>{esc(t)}</th>" for t, num in head)
    return f'<div class="scroll"><table><thead><tr>{cells}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _num(value: str, css: str = "") -> str:
    return f'<td class="num{" " + css if css else ""}">{value}</td>'


def _key(value: str | None) -> str:
    return '<td class="none">(untagged)</td>' if value is None else f"<td>{esc(value)}</td>"


def section(title: str, body: str, note: str = "", *, anchor: str = "") -> str:
    ident = f' id="{esc(anchor)}"' if anchor else ""
    head = f'<div class="head"><h2>{esc(title)}</h2>{f"<p class=note>{note}</p>" if note else ""}</div>'
    return f"<section{ident}>{head}{body}</section>"


# -- cost -----------------------------------------------------------------------------------------------------
def cost_table(rows: Sequence[CostRow], total: CostRow, column: str, plural: str, command: str) -> str:
    body = [
        "<tr>"
        + _key(row.key)
        + _num(count(row.calls))
        + _num(esc(tokens(row.input_tokens, row.output_tokens)))
        + _num(
            esc(usd(row.cost_usd))
            + (f' <span class="warn">+{row.unpriced_calls:,} unpriced</span>' if row.unpriced_calls else "")
        )
        + _num(_share_bar(share(row.cost_usd, total.cost_usd)))
        + "</tr>"
        for row in rows[:ROWS]
    ]
    if len(rows) > ROWS:
        body.append(
            f'<tr class="more"><td colspan="5">{len(rows) - ROWS:,} more {esc(plural)}: '
            f"<code>{esc(command)}</code> lists them all</td></tr>"
        )
    head = [(column, False), ("Calls", True), ("Tokens in → out", True), ("Cost", True), ("Share", True)]
    return _table(head, body, empty="No model calls in the window.")


def _share_bar(percent: float) -> str:
    return f'<span class="share"><i style="width:{percent * 0.6:.3g}px"></i>{percent:.1f}%</span>'


# -- tools ----------------------------------------------------------------------------------------------------
def slowest_tools(tools: Sequence[ToolFigures], links: RunLinks) -> str:
    body = [
        f"<tr><td>{esc(t.tool)}</td>"
        + _num(count(t.calls))
        + _num(esc(ms(t.p50_ms)))
        + _num(f"<b>{esc(ms(t.p95_ms))}</b>")
        + _num(esc(ms(t.max_ms)))
        + _num(count(t.errors), "bad" if t.errors else "")
        + f'<td class="refs">{_refs(t.examples, links)}</td></tr>'
        for t in tools
    ]
    head = [("Tool", False), ("Calls", True), ("p50", True), ("p95", True), ("Max", True), ("Errors", True)]
    return _table([*head, ("Slowest calls", False)], body, empty="No tool calls in the window.")


def failing_tools(tools: Sequence[ToolFigures], links: RunLinks) -> str:
    body = [
        f"<tr><td>{esc(t.tool)}</td>"
        + _num(count(t.errors), "bad")
        + _num(count(t.calls))
        + _num(f"{share(t.errors, t.calls):.1f}%")
        + _num(esc(ms(t.p95_ms)))
        + f'<td class="refs">{_refs(t.examples, links)}</td></tr>'
        for t in tools
    ]
    head = [("Tool", False), ("Failed", True), ("Calls", True), ("Rate", True), ("p95", True)]
    return _table([*head, ("Latest failures", False)], body, empty="No tool call failed in the window.")


def _refs(calls: Sequence[CallRef], links: RunLinks) -> str:
    return "".join(links.run(c.run_id, f"{ms(c.duration_ms)} · {moment(c.start_ns)}", c.span_id) for c in calls)


# -- runs and turns -------------------------------------------------------------------------------------------
def costly_runs(runs: Sequence[RunSummary], links: RunLinks) -> str:
    body = [
        f"<tr><td>{links.run(r.run_id)}</td><td>{esc(r.agent or '')}</td>"
        f'<td class="when">{esc(moment(r.start_ns))}</td>'
        + _key(r.feature)
        + _key(r.user_id)
        + _num(count(r.turns))
        + _num(count(r.tool_calls))
        + _num(esc(tokens(r.input_tokens, r.output_tokens)))
        + _num(esc(ms(r.duration_ms)))
        + _num(f"<b>{esc(usd(r.cost_usd))}</b>")
        + f'<td class="{"bad" if r.status == "error" else ""}">{esc(r.status)}</td></tr>'
        for r in runs
    ]
    head = [("Run", False), ("Agent", False), ("Started (UTC)", False), ("Feature", False), ("User", False)]
    head += [("Turns", True), ("Tools", True), ("Tokens in → out", True), ("Duration", True), ("Cost", True)]
    return _table([*head, ("Status", False)], body, empty="No priced agent runs in the window.")


def costly_turns(turns: Sequence[CostlyTurn], links: RunLinks) -> str:
    body = [
        f"<tr><td>{links.run(t.run_id, f'turn {t.turn_index}', t.span_id)}</td>"
        f"<td>{links.run(t.run_id)}</td><td>{esc(t.agent or '')}</td><td>{esc(t.model or '')}</td>"
        + _key(t.feature)
        + f'<td class="when">{esc(moment(t.start_ns))}</td>'
        + _num(esc(tokens(t.input_tokens, t.output_tokens)))
        + _num(esc(ms(t.duration_ms)))
        + _num(f"<b>{esc(usd(t.cost_usd))}</b>")
        + "</tr>"
        for t in turns
    ]
    head = [("Turn", False), ("Run", False), ("Agent", False), ("Model", False), ("Feature", False)]
    head += [("Started (UTC)", False), ("Tokens in → out", True), ("Duration", True), ("Cost", True)]
    return _table(head, body, empty="No priced turns in the window.")


def tokens_per_turn(rows: Sequence[TurnTokens]) -> str:
    body = [
        "<tr>"
        + _key(t.model)
        + _num(count(t.turns))
        + "".join(_num(count(v)) for v in (t.input_p50, t.input_p95, t.input_max))
        + "".join(_num(count(v)) for v in (t.output_p50, t.output_p95, t.output_max))
        + "</tr>"
        for t in rows
    ]
    head = [("Model", False), ("Turns", True), ("In p50", True), ("In p95", True), ("In max", True)]
    head += [("Out p50", True), ("Out p95", True), ("Out max", True)]
    return _table(head, body, empty="No turns in the window.")


# -- wiring smells --------------------------------------------------------------------------------------------
def smells(found: WiringSmells, links: RunLinks) -> str:
    if not found.count:
        return '<p class="note">None: every model is priced, every run has turns, every tool call sits in a turn.</p>'
    items = [
        f'<li><span class="warn">unpriced model</span> {esc(m.model or "(unnamed)")}: {count(m.calls)} calls with '
        "tokens but no cost (their cost above is $0). Price it with <code>prices={...}</code> or "
        "<code>TURNTRACE_PRICES</code>.</li>"
        for m in found.unpriced_models
    ]
    items += _capped(
        [
            f'<li><span class="warn">run without a turn</span> {links.run(r.run_id)} {esc(r.agent or "")}, '
            f"started {esc(moment(r.start_ns))} UTC: its model calls (if any) are not grouped into turns.</li>"
            for r in found.runs_without_turns
        ],
        "runs without a turn",
    )
    items += _capped(
        [
            f'<li><span class="warn">tool call outside a turn</span> {esc(t.tool or "(unnamed)")} in '
            f"{links.run(t.run_id, None, t.span_id) if t.run_id else 'no agent run'}, "
            f"started {esc(moment(t.start_ns))} UTC</li>"
            for t in found.tool_calls_without_turn
        ],
        "tool calls outside a turn",
    )
    return f'<ul class="smells">{"".join(items)}</ul>'


def _capped(items: list[str], what: str) -> list[str]:
    if len(items) <= ROWS:
        return items
    rest = f"<li>{len(items) - ROWS:,} more {esc(what)}: <code>turntrace --json report</code> lists them all</li>"
    return [*items[:ROWS], rest]
