"""Agent runs: which ``invoke_agent`` spans are runs (no agent above them), listing them, and one run's spans."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any, Final

from langchain_turntrace import attributes as attr
from langchain_turntrace.store._errors import StoreError
from langchain_turntrace.store._records import StoredLink, StoredSpan
from langchain_turntrace.store._results import RunStatus, RunSummary
from langchain_turntrace.store._rows import SPAN_COLUMNS, integer, number, stored_from_row, stored_link, text

_HEX: Final = frozenset("0123456789abcdef")

# A span and its ancestors present in the store, nearest first, by primary-key lookups. The depth bound stops a
# cycle (two spans naming each other as parent, possible only with colliding ids) from looping forever.
_ANCESTRY: Final = """
WITH RECURSIVE up (span_id, parent_span_id, operation, depth) AS (
    SELECT span_id, parent_span_id, operation, 0 FROM spans WHERE span_id = ?
    UNION ALL
    SELECT s.span_id, s.parent_span_id, s.operation, up.depth + 1
    FROM spans AS s JOIN up ON s.span_id = up.parent_span_id
    WHERE up.depth < 10000
)
"""


def runs(
    connection: sqlite3.Connection,
    since_ns: int | None,
    session: str | None,
    user: str | None,
    feature: str | None,
    limit: int,
) -> list[RunSummary]:
    """Runs started at or after ``since_ns`` with the given tags, newest first."""
    if limit < 1:
        return []
    where = ["operation = 'invoke_agent'"]
    params: list[Any] = []
    filters: tuple[tuple[str, object], ...] = (
        ("start_ns >= ?", since_ns),
        ("session = ?", session),
        ("user_id = ?", user),
        ("feature = ?", feature),
    )
    for condition, value in filters:
        if value is not None:
            where.append(condition)
            params.append(value)
    sql = f"SELECT {SPAN_COLUMNS} FROM spans WHERE {' AND '.join(where)} ORDER BY start_ns DESC, span_id"
    found: list[RunSummary] = []
    # Walked lazily and closed early: a limit of 50 reads about 50 rows, however large the store is.
    with closing(connection.execute(sql, params)) as cursor:
        for row in cursor:
            span = stored_from_row(row)
            if not has_agent_above(connection, span.parent_span_id):
                found.append(run_summary(span))
                if len(found) == limit:
                    break
    return found


def run_spans(connection: sqlite3.Connection, run_id_prefix: str) -> list[StoredSpan]:
    """Every span of the trace of the one run whose id starts with ``run_id_prefix`` (or of that trace id)."""
    wanted = run_id_prefix.strip().lower()
    traces: list[str] = []
    if wanted and set(wanted) <= _HEX:
        # A range rather than LIKE, so the primary-key index serves it: "g" sorts after every hex digit. The unary
        # + keeps SQLite from reading every agent span through the operation index instead.
        candidates = connection.execute(
            "SELECT trace_id, parent_span_id FROM spans "
            "WHERE span_id >= ? AND span_id < ? AND +operation = 'invoke_agent'",
            (wanted, wanted + "g"),
        ).fetchall()
        traces = [trace_id for trace_id, parent in candidates if not has_agent_above(connection, parent)]
    if len(traces) > 1:
        raise StoreError(f"{run_id_prefix!r} matches {len(traces)} runs; give more characters")
    if traces:
        trace_id = traces[0]
    elif len(wanted) == 32 and connection.execute("SELECT 1 FROM traces WHERE trace_id = ?", (wanted,)).fetchone():
        trace_id = wanted
    else:
        raise StoreError(f"no run matches {run_id_prefix!r}; list runs with `turntrace runs`")
    rows = connection.execute(
        f"SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id", (trace_id,)
    ).fetchall()
    links: dict[str, list[StoredLink]] = {}
    for span_id, *link in connection.execute(
        "SELECT span_id, linked_trace_id, linked_span_id, attributes FROM links WHERE trace_id = ?", (trace_id,)
    ):
        links.setdefault(span_id, []).append(stored_link(link))
    return [stored_from_row(row, tuple(links.get(row[1], ()))) for row in rows]


def linked_from(connection: sqlite3.Connection, span_id: str) -> list[tuple[str, StoredLink]]:
    """The links other spans hold to ``span_id``: (the linking span's id, the link as it holds it)."""
    rows = connection.execute(
        "SELECT span_id, linked_trace_id, linked_span_id, attributes FROM links WHERE linked_span_id = ? "
        "ORDER BY span_id",
        (span_id,),
    ).fetchall()
    return [(row[0], stored_link(row[1:])) for row in rows]


def run_of(connection: sqlite3.Connection, span_id: str) -> str:
    """The run a span belongs to: its topmost ``invoke_agent`` ancestor (or itself); "" outside any run."""
    row = connection.execute(
        _ANCESTRY + "SELECT span_id FROM up WHERE operation = 'invoke_agent' ORDER BY depth DESC LIMIT 1", (span_id,)
    ).fetchone()
    return row[0] if row is not None else ""


def has_agent_above(connection: sqlite3.Connection, parent_span_id: str | None) -> bool:
    """Whether an agent sits above a span with this parent: then that span is a nested agent, not a run."""
    if parent_span_id is None:
        return False
    row = connection.execute(
        _ANCESTRY + "SELECT 1 FROM up WHERE operation = 'invoke_agent' LIMIT 1", (parent_span_id,)
    ).fetchone()
    return row is not None


def run_summary(root: StoredSpan) -> RunSummary:
    """A run as listed: its root agent span's tags and roll-ups."""
    a = root.attributes
    return RunSummary(
        run_id=root.span_id,
        trace_id=root.trace_id,
        start_ns=root.start_ns,
        end_ns=root.end_ns,
        duration_ms=root.duration_ms,
        agent=text(a, attr.GEN_AI_AGENT_NAME),
        session=text(a, attr.SESSION_ID),
        user_id=text(a, attr.USER_ID),
        feature=text(a, attr.FEATURE),
        agent_version=text(a, attr.AGENT_VERSION),
        turns=integer(a, attr.TURN_COUNT) or 0,
        tool_calls=integer(a, attr.TOOL_CALL_COUNT) or 0,
        input_tokens=integer(a, attr.TOTAL_INPUT_TOKENS) or 0,
        output_tokens=integer(a, attr.TOTAL_OUTPUT_TOKENS) or 0,
        cost_usd=number(a, attr.TOTAL_COST_USD),
        status=_status(root),
        resumed=a.get(attr.RESUMED) is True,
    )


def _status(root: StoredSpan) -> RunStatus:
    if root.status == "ERROR":
        return "error"
    if root.attributes.get(attr.INTERRUPTED) is True:
        return "interrupted"
    if root.attributes.get(attr.INCOMPLETE) is True:
        return "incomplete"
    return "ok"
