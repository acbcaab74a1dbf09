"""Terminal output with rich: the tables of runs, cost and tools, the alert, the checks and a price card.

Every table fits the terminal (cli/_terminal.py) and its title states the window and the limit; an empty
window says what the store holds before it. Times are UTC, and say so. One run's waterfall is
cli/_waterfall_text.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from langchain_turntrace.cli import _terminal, _waterfall_text
from langchain_turntrace.cli._since import since_covering, utc, window_words
from langchain_turntrace.cli._terminal import Column, column
from langchain_turntrace.money import amount, usd
from langchain_turntrace.pricing import RateCard
from langchain_turntrace.store import CostRow, Earlier, RunSummary, StoredSpan, ToolStat

if TYPE_CHECKING:
    from langchain_turntrace.cli._alert import AlertReport
    from langchain_turntrace.verify import Check  # verify loads LangChain: only `turntrace verify` needs it

_FINDINGS_SHOWN = 5  # per kind of finding; --json lists every one
_START = "start (UTC)"


def line(text: str) -> None:
    _terminal.say(text)


def next_commands(*commands: str) -> None:
    """``next: a · b · c``, as many commands to a line as fit, none split."""
    _terminal.fields([f"next: {commands[0]}", *commands[1:]], gap=" · ", hang=len("next: "))


def waterfall(spans: Sequence[StoredSpan], resumes: Sequence[str] = (), resumed_by: Sequence[str] = ()) -> None:
    _waterfall_text.waterfall(spans, resumes, resumed_by)


def _when(start_ns: int) -> str:
    moment = utc(start_ns)
    return f"{moment:%m-%d %H:%M}" if moment.year == datetime.now(timezone.utc).year else f"{moment:%Y-%m-%d}"


def _nothing_in(what: str, since: str, earlier: Earlier | None, noun: str) -> None:
    """An empty window: what the store holds before it (``noun``: one of them), and the --since that reaches it."""
    window = window_words(since)
    if earlier is None or not earlier.count or earlier.latest_start_ns is None:
        line(f"no {what} {window}, nor before it")
        return
    line(
        f"no {what} {window}; {earlier.count} older {noun}{'' if earlier.count == 1 else 's'}, the latest "
        f"{utc(earlier.latest_start_ns):%Y-%m-%d %H:%M} UTC — try --since {since_covering(earlier.latest_start_ns)}"
    )


def runs_table(
    rows: Sequence[RunSummary],
    *,
    since: str,
    limit: int,
    store: Path,
    earlier: Earlier | None,
    session: str | None = None,
    user: str | None = None,
    feature: str | None = None,
) -> None:
    tags = [f"{name} {value}" for name, value in (("session", session), ("user", user), ("feature", feature)) if value]
    what = "agent runs" + (f" of {', '.join(tags)}" if tags else "")
    if not rows:
        if (earlier is None or not earlier.count) and not tags:
            line(f"no {what} in {store} yet; trace one with `turntrace demo`")
        else:
            _nothing_in(what, since, earlier, "agent run")
        return
    line(f"{what} {window_words(since)}, {'oldest' if session else 'newest'} first (limit {limit})")
    _terminal.console.print(_runs_grid(rows))
    if len(rows) == limit:
        line(f"{limit} shown, the limit: raise --limit to see more")


def _runs_grid(rows: Sequence[RunSummary]) -> RenderableType:
    cells: list[dict[str, str | Text]] = []
    for id_chars in (12, 8):  # 8 characters still open a run (`show` takes a prefix) and leave names whole
        cells = [_run_cells(row, id_chars) for row in rows]
        if _terminal.fits(_run_columns(cells), _terminal.width(), gap=2):
            break
    return _terminal.table(_run_columns(cells), cells)


def _run_columns(cells: Sequence[dict[str, str | Text]]) -> list[Column]:
    def of(header: str, minimum: int | None = None, optional: int = 0, drop: int = 0, right: bool = False) -> Column:
        return column(header, [c[header] for c in cells], minimum=minimum, optional=optional, drop=drop, right=right)

    # What triage needs is always there (a run to open, when, which agent and session, cost, status); a wider
    # terminal adds the rest, in this order; a narrow one (under 80 columns) loses the duration, then the turns.
    return [
        of(_START),
        of("run"),
        of("agent", minimum=8),
        of("session", minimum=8),
        of("user", optional=2),
        of("turns", drop=2, right=True),
        of("tools", optional=1, right=True),
        of("tokens in→out", optional=3, right=True),
        of("cost", right=True),
        of("ms", drop=1, right=True),
        of("feature", optional=4),
        of("version", optional=5),
        of("status"),
    ]


def _run_cells(row: RunSummary, id_chars: int) -> dict[str, str | Text]:
    shown = "resumed" if row.resumed and row.status == "ok" else row.status  # continued a paused run, then ended
    colour = "red" if row.status == "error" else "yellow" if row.status != "ok" else "green"
    return {
        _START: _when(row.start_ns),
        "run": row.run_id[:id_chars],
        "agent": row.agent or "",
        "session": row.session or "",
        "user": row.user_id or "",
        "turns": str(row.turns),
        "tools": str(row.tool_calls),
        "tokens in→out": f"{row.input_tokens}→{row.output_tokens}",
        "cost": usd(row.cost_usd),
        "ms": f"{row.duration_ms:.0f}",
        "status": Text(shown, style=colour),
        "feature": row.feature or "",
        "version": row.agent_version or "",
    }


def cost_table(
    rows: Sequence[CostRow], total: CostRow | None, dimension: str, since: str, earlier: Earlier | None = None
) -> None:
    """``total``: the store's total of the window, the same figure under every ``dimension``."""
    if not rows or total is None:
        _nothing_in("model calls", since, earlier, "model call")
        return
    line(f"cost by {dimension} {window_words(since)} (model calls only: nothing counted twice)")
    total_usd = total.cost_usd

    def share(cost_usd: float) -> str:
        return f"{100 * cost_usd / total_usd:.0f}%" if total_usd else ""

    cells: list[dict[str, str | Text]] = [
        {
            dimension: row.key or "(none)",
            "calls": str(row.calls),
            "tokens in": str(row.input_tokens),
            "tokens out": str(row.output_tokens),
            "cost": usd(row.cost_usd),
            "share": share(row.cost_usd),
            "unpriced calls": Text(str(row.unpriced_calls), style="yellow" if row.unpriced_calls else ""),
        }
        for row in rows
    ]
    footer: dict[str, str | Text] = {
        dimension: "total",
        "calls": str(total.calls),
        "tokens in": str(total.input_tokens),
        "tokens out": str(total.output_tokens),
        "cost": usd(total_usd),
        "share": share(total_usd),
        "unpriced calls": str(total.unpriced_calls),
    }
    every = [*cells, footer]

    def of(header: str, short: str | None = None, optional: int = 0) -> Column:
        return column(header, [c[header] for c in every], short=short, optional=optional, right=True)

    columns = [
        column(dimension, [c[dimension] for c in every], minimum=8),
        of("calls"),
        of("tokens in", short="in"),
        of("tokens out", short="out"),
        of("cost"),
        of("share", optional=1),
        # A column of zeros says only that every model is priced: it gives way to the share.
        of("unpriced calls", short="unpriced", optional=0 if total.unpriced_calls else 2),
    ]
    _terminal.console.print(_terminal.table(columns, cells, boxed=True, footer=footer))
    if total.unpriced_calls:
        line("unpriced calls have tokens but no cost: add their models with prices={...} or TURNTRACE_PRICES")


def tools_table(rows: Sequence[ToolStat], by: str, since: str, limit: int, earlier: Earlier | None = None) -> None:
    if not rows:
        _nothing_in("tool calls", since, earlier, "tool call")
        return
    ranking = {"latency": "p95 latency", "errors": "errors", "calls": "calls"}.get(by, by)
    line(f"tools by {ranking} {window_words(since)} (limit {limit})")
    cells: list[dict[str, str | Text]] = [
        {
            "tool": row.tool,
            "calls": str(row.calls),
            "errors": Text(str(row.errors), style="red" if row.errors else ""),
            "p50": f"{row.p50_ms:.1f} ms",
            "p95": f"{row.p95_ms:.1f} ms",
            "max": f"{row.max_ms:.1f} ms",
            "slowest in run": row.slowest_run_id[:12],
        }
        for row in rows
    ]
    columns = [
        column("tool", [c["tool"] for c in cells], minimum=8),
        column("calls", [c["calls"] for c in cells], right=True),
        column("errors", [c["errors"] for c in cells], short="err", right=True),
        # A narrow terminal keeps p95, the ranking's figure (and the errors), and loses p50, then max.
        column("p50", [c["p50"] for c in cells], drop=1, right=True),
        column("p95", [c["p95"] for c in cells], right=True),
        column("max", [c["max"] for c in cells], drop=2, right=True),
        column("slowest in run", [c["slowest in run"] for c in cells], short="slowest"),
    ]
    _terminal.console.print(_terminal.table(columns, cells, boxed=True))
    if len(rows) == limit:
        line(f"{limit} shown, the limit: raise --limit to see more")
    _terminal.command(f"turntrace show {rows[0].slowest_run_id[:12]}", lead="open one: ")


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
    _terminal.console.print(table)


def checks(results: Sequence[Check], target: str) -> None:
    line(f"turntrace verify: one scripted session through {target}")
    for check in results:
        mark, style = ("✓", "green") if check.passed else ("✗", "red bold")
        for index, folded in enumerate(_terminal.folded(f"  {mark} {check.name}: {check.detail}", indent=2)):
            text = Text(folded)
            if index == 0:
                text.stylize(style, 2, 3)
                text.stylize("bold", 4, 5 + len(check.name))
            _terminal.console.print(text, soft_wrap=True)
    failed = sum(not c.passed for c in results)
    line("all checks passed" if not failed else f"{failed} check(s) failed")


def alert(report: AlertReport, earlier: Earlier | None = None) -> None:
    threshold = amount(report.max_cost_usd)
    line(f"turntrace alert: model-call cost per {report.per} by {report.by} over {threshold}; {report.window()}")
    if report.store_empty:
        line(
            f"the store {report.store} holds no traces yet: nothing to check. Trace agent runs into it (or try "
            "`turntrace demo`)"
        )
    elif not report.groups:
        _nothing_to_check(earlier)
    elif not report.over:
        top = report.groups[0]
        unpriced = f" + {top.unpriced_calls} unpriced call(s)" if top.unpriced_calls else ""
        line(
            f"ok: none of {len(report.groups)} group(s) is over {threshold}; the costliest is {report.by} "
            f"{top.by_value or '(none)'}, {report.per} {_per_value(top.per_value, report.per)}: "
            f"{usd(top.cost_usd)}{unpriced}"
        )
    else:
        _over_table(report, threshold)
    _smells(report)


def _nothing_to_check(earlier: Earlier | None) -> None:
    if earlier is None or not earlier.count or earlier.latest_start_ns is None:
        line("no model calls in that window, nor before it: nothing to check")
        return
    line(
        f"no model calls in that window: nothing to check. Widen --since: {earlier.count} older model "
        f"call{'' if earlier.count == 1 else 's'}, the latest {utc(earlier.latest_start_ns):%Y-%m-%d %H:%M} UTC — "
        f"try --since {since_covering(earlier.latest_start_ns)}"
    )


def _over_table(report: AlertReport, threshold: str) -> None:
    line(f"{len(report.over)} of {len(report.groups)} group(s) over {threshold}, {report.window()}")
    by, per = report.by, report.per
    cells: list[dict[str, str | Text]] = [
        {
            by: drill.item.by_value or "(none)",
            per: _per_value(drill.item.per_value, per),
            "calls": str(drill.item.calls),
            "tokens in→out": f"{drill.item.input_tokens}→{drill.item.output_tokens}",
            "cost": Text(usd(drill.item.cost_usd), style="red"),
            "unpriced calls": Text(str(drill.item.unpriced_calls), style="yellow" if drill.item.unpriced_calls else ""),
        }
        for drill in report.over
    ]
    unpriced = any(drill.item.unpriced_calls for drill in report.over)
    columns = [
        column(by, [c[by] for c in cells], minimum=8),
        column(per, [c[per] for c in cells], minimum=None if per == "run" else 8),
        column("calls", [c["calls"] for c in cells], right=True),
        column("tokens in→out", [c["tokens in→out"] for c in cells], short="tokens", right=True),
        column("cost", [c["cost"] for c in cells], right=True),
        column(
            "unpriced calls",
            [c["unpriced calls"] for c in cells],
            short="unpriced",
            optional=0 if unpriced else 1,
            right=True,
        ),
    ]
    _terminal.console.print(_terminal.table(columns, cells, boxed=True))
    for drill in report.over[:3]:
        _terminal.command(drill.next, lead="next: ")


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
            _terminal.command(drill.next, lead=f"  {drill.item.agent or 'agent'} → ")
        _more(len(report.runs_without_turns))
    if report.tool_calls_without_turn:
        line(
            f"warning: {len(report.tool_calls_without_turn)} tool call(s) without a turn: invoked outside an agent "
            "run, or before any model call asked for them"
        )
        for drill in report.tool_calls_without_turn[:_FINDINGS_SHOWN]:
            _terminal.command(drill.next, lead=f"  {drill.item.tool or 'tool'} → ")
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
