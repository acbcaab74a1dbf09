"""What the store holds before a window: how many agent runs, model calls or tool calls, and the latest one.

An empty window then says what exists outside it ("12 older runs, the latest 2026-11-20") instead of
suggesting the store is empty.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from langchain_turntrace.store._results import Earlier
from langchain_turntrace.store._rollups import IS_MODEL_CALL
from langchain_turntrace.store._runs import has_agent_above


def runs_before(
    connection: sqlite3.Connection,
    before_ns: int,
    session: str | None,
    user: str | None,
    feature: str | None,
) -> Earlier:
    """Agent runs (root ``invoke_agent`` spans) with the given tags that started before ``before_ns``."""
    where = ["operation = 'invoke_agent'", "start_ns < ?"]
    params: list[Any] = [before_ns]
    for column, value in (("session", session), ("user_id", user), ("feature", feature)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    count, latest = 0, None
    sql = f"SELECT start_ns, parent_span_id FROM spans WHERE {' AND '.join(where)} ORDER BY start_ns DESC"
    with closing(connection.execute(sql, params)) as cursor:
        for start_ns, parent_span_id in cursor:
            if not has_agent_above(connection, parent_span_id):  # a nested agent is part of its run
                count += 1
                latest = start_ns if latest is None else latest
    return Earlier(count, latest)


def model_calls_before(connection: sqlite3.Connection, before_ns: int) -> Earlier:
    """Model calls (the spans cost is counted on) that started before ``before_ns``."""
    return _before(connection, IS_MODEL_CALL, before_ns)


def tool_calls_before(connection: sqlite3.Connection, before_ns: int) -> Earlier:
    """Named tool calls (those ``top tools`` ranks) that started before ``before_ns``."""
    return _before(connection, "operation = 'execute_tool' AND tool IS NOT NULL", before_ns)


def _before(connection: sqlite3.Connection, condition: str, before_ns: int) -> Earlier:
    count, latest = connection.execute(
        f"SELECT count(*), max(start_ns) FROM spans WHERE {condition} AND start_ns < ?", (before_ns,)
    ).fetchone()
    return Earlier(count, latest)
