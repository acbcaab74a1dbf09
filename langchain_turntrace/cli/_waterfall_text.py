"""One run's waterfall in the terminal: the span tree, a timeline as wide as the terminal leaves, usage, notes.

At 80 columns the timeline keeps at least 20 cells: span names lose their operation word first
("execute_tool search_flights" becomes "tool search_flights") and error types their module, then the tokens
column goes (the header still gives the run's tokens), then names and notes are cut with "…". Narrower, the
timeline gives way too, down to 10 cells; below that each span is a record of its own. A wide terminal gets the
full names, every column and a longer timeline. The start time is UTC.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.text import Text

from langchain_turntrace import attributes as attr
from langchain_turntrace.cli import _terminal
from langchain_turntrace.cli._since import utc
from langchain_turntrace.cli._terminal import Column
from langchain_turntrace.money import usd
from langchain_turntrace.store import StoredSpan
from langchain_turntrace.waterfall import WaterfallRow, build_rows

TIMELINE_MIN = 20
_TIMELINE_LEAST = 10  # below 80 columns, before a span becomes a record
_SHORT_OPERATIONS = {"invoke_agent": "agent", "execute_tool": "tool", "text_completion": "completion"}
_COLOURS = {"agent": "magenta", "turn": "cyan", "chat": "blue"}


def waterfall(spans: Sequence[StoredSpan], resumes: Sequence[str] = (), resumed_by: Sequence[str] = ()) -> None:
    """The run's spans as a tree with a timeline; then the runs it resumes and the runs that resumed it (a paused
    run goes on in a run of its own)."""
    rows = build_rows(spans)
    if not rows:
        _terminal.say("this run has no spans")
        return
    _header(rows)
    _terminal.console.print(_table(rows))
    for run_id in resumes:
        _terminal.say(f"resumes run {run_id[:8]}, which paused (turntrace show {run_id[:8]})")
    for run_id in resumed_by:
        _terminal.say(f"resumed by run {run_id[:8]} (turntrace show {run_id[:8]})")


def _header(rows: Sequence[WaterfallRow]) -> None:
    root = rows[0]
    facts = [
        f"run {root.span.span_id}",
        f"started {utc(root.span.start_ns):%Y-%m-%d %H:%M:%S} UTC",
        f"{root.duration_ms:.2f} ms",
    ]
    if root.cost_usd is not None:
        facts.append(usd(root.cost_usd))
    if root.input_tokens is not None and root.output_tokens is not None:
        facts.append(f"{root.input_tokens}→{root.output_tokens} tokens")
    _terminal.fields([*facts, f"trace {root.span.trace_id}"])


def _table(rows: Sequence[WaterfallRow]) -> RenderableType:
    room = _terminal.width()
    columns: list[Column] = []
    labels: list[str] = []
    notes: list[str] = []
    for short in (False, True):  # names as traced when they fit, else without the operation word or the module
        labels = ["  " * row.depth + _label(row, short=short) for row in rows]
        notes = [_notes(row, short=short) for row in rows]
        columns = _columns(rows, labels, notes)
        if _terminal.fits(columns, room, gap=2):
            break
    layout = _terminal.fit(columns, room, gap=2)
    bar_width = layout.widths.get("timeline", room - 2 - len("timeline "))  # a record's line, when no table fits
    total_ms = max(max(r.offset_ms + r.duration_ms for r in rows), 1e-3)
    cells: list[dict[str, str | Text]] = []
    for row, label, note in zip(rows, labels, notes, strict=True):
        usage = bool(row.input_tokens or row.output_tokens or row.cost_usd)  # a tool that called no model: blank
        cells.append(
            {
                "span": Text(label, style="red" if row.span.status == "ERROR" else ""),
                "timeline": _bar(row, total_ms, bar_width),
                "ms": f"{row.duration_ms:.2f}",
                "tokens": _tokens(row) if usage else "",
                "cost": usd(row.cost_usd) if usage and row.cost_usd is not None else "",
                "notes": Text(note, style="red" if row.error_type else "dim"),
            }
        )
    return _terminal.table(columns, cells, gap=2)


def _columns(rows: Sequence[WaterfallRow], labels: Sequence[str], notes: Sequence[str]) -> list[Column]:
    widest = _terminal.natural
    label_width = widest("span", labels)
    columns = [
        Column("span", label_width, minimum=min(label_width, 12)),
        Column("timeline", TIMELINE_MIN, minimum=_TIMELINE_LEAST, grow=True),
        Column("ms", widest("ms", [f"{r.duration_ms:.2f}" for r in rows]), right=True),
        Column("tokens", widest("tokens", [_tokens(r) for r in rows]), optional=1),
        Column("cost", widest("cost", [usd(r.cost_usd) if r.cost_usd is not None else "" for r in rows]), right=True),
    ]
    if any(notes):
        note_width = widest("notes", notes)
        columns.append(Column("notes", note_width, minimum=min(note_width, 10)))
    return columns


def _label(row: WaterfallRow, *, short: bool) -> str:
    operation, _, rest = row.label.partition(" ")
    return f"{_SHORT_OPERATIONS[operation]} {rest}" if short and rest and operation in _SHORT_OPERATIONS else row.label


def _tokens(row: WaterfallRow) -> str:
    return f"{row.input_tokens}→{row.output_tokens}" if row.input_tokens is not None else ""


def _bar(row: WaterfallRow, total_ms: float, cells: int) -> Text:
    start = min(int(row.offset_ms / total_ms * cells), cells - 1)
    length = max(1, round(row.duration_ms / total_ms * cells))
    colour = "red" if row.error else _COLOURS.get(row.kind, "green")
    return Text(" " * start) + Text("█" * min(length, cells - start), style=colour)


def _notes(row: WaterfallRow, *, short: bool) -> str:
    """What the row's numbers do not say; the most urgent first, since a narrow terminal cuts the end."""
    notes: list[str] = []
    if row.error_type:
        notes.append(f"ERROR {row.error_class if short else row.error_type}")
    if row.interrupted:
        notes.append("interrupted")
    if row.incomplete:
        notes.append("incomplete")
    cost_source = row.span.attributes.get(attr.COST_SOURCE)
    if cost_source in ("unpriced", "no_usage"):
        notes.append(str(cost_source))
    if row.kind == "turn" and row.stop_reason:
        notes.append(f"stop={row.stop_reason}")
    return " ".join(notes)
