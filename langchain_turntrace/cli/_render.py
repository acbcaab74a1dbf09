"""Terminal output with rich: tables for runs, cost and tools; a waterfall with time bars for one run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from langchain_turntrace import attributes as attr
from langchain_turntrace.money import usd
from langchain_turntrace.pricing import RateCard
from langchain_turntrace.store import CostRow, RunSummary, StoredSpan, ToolStat
from langchain_turntrace.verify import Check

if TYPE_CHECKING:
    from langchain_turntrace.cli._alert import AlertReport
    from langchain_turntrace.waterfall import WaterfallRow

_console = Console(highlight=False)
_BAR_WIDTH = 40
_FINDINGS_SHOWN = 5  # per kind of finding; --json lists every one


def line(text: str) -> None:
    _console.print(text, markup=False)


def _when(start_ns: int, *, short: bool = False) -> str:
    return datetime.fromtimestamp(start_ns / 1e9).strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M:%S")


def runs_table(rows: Sequence[RunSummary], path: Path, session: str | None = None) -> None:
    if not rows:
        line(f"no agent runs in {path} for these filters; trace one with `turntrace demo`")
        return
    # A narrow terminal (under 120 columns) keeps what triage needs; --json and a wider one show every column.
    wide = _console.width >= 120
    title = "agent runs" if session is None else f"agent runs of session {session}, oldest first"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    names = ("start", "run", "agent", "session", "user") if wide else ("run", "agent", "session")
    numbers = ("turns", "tools", "tokens in→out", "cost", "ms") if wide else ("turns", "tools", "cost", "ms")
    for column in names:
        table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=24)
    for column in (*numbers, "status"):
        table.add_column(column, justify="left" if column == "status" else "right", no_wrap=True)
    for row in rows:
        shown = "resumed" if row.resumed and row.status == "ok" else row.status  # continued a paused run, then ended
        status = Text(shown, style="red" if row.status == "error" else "yellow" if row.status != "ok" else "green")
        cells: dict[str, str | Text] = {
            "start": _when(row.start_ns, short=True),
            "run": row.run_id[:12],
            "agent": row.agent or "",
            "session": row.session or "",
            "user": row.user_id or "",
            "turns": str(row.turns),
            "tools": str(row.tool_calls),
            "tokens in→out": f"{row.input_tokens}→{row.output_tokens}",
            "cost": usd(row.cost_usd),
            "ms": f"{row.duration_ms:.0f}",
            "status": status,
        }
        table.add_row(*(cells[c] for c in (*names, *numbers, "status")))
    _console.print(table)


def cost_table(rows: Sequence[CostRow], dimension: str, since: str) -> None:
    table = Table(
        title=f"cost by {dimension} (last {since}; model calls only, nothing counted twice)", title_justify="left"
    )
    for column in (dimension, "calls", "tokens in", "tokens out", "cost", "unpriced calls"):
        table.add_column(column, justify="left" if column == dimension else "right")
    for row in rows:
        table.add_row(
            row.key or "(none)",
            str(row.calls),
            str(row.input_tokens),
            str(row.output_tokens),
            usd(row.cost_usd),
            Text(str(row.unpriced_calls), style="yellow" if row.unpriced_calls else ""),
        )
    if rows:
        table.add_section()
        table.add_row(
            "total",
            str(sum(r.calls for r in rows)),
            str(sum(r.input_tokens for r in rows)),
            str(sum(r.output_tokens for r in rows)),
            usd(sum(r.cost_usd for r in rows)),
            str(sum(r.unpriced_calls for r in rows)),
        )
    _console.print(table)
    if any(r.unpriced_calls for r in rows):
        line("unpriced calls have tokens but no cost: add their models with prices={...} or TURNTRACE_PRICES")


def tools_table(rows: Sequence[ToolStat], by: str, since: str) -> None:
    table = Table(title=f"tool calls by {by} (last {since})", title_justify="left")
    for column in ("tool", "calls", "errors", "p50", "p95", "max", "slowest in run"):
        table.add_column(column, justify="left" if column in ("tool", "slowest in run") else "right")
    for row in rows:
        table.add_row(
            row.tool,
            str(row.calls),
            Text(str(row.errors), style="red" if row.errors else ""),
            f"{row.p50_ms:.1f} ms",
            f"{row.p95_ms:.1f} ms",
            f"{row.max_ms:.1f} ms",
            row.slowest_run_id[:12],
        )
    _console.print(table)
    if rows:
        line(f"open one: turntrace show {rows[0].slowest_run_id[:12]}")


def waterfall(spans: Sequence[StoredSpan], resumes: Sequence[str] = (), resumed_by: Sequence[str] = ()) -> None:
    """The run's spans as a tree with a timeline; then the runs it resumes and the runs that resumed it (a paused
    run goes on in a run of its own)."""
    from langchain_turntrace.waterfall import build_rows

    rows = build_rows(spans)
    if not rows:
        line("this run has no spans")
        return
    _waterfall_table(rows)
    for run_id in resumes:
        line(f"resumes run {run_id[:8]}, which paused (turntrace show {run_id[:8]})")
    for run_id in resumed_by:
        line(f"resumed by run {run_id[:8]} (turntrace show {run_id[:8]})")


def _waterfall_table(rows: Sequence[WaterfallRow]) -> None:
    total_ms = max(max(r.offset_ms + r.duration_ms for r in rows), 1e-3)
    label_width = max(len("  " * r.depth + r.label) for r in rows)
    # The bar takes what the other columns leave of the terminal (80 columns still fit): 8 to 40 cells.
    bar_width = max(8, min(_BAR_WIDTH, _console.width - label_width - 58))
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    widths = {"span": label_width, "timeline": bar_width, "ms": 7, "tokens": 9, "cost": 9, "": 4}
    for column, min_width in widths.items():
        table.add_column(
            column, justify="right" if column in ("ms", "cost") else "left", no_wrap=True, min_width=min_width
        )
    colours = {"agent": "magenta", "turn": "cyan", "chat": "blue"}
    for row in rows:
        start = min(int(row.offset_ms / total_ms * bar_width), bar_width - 1)
        width = max(1, round(row.duration_ms / total_ms * bar_width))
        colour = "red" if row.error else colours.get(row.kind, "green")
        bar = Text(" " * start) + Text("█" * min(width, bar_width - start), style=colour)
        # A tool that called no model has nothing to show in the usage columns.
        usage = bool(row.input_tokens or row.output_tokens or row.cost_usd)
        notes: list[str] = []
        if row.kind == "turn" and row.stop_reason:
            notes.append(f"stop={row.stop_reason}")
        if row.error_type:
            notes.append(f"ERROR {row.error_type}")
        if row.interrupted:
            notes.append("interrupted")
        if row.incomplete:
            notes.append("incomplete")
        cost_source = row.span.attributes.get(attr.COST_SOURCE)
        if cost_source in ("unpriced", "no_usage"):
            notes.append(str(cost_source))
        table.add_row(
            Text("  " * row.depth + row.label, style="red" if row.span.status == "ERROR" else ""),
            bar,
            f"{row.duration_ms:.2f}",
            f"{row.input_tokens}→{row.output_tokens}" if usage and row.input_tokens is not None else "",
            usd(row.cost_usd) if usage and row.cost_usd is not None else "",
            Text(" ".join(notes), style="red" if row.error_type else "dim"),
        )
    root = rows[0].span
    line(f"run {root.span_id}  trace {root.trace_id}  started {_when(root.start_ns)}")
    _console.print(table)


def rate_card(card: RateCard) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    tier = ""
    if card.service_tier:
        tier = (
            f" (service tier {card.service_tier}"
            + ("" if card.tier_applied else ": no price of its own, the default rates apply")
            + ")"
        )
    table.add_row("model", card.model + tier)
    if card.source == "override":
        table.add_row("source", "your own rates ($TURNTRACE_PRICES or prices=)")
    else:
        table.add_row("source", f"{card.source}, the table installed with the package")
        table.add_row("matched", card.matched or "")
    for what, rate in card.rates:
        table.add_row(what, rate)
    _console.print(table)


def checks(results: Sequence[Check], target: str) -> None:
    line(f"turntrace verify: one scripted session through {target}")
    for check in results:
        mark = Text("  ✓ " if check.passed else "  ✗ ", style="green" if check.passed else "red bold")
        _console.print(mark + Text(f"{check.name}: ", style="bold") + Text(check.detail))
    failed = sum(not c.passed for c in results)
    line("all checks passed" if not failed else f"{failed} check(s) failed")


def alert(report: AlertReport) -> None:
    threshold = f"${report.max_cost_usd:g}"
    line(f"turntrace alert: model-call cost per {report.per} by {report.by} over {threshold}; {report.window()}")
    if report.store_empty:
        line(
            f"the store {report.store} holds no traces yet: nothing to check. Trace agent runs into it (or try "
            "`turntrace demo`)"
        )
    elif not report.groups:
        line("no model calls in that window: nothing to check. Widen --since (e.g. --since 7d) to look further back")
    elif not report.over:
        top = report.groups[0]
        unpriced = f" + {top.unpriced_calls} unpriced call(s)" if top.unpriced_calls else ""
        line(
            f"ok: none of {len(report.groups)} group(s) is over {threshold}; the costliest is {report.by} "
            f"{top.by_value or '(none)'}, {report.per} {_per_value(top.per_value, report.per)}: "
            f"{usd(top.cost_usd)}{unpriced}"
        )
    else:
        table = Table(
            title=f"{len(report.over)} of {len(report.groups)} group(s) over {threshold}", title_justify="left"
        )
        for column in (report.by, report.per, "calls", "tokens in→out", "cost", "unpriced calls"):
            table.add_column(column, justify="left" if column in (report.by, report.per) else "right")
        for drill in report.over:
            group = drill.item
            table.add_row(
                group.by_value or "(none)",
                _per_value(group.per_value, report.per),
                str(group.calls),
                f"{group.input_tokens}→{group.output_tokens}",
                Text(usd(group.cost_usd), style="red"),
                Text(str(group.unpriced_calls), style="yellow" if group.unpriced_calls else ""),
            )
        _console.print(table)
        for drill in report.over[:3]:
            _command(f"next: {drill.next}")
    _smells(report)


def _command(text: str) -> None:
    # Never folded (cron mail and pipes get 80 columns): a command must survive copy and paste whole.
    _console.print(text, markup=False, soft_wrap=True)


def _per_value(value: str, per: str) -> str:
    return value[:12] if per == "run" else value


def _smells(report: AlertReport) -> None:
    if report.unpriced_models:
        names = ", ".join(f"{m.model or '(unnamed)'} ({m.calls} call(s))" for m in report.unpriced_models)
        example = report.unpriced_models[0].model or "MODEL"
        line(
            f"warning: unpriced model calls (tokens but no cost, so $0 above): {names}. Add a price override: "
            f"prices={{{example!r}: {{'input_per_mtok': ..., 'output_per_mtok': ...}}}} on the handler, or the same "
            "in a TOML/JSON file named by TURNTRACE_PRICES (README: Cost)"
        )
    if report.runs_without_turns:
        line(
            f"warning: {len(report.runs_without_turns)} agent run(s) with no turn: no model call was traced inside "
            "them (a chain with no model, or callbacks not passed down to the model)"
        )
        for drill in report.runs_without_turns[:_FINDINGS_SHOWN]:
            _command(f"  {drill.item.agent or 'agent'} → {drill.next}")
        _more(len(report.runs_without_turns))
    if report.tool_calls_without_turn:
        line(
            f"warning: {len(report.tool_calls_without_turn)} tool call(s) without a turn: invoked outside an agent "
            "run, or before any model call asked for them"
        )
        for drill in report.tool_calls_without_turn[:_FINDINGS_SHOWN]:
            _command(f"  {drill.item.tool or 'tool'} → {drill.next}")
        _more(len(report.tool_calls_without_turn))
    if report.smells:
        line(
            "--strict: these warnings fail the check (exit 1)"
            if report.strict
            else "these warnings do not change the exit code; add --strict to make them fail it"
        )


def _more(found: int) -> None:
    if found > _FINDINGS_SHOWN:
        line(f"  … and {found - _FINDINGS_SHOWN} more (--json lists them all)")
