"""Cost per day as stacked bars (HTML boxes, so text stays crisp at any width): one chart stacked by model, one by
feature, and the switch between them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta

from langchain_turntrace.report._format import count, esc, share, usd
from langchain_turntrace.report._style import PALETTE
from langchain_turntrace.store import CostRow, DayCost

TICKS = 4
MAX_LABELS = 10


def cost_per_day(
    days: Sequence[DayCost], stacks: dict[str, tuple[Sequence[DayCost], Sequence[CostRow]]], last_day: str
) -> str:
    """``days``: each day's total; ``stacks``: per stacking ("model", "feature"), its (day, key) cells and its keys'
    totals, costliest first (that order picks the colours and the order from the bottom up)."""
    if not days:
        return ""
    slots = _slots(days[0].day, max(last_day, days[-1].day))
    top = _nice_ceiling(max(d.cost_usd for d in days))
    totals = {d.day: d for d in days}
    buttons = "".join(
        f'<button type="button" data-stack="{esc(name)}" aria-pressed="{"true" if n == 0 else "false"}">'
        f"by {esc(name)}</button>"
        for n, name in enumerate(stacks)
    )
    charts = [
        _chart(name, cells, keys, slots, totals, top, hidden=n > 0)
        for n, (name, (cells, keys)) in enumerate(stacks.items())
    ]
    return "\n".join(
        [
            '<section class="wide" id="cost-per-day">',
            '<div class="head"><h2>Cost per day</h2>',
            f'<div class="switch" role="group" aria-label="Stack the bars">{buttons}</div>',
            '<p class="note">UTC days (the first and the last may be only partly in the window); model calls only, '
            "so nothing is counted twice. Hover a bar for its figures.</p></div>",
            *charts,
            "</section>",
        ]
    )


def _chart(
    name: str,
    cells: Sequence[DayCost],
    keys: Sequence[CostRow],
    slots: list[str],
    totals: dict[str, DayCost],
    top: float,
    *,
    hidden: bool,
) -> str:
    colour = {row.key: f"c{n}" if n < PALETTE else "other" for n, row in enumerate(keys)}
    rank = {row.key: n for n, row in enumerate(keys)}
    by_day: dict[str, list[DayCost]] = {}
    for cell in cells:
        by_day.setdefault(cell.day, []).append(cell)
    ticks = "".join(
        f'<div class="tick" style="bottom:{100 * n / TICKS:.4g}%"><span>{esc(usd(top * n / TICKS))}</span></div>'
        for n in range(TICKS + 1)
    )
    bars = "".join(_bar(day, totals.get(day), by_day.get(day, []), colour, rank, top) for day in slots)
    return "\n".join(
        [
            f'<div class="chart" data-stack="{esc(name)}"{" hidden" if hidden else ""}>',
            f'<div class="plot" role="img" aria-label="Cost per day, stacked by {esc(name)}">{ticks}'
            f'<div class="bars">{bars}</div></div>',
            f'<div class="xaxis">{_labels(slots)}</div>',
            _legend(name, keys, colour),
            "</div>",
        ]
    )


def _bar(
    day: str,
    total: DayCost | None,
    cells: list[DayCost],
    colour: dict[str | None, str],
    rank: dict[str | None, int],
    top: float,
) -> str:
    if total is None:
        return f'<div class="day none" data-day="{esc(day)}" title="{esc(day)}: no model calls"></div>'
    cells = sorted(cells, key=lambda c: rank.get(c.key, len(rank)))
    segments = "".join(
        f'<div class="seg {colour.get(c.key, "other")}" data-key="{esc(_label(c.key))}" '
        f'style="height:{share(c.cost_usd, total.cost_usd):.4g}%" '
        f'title="{esc(day)} · {esc(_label(c.key))}: {esc(usd(c.cost_usd))} ({count(c.calls)} calls)"></div>'
        for c in cells
        if c.cost_usd > 0
    )
    title = f"{day}: {usd(total.cost_usd)} ({count(total.calls)} model calls)"
    return (
        f'<div class="day" data-day="{esc(day)}" data-cost-usd="{total.cost_usd!r}" title="{esc(title)}">'
        f'<div class="stack" style="height:{share(total.cost_usd, top):.4g}%">{segments}</div></div>'
    )


def _legend(name: str, keys: Sequence[CostRow], colour: dict[str | None, str]) -> str:
    items = [
        f'<li><span class="sw {colour[row.key]}"></span>{esc(_label(row.key))} '
        f'<span class="amount">{esc(usd(row.cost_usd))}</span></li>'
        for row in keys[:PALETTE]
    ]
    if len(keys) > PALETTE:
        items.append(f'<li><span class="sw other"></span>{len(keys) - PALETTE} other {esc(name)}s</li>')
    return f'<ul class="legend">{"".join(items)}</ul>'


def _labels(slots: list[str]) -> str:
    step = max(1, math.ceil(len(slots) / MAX_LABELS))
    return "".join(
        f'<span style="left:{100 * (n + 0.5) / len(slots):.4g}%">{esc(day[5:])}</span>'
        for n, day in enumerate(slots)
        if n % step == 0
    )


def _slots(first: str, last: str) -> list[str]:
    """Every UTC day from ``first`` to ``last``: a day without model calls keeps its place on the axis."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def _nice_ceiling(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at or above ``value`` (1 for an all-zero chart)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def _label(key: str | None) -> str:
    return "(untagged)" if key is None else key
