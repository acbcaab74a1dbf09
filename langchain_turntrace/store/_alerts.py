"""Alert queries: model-call cost per (feature | user | model, day | run | session), and wiring smells."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence
from typing import Any, Final

from langchain_turntrace.store._results import (
    CostGroup,
    CostRow,
    RunSummary,
    TurnlessToolCall,
    UnpricedModel,
    WiringSmells,
)
from langchain_turntrace.store._retention import NS_PER_DAY
from langchain_turntrace.store._rollups import DIMENSIONS, EARLIEST_NS, IS_MODEL_CALL, MODEL_CALL_TOTALS, cost_by
from langchain_turntrace.store._rows import SPAN_COLUMNS, stored_from_row
from langchain_turntrace.store._runs import has_agent_above, run_of, run_summary, runs

ALERT_PERS: Final = ("day", "run", "session")
"""What one budget covers: a UTC day, an agent run, or a session."""

ALERT_BYS: Final = ("feature", "user", "model")
"""Whose spend a budget is for."""

# A turn as the index sees it: our only spans without an operation that name a model. A turn without a model (its
# model call never started) is not one here; the few spans that fail this test are then checked in full.
_TURN: Final = "{span}.operation IS NULL AND {span}.model IS NOT NULL"

# Every span under each seed span (itself included), tagged with the seed's id. The depth bound stops a cycle
# (possible only with colliding ids) from looping forever, as in _runs' ancestry walk.
_UNDER_AGENTS: Final = """
WITH RECURSIVE down (run_id, span_id, depth) AS (
    SELECT span_id, span_id, 0 FROM spans WHERE {seed}
    UNION ALL
    SELECT down.run_id, s.span_id, down.depth + 1
    FROM spans AS s JOIN down ON s.parent_span_id = down.span_id
    WHERE down.depth < 10000
)
"""


def _columns_of(table: str) -> str:
    """``SPAN_COLUMNS`` of one table of a join."""
    return ", ".join(f"{table}.{column}" for column in SPAN_COLUMNS.split(", "))


def window_start_ns(per: str, since_ns: int) -> int:
    """Where the checked window starts: ``since_ns``, or for ``day`` the UTC midnight before it (whole days)."""
    return max(since_ns - since_ns % NS_PER_DAY, EARLIEST_NS) if per == "day" else since_ns


def cost_groups(connection: sqlite3.Connection, per: str, by: str, since_ns: int) -> list[CostGroup]:
    """Model-call cost per (``by`` value, ``per`` value), costliest first; each group is totalled whole.

    ``day``: the UTC days from the one ``since_ns`` falls in. ``run``: agent runs (root ``invoke_agent`` spans)
    that started at or after ``since_ns``, nested agents included. ``session``: sessions with a model call at
    or after ``since_ns``, over all their model calls in the store. Only model-call spans carry cost, so
    nothing is counted twice.
    """
    if by not in ALERT_BYS:
        raise ValueError(f"cannot alert by {by!r}; use one of: {', '.join(ALERT_BYS)}")
    key = DIMENSIONS[by]
    if per == "day":
        rows = connection.execute(
            f"SELECT {key}, {DIMENSIONS['day']}, {MODEL_CALL_TOTALS} FROM spans "
            f"WHERE {IS_MODEL_CALL} AND start_ns >= ? GROUP BY 1, 2",
            (window_start_ns(per, since_ns),),
        ).fetchall()
    elif per == "session":
        rows = connection.execute(
            f"SELECT {key}, session, {MODEL_CALL_TOTALS} FROM spans WHERE {IS_MODEL_CALL} AND session IN "
            f"(SELECT session FROM spans WHERE {IS_MODEL_CALL} AND start_ns >= ?) GROUP BY 1, 2",
            (since_ns,),
        ).fetchall()
    elif per == "run":
        rows = _per_run(connection, key, since_ns)
    else:
        raise ValueError(f"cannot alert per {per!r}; use one of: {', '.join(ALERT_PERS)}")
    groups = [CostGroup(*row) for row in rows]
    groups.sort(key=lambda g: (-g.cost_usd, -g.calls, g.per_value, g.by_value or ""))
    return groups


def _per_run(connection: sqlite3.Connection, key: str, since_ns: int) -> list[Any]:
    # Seeded with every agent span in the window, nested ones too: a nested agent's calls are then grouped under
    # it as well as under its run, and only the runs' groups are kept.
    roots = {run.run_id for run in runs(connection, since_ns, None, None, None, limit=sys.maxsize)}
    rows = connection.execute(
        _UNDER_AGENTS.format(seed="operation = 'invoke_agent' AND start_ns >= ?")
        + f"SELECT {key}, down.run_id, {MODEL_CALL_TOTALS} FROM down JOIN spans ON spans.span_id = down.span_id "
        f"WHERE {IS_MODEL_CALL} GROUP BY 1, 2",
        (since_ns,),
    ).fetchall()
    return [row for row in rows if row[1] in roots]


def wiring_smells(connection: sqlite3.Connection, since_ns: int) -> WiringSmells:
    """Unpriced models, runs with no turn span, and tool calls without a turn, from ``since_ns`` on."""
    return smells_from(
        cost_by(connection, "model", since_ns),
        turnless_runs(connection, since_ns),
        turnless_tool_calls(connection, since_ns),
    )


def smells_from(
    by_model: Sequence[CostRow], runs: Sequence[RunSummary], tool_calls: Sequence[TurnlessToolCall]
) -> WiringSmells:
    """The smells of a window whose cost by model (``cost_by`` rows, in order), turnless runs and turnless tool
    calls the caller has read."""
    return WiringSmells(
        unpriced_models=tuple(UnpricedModel(row.key, row.unpriced_calls) for row in by_model if row.unpriced_calls),
        runs_without_turns=tuple(runs),
        tool_calls_without_turn=tuple(tool_calls),
    )


def turnless_runs(connection: sqlite3.Connection, since_ns: int) -> list[RunSummary]:
    """Runs of the window, newest first, with no turn span anywhere under them."""
    found: list[RunSummary] = []
    # The indexes answer for every agent span, in id order, whether a turn sits right under it; only those without
    # one (a handful in a well-wired store) are read, then checked whole: a run whose only model loop is a
    # subgraph's has its turns under a nested agent, not under itself.
    for row in connection.execute(
        f"SELECT {SPAN_COLUMNS} FROM spans AS a INDEXED BY spans_span_kind WHERE operation = 'invoke_agent' "
        "AND start_ns >= ? AND NOT EXISTS (SELECT 1 FROM spans AS c INDEXED BY spans_parent_kind "
        f"WHERE c.parent_span_id = a.span_id AND {_TURN.format(span='c')}) ORDER BY start_ns DESC, span_id",
        (since_ns,),
    ):
        span = stored_from_row(row)
        if has_agent_above(connection, span.parent_span_id):
            continue
        run = run_summary(span)
        if run.turns == 0 and not _has_turn_under(connection, run.run_id):
            found.append(run)
    return found


def _has_turn_under(connection: sqlite3.Connection, run_id: str) -> bool:
    cursor = connection.execute(
        _UNDER_AGENTS.format(seed="span_id = ?")
        + f"SELECT {_columns_of('spans')} FROM down JOIN spans ON spans.span_id = down.span_id",
        (run_id,),
    )
    return any(stored_from_row(row).role == "turn" for row in cursor)


def turnless_tool_calls(connection: sqlite3.Connection, since_ns: int) -> list[TurnlessToolCall]:
    found: list[TurnlessToolCall] = []
    # The indexes answer for every tool call, in the order of its parent's id, whether that parent is a turn; only
    # the others are read and checked.
    for span_id, trace_id, tool, start_ns, parent_span_id, *parent in connection.execute(
        f"SELECT t.span_id, t.trace_id, t.tool, t.start_ns, t.parent_span_id, {_columns_of('p')} "
        "FROM spans AS t INDEXED BY spans_parent_kind LEFT JOIN spans AS p ON p.span_id = t.parent_span_id "
        "WHERE t.operation = 'execute_tool' AND t.start_ns >= ? AND NOT EXISTS (SELECT 1 FROM spans AS q "
        f"INDEXED BY spans_span_kind WHERE q.span_id = t.parent_span_id AND {_TURN.format(span='q')}) "
        "ORDER BY t.start_ns, t.span_id",
        (since_ns,),
    ):
        if parent_span_id is not None:
            if parent[1] is None:  # the parent is not stored (yet): a turn still running, or a remote parent
                continue
            if stored_from_row(parent).role == "turn":
                continue
        found.append(TurnlessToolCall(span_id, trace_id, tool, start_ns, run_of(connection, span_id)))
    return found
