"""The report's figures, each an aggregate SQLite computes from the indexes (never every span read into Python):
model-call cost by day, model, feature, user and agent version; tools by latency and failures; the costliest runs
and turns; tokens per turn; the wiring smells."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, Final

from langchain_turntrace import attributes as attr
from langchain_turntrace.store import _alerts
from langchain_turntrace.store._earlier import model_calls_before, runs_before
from langchain_turntrace.store._figures import CallRef, CostlyTurn, DayCost, ReportFigures, ToolFigures, TurnTokens
from langchain_turntrace.store._results import CostRow, RunSummary, TurnlessToolCall
from langchain_turntrace.store._rollups import DIMENSIONS, EARLIEST_NS, IS_MODEL_CALL, MODEL_CALL_NANO_TOTALS, cost_by
from langchain_turntrace.store._rows import SPAN_COLUMNS, integer, number, stored_from_row, text
from langchain_turntrace.store._runs import has_agent_above, run_of, run_summary
from langchain_turntrace.store._schema import TOOL_AT_WORK, TOTAL_COST_USD, TOTAL_INPUT_TOKENS, TOTAL_OUTPUT_TOKENS

LIMIT: Final = 10
"""Rows of each ranked list: tools, runs, turns."""

EXAMPLES: Final = 3
"""Calls to open per tool: its slowest, or its latest failures."""

# Cells keep their cost in nano-dollars (see _rollups.COST_NANOS): a table's rows and the total then read as `turntrace
# cost` prints them, to the nano-dollar, however the cells are grouped.
_SUMS: Final = (
    "coalesce(sum(calls), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), "
    "coalesce(sum(cost_nanos), 0) / 1e9, coalesce(sum(unpriced), 0)"
)

# One pass over the window's model calls, grouped by (day, model, feature, agent version); the chart's days and
# two stackings, three of the tables and the total are groupings of those few cells. Users are grouped apart: there
# may be thousands of them.
_CELLS: Final = f"""
WITH cells (day, model, feature, agent_version, calls, input_tokens, output_tokens, cost_nanos, unpriced) AS (
    SELECT {DIMENSIONS["day"]}, model, feature, agent_version, {MODEL_CALL_NANO_TOTALS}
    FROM spans WHERE {IS_MODEL_CALL} AND start_ns >= ? GROUP BY 1, 2, 3, 4
)
SELECT 'day', day, NULL, {_SUMS} FROM cells GROUP BY day
UNION ALL SELECT 'day model', day, model, {_SUMS} FROM cells GROUP BY day, model
UNION ALL SELECT 'day feature', day, feature, {_SUMS} FROM cells GROUP BY day, feature
UNION ALL SELECT 'model', NULL, model, {_SUMS} FROM cells GROUP BY model
UNION ALL SELECT 'feature', NULL, feature, {_SUMS} FROM cells GROUP BY feature
UNION ALL SELECT 'agent_version', NULL, agent_version, {_SUMS} FROM cells GROUP BY agent_version
UNION ALL SELECT 'total', NULL, NULL, {_SUMS} FROM cells
"""


# A tool's calls of the window, read in the order of the spans_tool_latency index (tool, duration): counted per
# tool without sorting, and a percentile is the call at its rank. Human waits are left out, as `top tools` does.
_TOOL_LATENCY: Final = (
    f"FROM spans INDEXED BY spans_tool_latency WHERE operation = 'execute_tool' AND {TOOL_AT_WORK} "
    "AND tool {tool} AND start_ns >= ?"
)
_TOOL_COUNTS: Final = (
    "SELECT tool, count(*), sum(status = 'ERROR'), max(end_ns - start_ns) "
    f"{_TOOL_LATENCY.format(tool='IS NOT NULL')} GROUP BY tool"
)
_TOOL_AT_RANK: Final = f"SELECT end_ns - start_ns {_TOOL_LATENCY.format(tool='= ?')} ORDER BY 1 LIMIT 2 OFFSET ?"
_TOOL_SLOWEST: Final = f"SELECT rowid {_TOOL_LATENCY.format(tool='= ?')} ORDER BY end_ns - start_ns DESC LIMIT ?"
_LATEST_FAILURES: Final = (
    "SELECT rowid FROM spans WHERE operation = 'execute_tool' AND start_ns >= ? AND tool = ? AND status = 'ERROR' "
    f"AND {TOOL_AT_WORK} ORDER BY start_ns DESC LIMIT ?"
)

# A turn's tokens are its inclusive totals (its model calls, and those of agents it called), the figures its
# waterfall row shows; read per model in the order of the spans_turn_*_tokens indexes.
_TURN_MEASURES: Final = {"input": TOTAL_INPUT_TOKENS, "output": TOTAL_OUTPUT_TOKENS}


def _turn_tokens_sql(measure: str, select: str, model: str, tail: str) -> str:
    total = _TURN_MEASURES[measure]
    return (
        f"SELECT {select.format(total=total)} FROM spans INDEXED BY spans_turn_{measure}_tokens "
        f"WHERE operation IS NULL AND {total} IS NOT NULL {model} AND start_ns >= ? {tail}"
    )


# Agents of the window with an agent above them (nested agents are part of their run): from each agent's parent,
# up through the spans_span_kind index until an agent or the top.
_NESTED_AGENTS: Final = """
WITH RECURSIVE up (parent_span_id, operation, depth) AS (
    SELECT p.parent_span_id, p.operation, 0
    FROM spans AS a JOIN spans AS p INDEXED BY spans_span_kind ON p.span_id = a.parent_span_id
    WHERE a.operation = 'invoke_agent' AND a.start_ns >= ? AND a.parent_span_id IS NOT NULL
    UNION ALL
    SELECT p.parent_span_id, p.operation, up.depth + 1
    FROM up JOIN spans AS p INDEXED BY spans_span_kind ON p.span_id = up.parent_span_id
    WHERE up.operation IS NOT 'invoke_agent' AND up.depth < 10000
)
SELECT count(*) FROM up WHERE operation = 'invoke_agent'
"""

# Read from the top of the spans_total_cost index: the first rows are the costliest.
_COSTLIEST: Final = (
    f"SELECT {SPAN_COLUMNS} FROM spans INDEXED BY spans_total_cost WHERE operation {{operation}} "
    f"AND {TOTAL_COST_USD} IS NOT NULL AND start_ns >= ? ORDER BY {TOTAL_COST_USD} DESC, start_ns DESC"
)


def report(connection: sqlite3.Connection, second: sqlite3.Connection, since_ns: int | None) -> ReportFigures:
    """Every figure of the report over what started at or after ``since_ns``. The cost and token figures (about
    half the work) are read on ``second`` in a thread; SQLite releases the GIL while it steps, so the two halves
    run on two cores. Both read transactions start, and take their snapshot, before either reads a figure: a
    writer's commit can only fall between the two by the microseconds between their first reads."""
    start_ns = EARLIEST_NS if since_ns is None else since_ns
    with _snapshot(connection), _snapshot(second), ThreadPoolExecutor(1, "turntrace-report") as pool:
        costs = pool.submit(_costs, second, start_ns)
        others = _others(connection, start_ns)
        return _figures(since_ns, costs.result(), others, connection)


@contextmanager
def _snapshot(connection: sqlite3.Connection) -> Generator[None, None, None]:
    """One read snapshot for every query inside: a read transaction, started by a first read."""
    connection.execute("BEGIN")
    try:
        connection.execute(
            "SELECT 1 FROM spans LIMIT 1"
        ).fetchall()  # a deferred transaction snapshots on its first read
        yield
    finally:
        connection.execute("COMMIT")


@dataclass(frozen=True, slots=True)
class _Costs:
    cells: dict[str, list[Any]]
    by_user: list[CostRow]
    tokens_per_turn: list[TurnTokens]


@dataclass(frozen=True, slots=True)
class _Others:
    until_ns: int
    runs: int
    tools: list[ToolFigures]
    failing_tools: list[ToolFigures]
    costly_runs: list[RunSummary]
    costly_turns: list[CostlyTurn]
    runs_without_turns: list[RunSummary]
    tool_calls_without_turn: list[TurnlessToolCall]


def _costs(connection: sqlite3.Connection, start_ns: int) -> _Costs:
    cells: dict[str, list[Any]] = {}
    for grouping, *row in connection.execute(_CELLS, (start_ns,)):
        cells.setdefault(grouping, []).append(row)
    return _Costs(cells, cost_by(connection, "user", start_ns), _tokens_per_turn(connection, start_ns))


def _others(connection: sqlite3.Connection, start_ns: int) -> _Others:
    tools = _tools(connection, start_ns)
    return _Others(
        until_ns=time.time_ns(),
        runs=_run_count(connection, start_ns),
        tools=tools,
        failing_tools=_with_failures(connection, start_ns, tools),
        costly_runs=_costly_runs(connection, start_ns),
        costly_turns=_costly_turns(connection, start_ns),
        runs_without_turns=_alerts.turnless_runs(connection, start_ns),
        tool_calls_without_turn=_alerts.turnless_tool_calls(connection, start_ns),
    )


def _figures(since_ns: int | None, costs: _Costs, others: _Others, connection: sqlite3.Connection) -> ReportFigures:
    cells = costs.cells
    by_model = _cost_rows(cells.get("model", []))
    total = CostRow(None, *cells["total"][0][2:])
    empty = not others.runs and not total.calls and not others.tools
    return ReportFigures(
        since_ns=since_ns,
        until_ns=others.until_ns,
        runs=others.runs,
        total=total,
        cost_by_day=_day_costs(cells.get("day", [])),
        cost_by_day_model=_day_costs(cells.get("day model", [])),
        cost_by_day_feature=_day_costs(cells.get("day feature", [])),
        by_model=tuple(by_model),
        by_feature=tuple(_cost_rows(cells.get("feature", []))),
        by_user=tuple(costs.by_user),
        by_agent_version=tuple(_cost_rows(cells.get("agent_version", []))),
        slowest_tools=tuple(sorted(others.tools, key=lambda t: (-t.p95_ms, -t.calls, t.tool))[:LIMIT]),
        failing_tools=tuple(others.failing_tools),
        costly_runs=tuple(others.costly_runs),
        costly_turns=tuple(others.costly_turns),
        tokens_per_turn=tuple(costs.tokens_per_turn),
        smells=_alerts.smells_from(by_model, others.runs_without_turns, others.tool_calls_without_turn),
        runs_before=runs_before(connection, since_ns, None, None, None) if empty and since_ns is not None else None,
        model_calls_before=model_calls_before(connection, since_ns) if empty and since_ns is not None else None,
    )


def _cost_rows(rows: Iterable[list[Any]]) -> list[CostRow]:
    """Cells grouped by one key, in ``cost_by``'s order: costliest first, then most calls, untagged last."""
    found = [CostRow(key, *totals) for _, key, *totals in rows]
    found.sort(key=lambda r: (-r.cost_usd, -r.calls, r.key is None, r.key or ""))
    return found


def _day_costs(rows: Iterable[list[Any]]) -> tuple[DayCost, ...]:
    found = [DayCost(day, key, calls, cost) for day, key, calls, _, _, cost, _ in rows]
    found.sort(key=lambda c: (c.day, -c.cost_usd, c.key is None, c.key or ""))
    return tuple(found)


def _percentile(n: int, q: float, at_rank: Callable[[int], list[Any]]) -> float:
    """Linear interpolation between the closest ranks, as ``top tools`` computes it: p50 of [1, 2, 3, 4] is 2.5.
    ``at_rank(k)`` gives the values at ranks k and k + 1 (one at the last rank)."""
    position = (n - 1) * q
    low = math.floor(position)
    values = at_rank(low)
    return values[0] + (values[-1] - values[0]) * (position - low)


def _run_count(connection: sqlite3.Connection, start_ns: int) -> int:
    agents: int = connection.execute(
        "SELECT count(*) FROM spans WHERE operation = 'invoke_agent' AND start_ns >= ?", (start_ns,)
    ).fetchone()[0]
    nested: int = connection.execute(_NESTED_AGENTS, (start_ns,)).fetchone()[0]
    return agents - nested


def _tools(connection: sqlite3.Connection, start_ns: int) -> list[ToolFigures]:
    found: list[ToolFigures] = []
    for tool, n, errors, max_ns in connection.execute(_TOOL_COUNTS, (start_ns,)).fetchall():

        def at_rank(rank: int, tool: str = tool) -> list[Any]:
            return [row[0] for row in connection.execute(_TOOL_AT_RANK, (tool, start_ns, rank))]

        slowest = [row[0] for row in connection.execute(_TOOL_SLOWEST, (tool, start_ns, EXAMPLES))]
        found.append(
            ToolFigures(
                tool=tool,
                calls=n,
                errors=errors,
                p50_ms=_percentile(n, 0.5, at_rank) / 1e6,
                p95_ms=_percentile(n, 0.95, at_rank) / 1e6,
                max_ms=max_ns / 1e6,
                examples=tuple(_call_refs(connection, slowest)),
            )
        )
    return found


def _with_failures(connection: sqlite3.Connection, start_ns: int, tools: list[ToolFigures]) -> list[ToolFigures]:
    """The tools that failed, most failures first, each with its latest failed calls."""
    failing = sorted((t for t in tools if t.errors), key=lambda t: (-t.errors, -t.calls, t.tool))[:LIMIT]
    return [
        ToolFigures(
            t.tool,
            t.calls,
            t.errors,
            t.p50_ms,
            t.p95_ms,
            t.max_ms,
            tuple(
                _call_refs(
                    connection,
                    [row[0] for row in connection.execute(_LATEST_FAILURES, (start_ns, t.tool, EXAMPLES))],
                )
            ),
        )
        for t in failing
    ]


def _call_refs(connection: sqlite3.Connection, rowids: list[int]) -> list[CallRef]:
    refs: list[CallRef] = []
    for rowid in rowids:
        row = connection.execute(
            "SELECT span_id, trace_id, start_ns, end_ns, status FROM spans WHERE rowid = ?", (rowid,)
        ).fetchone()
        if row is not None:
            span_id, trace_id, start, end, status = row
            refs.append(
                CallRef(span_id, trace_id, run_of(connection, span_id), start, (end - start) / 1e6, status == "ERROR")
            )
    return refs


def _costly_runs(connection: sqlite3.Connection, start_ns: int) -> list[RunSummary]:
    found: list[RunSummary] = []
    # Walked lazily and closed early: nested agents are skipped until LIMIT runs are found.
    with closing(connection.execute(_COSTLIEST.format(operation="= 'invoke_agent'"), (start_ns,))) as cursor:
        for row in cursor:
            span = stored_from_row(row)
            if not has_agent_above(connection, span.parent_span_id):
                found.append(run_summary(span))
                if len(found) == LIMIT:
                    break
    return found


def _costly_turns(connection: sqlite3.Connection, start_ns: int) -> list[CostlyTurn]:
    found: list[CostlyTurn] = []
    with closing(connection.execute(_COSTLIEST.format(operation="IS NULL"), (start_ns,))) as cursor:
        for row in cursor:
            span = stored_from_row(row)
            if span.role != "turn":
                continue
            a = span.attributes
            run_id = run_of(connection, span.span_id)
            found.append(
                CostlyTurn(
                    span_id=span.span_id,
                    trace_id=span.trace_id,
                    run_id=run_id,
                    turn_index=integer(a, attr.TURN_INDEX),
                    model=text(a, attr.GEN_AI_REQUEST_MODEL),
                    agent=_agent_name(connection, run_id),
                    feature=text(a, attr.FEATURE),
                    start_ns=span.start_ns,
                    duration_ms=span.duration_ms,
                    input_tokens=integer(a, attr.TOTAL_INPUT_TOKENS) or 0,
                    output_tokens=integer(a, attr.TOTAL_OUTPUT_TOKENS) or 0,
                    cost_usd=number(a, attr.TOTAL_COST_USD) or 0.0,
                )
            )
            if len(found) == LIMIT:
                break
    return found


def _agent_name(connection: sqlite3.Connection, run_id: str) -> str | None:
    row = connection.execute(f"SELECT {SPAN_COLUMNS} FROM spans WHERE span_id = ?", (run_id,)).fetchone()
    return None if row is None else text(stored_from_row(row).attributes, attr.GEN_AI_AGENT_NAME)


def _tokens_per_turn(connection: sqlite3.Connection, start_ns: int) -> list[TurnTokens]:
    counts: dict[str, dict[str | None, tuple[int, int]]] = {}
    for measure in _TURN_MEASURES:
        sql = _turn_tokens_sql(measure, "model, count(*), max({total})", "", "GROUP BY model")
        counts[measure] = {model: (n, top) for model, n, top in connection.execute(sql, (start_ns,))}

    def percentile(measure: str, model: str | None, q: float) -> float:
        sql = _turn_tokens_sql(measure, "{total}", "AND model IS ?", "ORDER BY 1 LIMIT 2 OFFSET ?")
        n = counts[measure][model][0]
        return _percentile(n, q, lambda rank: [row[0] for row in connection.execute(sql, (model, start_ns, rank))])

    found = [
        TurnTokens(
            model=model,
            turns=n,
            input_p50=percentile("input", model, 0.5),
            input_p95=percentile("input", model, 0.95),
            input_max=top,
            output_p50=percentile("output", model, 0.5),
            output_p95=percentile("output", model, 0.95),
            output_max=counts["output"][model][1],
        )
        for model, (n, top) in counts["input"].items()
        if model in counts["output"]
    ]
    found.sort(key=lambda t: (-t.turns, t.model is None, t.model or ""))
    return found
