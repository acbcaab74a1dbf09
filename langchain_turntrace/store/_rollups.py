"""Roll-ups over many runs: cost by a dimension (model calls only) and tool latency and errors."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Callable
from typing import Final

from langchain_turntrace.store._results import CostRow, ToolStat
from langchain_turntrace.store._runs import run_of

EARLIEST_NS: Final = -(2**63)
"""A ``start_ns >= ?`` bound that keeps every span: no --since."""

DIMENSIONS: Final = {
    "model": "model",
    "feature": "feature",
    "user": "user_id",
    "day": "date(start_ns / 1000000000, 'unixepoch')",  # integer division: whole seconds, UTC
    "agent_version": "agent_version",
    "session": "session",
}
"""Dimension -> SQL expression over ``spans``. Fixed strings only: the user's choice never reaches the SQL text."""

IS_MODEL_CALL: Final = "operation IN ('chat', 'text_completion')"
"""The spans usage and cost are counted on (DESIGN.md §3: leaf facts); agent, turn and tool totals are not."""

COST_NANOS: Final = "coalesce(sum(CAST(round(cost_usd * 1e9) AS INTEGER)), 0)"
"""A group's cost in whole nano-dollars, summed exactly. A sum of floats depends on how its terms are grouped: the
same calls' total, rounded to four places, could read $0.0089 under `cost --by model` and $0.0090 under `--by
session`. Exact integers add up to one figure however they are grouped (a call's cost is kept to the nano-dollar,
far below the $0.0001 shown)."""

_COUNTS: Final = "count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0)"
_UNPRICED: Final = "coalesce(sum(cost_usd IS NULL AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL)), 0)"

MODEL_CALL_NANO_TOTALS: Final = f"{_COUNTS}, {COST_NANOS}, {_UNPRICED}"
"""Calls, input tokens, output tokens, cost in nano-dollars and unpriced calls (tokens but no cost) of a group."""

MODEL_CALL_TOTALS: Final = f"{_COUNTS}, {COST_NANOS} / 1e9, {_UNPRICED}"
"""``MODEL_CALL_NANO_TOTALS`` with the cost in USD."""

_TOOL_ORDERS: Final[dict[str, Callable[[ToolStat], tuple[float, float, str]]]] = {
    "latency": lambda s: (-s.p95_ms, -s.calls, s.tool),
    "errors": lambda s: (-s.errors, -s.calls, s.tool),
    "calls": lambda s: (-s.calls, -s.p95_ms, s.tool),
}


def cost_by(connection: sqlite3.Connection, dimension: str, since_ns: int | None) -> list[CostRow]:
    """Model calls grouped by ``dimension``, most expensive first. Only chat / text_completion spans carry usage
    (agent, turn and tool spans hold inclusive totals), so nothing is counted twice."""
    key = DIMENSIONS.get(dimension)
    if key is None:
        raise ValueError(f"cannot break cost down by {dimension!r}; use one of: {', '.join(DIMENSIONS)}")
    rows = connection.execute(
        f"SELECT {key} AS key, {MODEL_CALL_TOTALS} FROM spans WHERE {IS_MODEL_CALL} AND start_ns >= ? "
        "GROUP BY key ORDER BY 5 DESC, 2 DESC, key IS NULL, key",
        (EARLIEST_NS if since_ns is None else since_ns,),
    ).fetchall()
    return [
        CostRow(key, calls, tokens_in, tokens_out, cost, unpriced)
        for key, calls, tokens_in, tokens_out, cost, unpriced in rows
    ]


def cost_total(connection: sqlite3.Connection, since_ns: int | None) -> CostRow:
    """Every model call since ``since_ns`` as one row (key None): the total of ``cost_by``'s rows under any
    dimension, to the nano-dollar."""
    row = connection.execute(
        f"SELECT {MODEL_CALL_TOTALS} FROM spans WHERE {IS_MODEL_CALL} AND start_ns >= ?",
        (EARLIEST_NS if since_ns is None else since_ns,),
    ).fetchone()
    return CostRow(None, *row)


def top_tools(
    connection: sqlite3.Connection, by: str, since_ns: int | None, limit: int, *, human_waits: bool = False
) -> list[ToolStat]:
    """Tools ranked ``by`` latency (p95), errors or calls, each with the run of its slowest call. A call that is
    the user deciding (``turntrace.tool.kind=human_wait``) is no tool's latency: left out unless ``human_waits``."""
    order = _TOOL_ORDERS.get(by)
    if order is None:
        raise ValueError(f"cannot rank tools by {by!r}; use one of: {', '.join(_TOOL_ORDERS)}")
    durations: dict[str, list[int]] = {}
    errors: dict[str, int] = {}
    slowest: dict[str, tuple[int, str, str]] = {}
    for tool, duration, failed, span_id, trace_id in connection.execute(
        "SELECT tool, end_ns - start_ns, status = 'ERROR', span_id, trace_id FROM spans "
        "WHERE operation = 'execute_tool' AND tool IS NOT NULL AND start_ns >= ? "
        "AND (? OR json_extract(attributes, '$.\"turntrace.tool.kind\"') IS NOT 'human_wait')",
        (EARLIEST_NS if since_ns is None else since_ns, human_waits),
    ):
        durations.setdefault(tool, []).append(duration)
        errors[tool] = errors.get(tool, 0) + failed
        if tool not in slowest or duration > slowest[tool][0]:
            slowest[tool] = (duration, span_id, trace_id)
    stats: list[ToolStat] = []
    for tool, values in durations.items():
        values.sort()
        stats.append(
            ToolStat(
                tool=tool,
                calls=len(values),
                errors=errors[tool],
                p50_ms=_percentile(values, 0.50) / 1e6,
                p95_ms=_percentile(values, 0.95) / 1e6,
                max_ms=values[-1] / 1e6,
                slowest_run_id="",
                slowest_trace_id=slowest[tool][2],
            )
        )
    stats.sort(key=order)
    # The ancestry walk is per tool shown, not per tool seen.
    return [
        dataclasses.replace(s, slowest_run_id=run_of(connection, slowest[s.tool][1])) for s in stats[: max(limit, 0)]
    ]


def _percentile(ordered: list[int], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default): p50 of [1, 2, 3, 4] is 2.5."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
