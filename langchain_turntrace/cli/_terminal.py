"""The terminal's width, and fitting prose, commands and tables into it: no line wider, so none is wrapped.

Rich takes the width from the terminal, else from $COLUMNS, else 80 (a pipe, cron mail, a CI log). Text that
is cut ends in "…"; numbers and commands are never cut.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(highlight=False)

_ATOMS = re.compile(r"`[^`]*`\S*|\S+")  # a `quoted command` is one word: never split across lines


def width() -> int:
    return console.width


def say(text: str, indent: int = 2) -> None:
    """Prose folded at word boundaries to the width; lines after a paragraph's first are indented by ``indent``
    more than it."""
    for paragraph in text.split("\n"):
        for line in folded(paragraph, indent):
            console.print(line, markup=False, soft_wrap=True)


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
            console.print(current, markup=False, soft_wrap=True)
            current = " " * hang + part
        else:
            current = current + gap + part if current else part
        current = cut(current, room)
    if current:
        console.print(current, markup=False, soft_wrap=True)


def command(text: str, lead: str = "") -> None:
    """A shell command after ``lead``, whole on one line when it fits, else continued with `` \\`` so that it
    still pastes as one command. Never cut."""
    room = width()
    if cell_len(lead + text) <= room:
        console.print(lead + text, markup=False, soft_wrap=True)
        return
    words = [shlex.quote(word) for word in shlex.split(text)]
    current = lead + words[0]
    for word in words[1:]:
        if cell_len(f"{current} {word} \\") <= room:
            current = f"{current} {word}"
        else:
            console.print(current + " \\", markup=False, soft_wrap=True)
            current = " " * (len(lead) + 4) + word
    console.print(current, markup=False, soft_wrap=True)


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

    ``minimum``: text may be cut (ending in "…") down to this many cells; None: never cut (numbers, ids).
    ``optional``: 0 is always shown; 1, 2, … are added in that order while the whole table still fits uncut,
    so a wide terminal shows more columns. ``grow``: the column takes the width left over (a timeline).
    """

    header: str
    natural: int
    minimum: int | None = None
    optional: int = 0
    grow: bool = False
    right: bool = False


def fit(columns: Sequence[Column], room: int, gap: int, edges: int = 0) -> tuple[dict[str, int], int]:
    """The columns shown and their widths, and the gap between them. ``gap`` narrows to 1 when the
    always-shown columns would not fit uncut; ``edges`` is what a box draws per column beyond the gap."""
    kept = [c for c in columns if not c.optional]
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
            break
        widest = max(cuttable, key=lambda c: widths[c.header])
        widths[widest.header] -= 1
        excess -= 1
    for column in shown:
        if column.grow and excess < 0:
            widths[column.header] -= excess
            break
    return widths, gap


def fits(columns: Sequence[Column], room: int, gap: int) -> bool:
    """Whether the always-shown columns fit uncut, ``gap`` apart."""
    return _total([c for c in columns if not c.optional], gap, 0) <= room


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
) -> Table:
    """A table whose columns fit the width: optional ones left out, text cut with "…". ``rows`` (and ``footer``, a
    total under a rule) map a column's header to its cell. Boxed tables draw borders; the others a rule under the
    header."""
    # A boxed table spends a border and a space each side per column (the gap is the border), and 2 on its edges.
    widths, gap = fit(columns, width() - (2 if boxed else 0), 1 if boxed else gap, edges=2 if boxed else 0)
    if boxed:
        grid = Table(header_style="bold")
    else:
        grid = Table(
            box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 0, 0, gap - 1), header_style="bold"
        )
    for column in columns:
        if column.header in widths:
            grid.add_column(
                column.header,
                width=widths[column.header],
                justify="right" if column.right else "left",
                no_wrap=True,
                overflow="ellipsis",
            )
    for row in rows:
        grid.add_row(*(row[c.header] for c in columns if c.header in widths))
    if footer is not None:
        grid.add_section()
        grid.add_row(*(footer[c.header] for c in columns if c.header in widths))
    return grid
