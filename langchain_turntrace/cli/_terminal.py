"""The terminal's width, and fitting prose, commands and tables into it: no line wider, so none is wrapped.

Rich takes the width from the terminal, else from $COLUMNS, else 80 (a pipe, cron mail, a CI log). Text that
is cut ends in "…"; numbers and commands are never cut: a table too wide for its numbers abbreviates headers, then
leaves out columns that can go, and below that prints one field per line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

# Every value printed is the user's literal text: a session "s[/]x" or a feature ":warning: x" is no markup.
console = Console(highlight=False, markup=False, emoji=False)

_ATOMS = re.compile(r"`[^`]*`\S*|\S+")  # a `quoted command` is one word: never split across lines


def width() -> int:
    return console.width


def say(text: str, indent: int = 2) -> None:
    """Prose folded at word boundaries to the width; lines after a paragraph's first are indented by ``indent``
    more than it."""
    for paragraph in text.split("\n"):
        for line in folded(paragraph, indent):
            console.print(line, soft_wrap=True)


def folded(paragraph: str, indent: int = 2) -> list[str]:
    """One paragraph as lines of the width, broken between words."""
    lead = paragraph[: len(paragraph) - len(paragraph.lstrip(" "))]
    room = width()
    if cell_len(paragraph) <= room:
        return [paragraph]
    hang = (lead + " " * indent)[: room // 2]
    lines: list[str] = []
    current = lead
    for word in _ATOMS.findall(paragraph):
        bare = current in (lead, hang)
        joined = current + ("" if bare else " ") + word
        if cell_len(joined) <= room or bare:
            current = joined
        else:
            lines.append(current)
            current = hang + word
        while cell_len(current) > room:  # a word wider than the line (a long path) is folded, not cut
            lines.append(current[:room])
            current = hang + current[room:]
    lines.append(current)
    return lines


def fields(parts: Sequence[str], gap: str = "  ", hang: int = 0) -> None:
    """Short facts side by side, as many to a line as fit, lines after the first indented by ``hang``; a fact is
    never split."""
    room = width()
    current = ""
    for part in parts:
        if current and cell_len(current + gap + part) > room:
            console.print(current, soft_wrap=True)
            current = " " * hang + part
        else:
            current = current + gap + part if current else part
        current = cut(current, room)
    if current:
        console.print(current, soft_wrap=True)


def command(text: str, lead: str = "") -> None:
    """A shell command after ``lead``, whole on one line when it fits, else continued with `` \\`` so that it
    still pastes as one command. Never cut."""
    room = width()
    if cell_len(lead + text) <= room:
        console.print(lead + text, soft_wrap=True)
        return
    words = [shlex.quote(word) for word in shlex.split(text)]
    current = lead + words[0]
    for word in words[1:]:
        if cell_len(f"{current} {word} \\") <= room:
            current = f"{current} {word}"
        else:
            console.print(current + " \\", soft_wrap=True)
            current = " " * (len(lead) + 4) + word
    console.print(current, soft_wrap=True)


def cut(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` cells, ending in "…" when it had to be cut."""
    if cell_len(text) <= cells:
        return text
    shortened = Text(text)
    shortened.truncate(cells, overflow="ellipsis")
    return shortened.plain


@dataclass(frozen=True, slots=True)
class Column:
    """A column as the fitting sees it.

    ``natural``: its width uncut, header included. ``minimum``: text may be cut (ending in "…") down to this many
    cells; None: never cut (numbers, ids). ``optional``: 0 is always shown; 1, 2, … are added in that order while
    the whole table still fits uncut, so a wide terminal shows more columns. ``grow``: the column takes the width
    left over (a timeline); it is cut (to ``minimum``) only after every text column. When the table does not fit
    even so, ``short`` replaces the header (``short_natural``: the width then), and then the columns with a
    ``drop`` go, 1 first.
    """

    header: str
    natural: int
    minimum: int | None = None
    optional: int = 0
    grow: bool = False
    right: bool = False
    short: str | None = None
    short_natural: int | None = None
    drop: int = 0


def column(
    header: str,
    cells: Sequence[str | Text],
    *,
    short: str | None = None,
    minimum: int | None = None,
    optional: int = 0,
    drop: int = 0,
    right: bool = False,
) -> Column:
    """A column as wide as its header and widest cell; ``short``: the header when the terminal is narrow."""
    width = natural(header, cells)
    narrow = None if short is None else natural(short, cells)
    least = None if minimum is None else min(width, minimum)
    return Column(header, width, least, optional, right=right, short=short, short_natural=narrow, drop=drop)


@dataclass(frozen=True, slots=True)
class Layout:
    """How a table fits: the columns shown (header -> width, in the caller's order), the header each shows and the
    gap between them; ``records`` when no table fits without cutting a number: one field per line then."""

    widths: dict[str, int]
    labels: dict[str, str]
    gap: int
    records: bool = False


def fit(columns: Sequence[Column], room: int, gap: int, edges: int = 0) -> Layout:
    """The columns shown and their widths. ``gap`` narrows to 1 when the always-shown columns would not fit uncut;
    ``edges`` is what a box draws per column beyond the gap. When text cut to its minimum still leaves too little
    room, short headers are tried, then the droppable columns go; when even that does not fit, records."""
    short = [replace(c, natural=c.short_natural) if c.short_natural is not None else c for c in columns]
    stages: list[tuple[list[Column], bool]] = [(list(columns), False), (short, True)]
    for level in sorted({c.drop for c in columns if c.drop}):
        stages.append(([c for c in short if not c.drop or c.drop > level], True))
    for stage, abbreviated in stages:
        found = _widths(stage, room, gap, edges)
        if found is not None:
            widths, narrowed_gap = found
            labels = {c.header: c.short if abbreviated and c.short else c.header for c in stage if c.header in widths}
            return Layout(widths, labels, narrowed_gap)
    return Layout({}, {c.header: c.header for c in columns}, gap, records=True)


def _always(columns: Sequence[Column]) -> list[Column]:
    return [c for c in columns if not c.optional]


def _widths(columns: Sequence[Column], room: int, gap: int, edges: int) -> tuple[dict[str, int], int] | None:
    """Each shown column's width and the gap, or None when cutting every text column to its minimum is not
    enough."""
    kept = _always(columns)
    if _total(kept, gap, edges) > room:
        gap = 1
    for extra in sorted((c for c in columns if c.optional), key=lambda c: c.optional):
        if _total([*kept, extra], gap, edges) <= room:
            kept.append(extra)
    shown = [c for c in columns if c in kept]  # the caller's order, not the order they were added in
    widths = {c.header: c.natural for c in shown}
    excess = _total(shown, gap, edges) - room
    while excess > 0:
        cuttable = [c for c in shown if c.minimum is not None and widths[c.header] > c.minimum]
        if not cuttable:
            return None
        text = [c for c in cuttable if not c.grow]  # a timeline gives way last
        widest = max(text or cuttable, key=lambda c: widths[c.header])
        widths[widest.header] -= 1
        excess -= 1
    for each in shown:
        if each.grow and excess < 0:
            widths[each.header] -= excess
            break
    return widths, gap


def fits(columns: Sequence[Column], room: int, gap: int) -> bool:
    """Whether the always-shown columns fit uncut, ``gap`` apart."""
    return _total(_always(columns), gap, 0) <= room


def _total(columns: Sequence[Column], gap: int, edges: int) -> int:
    return sum(c.natural for c in columns) + gap * max(len(columns) - 1, 0) + edges * len(columns)


def natural(header: str, cells: Sequence[str | Text]) -> int:
    return max(cell_len(header), *(cell_len(c) if isinstance(c, str) else c.cell_len for c in cells), 1)


def table(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, str | Text]],
    *,
    boxed: bool = False,
    gap: int = 2,
    footer: Mapping[str, str | Text] | None = None,
) -> RenderableType:
    """A table whose columns fit the width: optional ones left out, text cut with "…", short headers and fewer
    columns on a narrow terminal, one field per line on a very narrow one. ``rows`` (and ``footer``, a total under
    a rule) map a column's header to its cell. Boxed tables draw borders; the others a rule under the header."""
    # A boxed table spends a border and a space each side per column (the gap is the border), and 2 on its edges.
    layout = fit(columns, width() - (2 if boxed else 0), 1 if boxed else gap, edges=2 if boxed else 0)
    if layout.records:
        return records(columns, [*rows, *([footer] if footer is not None else [])])
    widths = layout.widths
    if boxed:
        grid = Table(header_style="bold")
    else:
        grid = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            padding=(0, 0, 0, layout.gap - 1),
            header_style="bold",
        )
    for each in columns:
        if each.header in widths:
            grid.add_column(
                layout.labels[each.header],
                width=widths[each.header],
                justify="right" if each.right else "left",
                no_wrap=True,
                overflow="ellipsis",
            )
    for row in rows:
        grid.add_row(*(row[c.header] for c in columns if c.header in widths))
    if footer is not None:
        grid.add_section()
        grid.add_row(*(footer[c.header] for c in columns if c.header in widths))
    return grid


def records(columns: Sequence[Column], rows: Sequence[Mapping[str, str | Text]]) -> RenderableType:
    """Rows as records, one field per line, for a terminal too narrow for the table: text is cut to the line, a
    number goes on over the next line rather than being cut."""
    room = width()
    label_width = min(max(cell_len(c.header) for c in columns), room // 3)
    lines: list[Text] = []
    for index, row in enumerate(rows):
        if index:
            lines.append(Text(""))
        for position, each in enumerate(columns):
            value = row[each.header]
            if not (value if isinstance(value, str) else value.plain):
                continue
            label = Text(
                cut(each.header, label_width).ljust(label_width) + " ", style="bold" if not position else "dim"
            )
            line = Text.assemble("  " if position else "", label, value)
            if each.minimum is not None or each.grow:
                line.truncate(room, overflow="ellipsis")
            lines.append(line)
    return Group(*lines)
