"""The store's tables, versioned by ``PRAGMA user_version`` and migrated forward in order, in one transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from langchain_turntrace import attributes as attr
from langchain_turntrace.store._errors import StoreError

APPLICATION_ID: Final = 0x54547263  # "TTrc": tells our files apart from other SQLite databases
"""``PRAGMA application_id`` of every turntrace store."""

_V1: Final = (
    """CREATE TABLE spans (
        trace_id TEXT NOT NULL,
        span_id TEXT PRIMARY KEY,
        parent_span_id TEXT,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        status TEXT NOT NULL,
        operation TEXT,
        model TEXT,
        tool TEXT,
        session TEXT,
        user_id TEXT,
        feature TEXT,
        agent_version TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cost_usd REAL,
        error_type TEXT,
        attributes TEXT NOT NULL
    )""",
    "CREATE INDEX spans_trace_id ON spans (trace_id)",
    "CREATE INDEX spans_parent_span_id ON spans (parent_span_id)",
    "CREATE INDEX spans_start_ns ON spans (start_ns)",
    # (operation, start_ns): every query picks one operation and most filter or order by time.
    "CREATE INDEX spans_operation ON spans (operation, start_ns)",
    "CREATE INDEX spans_model ON spans (model)",
    "CREATE INDEX spans_tool ON spans (tool)",
    "CREATE INDEX spans_session ON spans (session)",
    "CREATE INDEX spans_user_id ON spans (user_id)",
    "CREATE INDEX spans_feature ON spans (feature)",
    "CREATE INDEX spans_agent_version ON spans (agent_version)",
    # One row per trace, its first start and last end, so that retention removes whole traces.
    "CREATE TABLE traces (trace_id TEXT PRIMARY KEY, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL)",
    "CREATE INDEX traces_end_ns ON traces (end_ns)",
    f"PRAGMA application_id = {APPLICATION_ID}",
)

_V2: Final = (
    # Span links (a resumed run's agent span -> the run it resumes, a tool call -> the model call that asked for
    # it), kept with the linking span's trace so that retention removes them with it.
    """CREATE TABLE links (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        linked_trace_id TEXT NOT NULL,
        linked_span_id TEXT NOT NULL,
        attributes TEXT NOT NULL,
        PRIMARY KEY (span_id, linked_span_id)
    )""",
    "CREATE INDEX links_trace_id ON links (trace_id)",
    "CREATE INDEX links_linked_span_id ON links (linked_span_id)",
)

_V3: Final = (
    # A session's runs in time order: `runs --session`, and the store linking a run resumed in another process
    # to the run of its session that paused (store/_resumes.py).
    "CREATE INDEX spans_session_runs ON spans (session, operation, start_ns)",
    "DROP INDEX spans_session",  # a prefix of the new one
)


def _attribute(key: str) -> str:
    return f"json_extract(attributes, '$.\"{key}\"')"


# Inclusive totals of agent, turn and tool spans, as the V4 indexes hold them: a query served by one of those
# indexes must spell the expression the same way.
TOTAL_COST_USD: Final = _attribute(attr.TOTAL_COST_USD)
TOTAL_INPUT_TOKENS: Final = _attribute(attr.TOTAL_INPUT_TOKENS)
TOTAL_OUTPUT_TOKENS: Final = _attribute(attr.TOTAL_OUTPUT_TOKENS)
TOOL_AT_WORK: Final = f"{_attribute(attr.TOOL_KIND)} IS NOT '{attr.HUMAN_WAIT}'"
"""A tool call that is the tool working, not the user deciding: the calls a tool's latency is counted on."""

_V4: Final = (
    # Aggregates (cost by any dimension, the report) read a few columns of the spans of one operation in a time
    # window: this index holds them, so they never read the rows (~1.5 kB of attributes JSON each). Over 100,000
    # runs, cost by model went from 1.7 s to 0.2 s.
    "CREATE INDEX spans_operation_columns ON spans (operation, start_ns, end_ns, status, model, tool, feature, "
    "user_id, agent_version, session, input_tokens, output_tokens, cost_usd, parent_span_id, span_id)",
    "DROP INDEX spans_operation",  # a prefix of the new one
    # Whether a tool call's parent is a turn (no operation, a model), by the parent's id, and whether an agent span
    # has a turn right under it: the wiring smells ask it of every tool call and agent run in a window. Walking one
    # index in id order while looking the other up by the same ids reads each page once (3x faster than in time
    # order).
    "CREATE INDEX spans_span_kind ON spans (span_id, operation, model, parent_span_id, start_ns)",
    "CREATE INDEX spans_parent_kind ON spans (parent_span_id, operation, model, start_ns)",
    "DROP INDEX spans_parent_span_id",  # a prefix of the new one
    # Ranked lists read from the top or at a rank: the costliest runs and turns, a tool's latency percentiles (human
    # waits left out, as `top tools` does), a model's tokens-per-turn percentiles (a turn has no operation; its
    # totals are attributes).
    f"CREATE INDEX spans_total_cost ON spans (operation, {TOTAL_COST_USD}, start_ns) "
    f"WHERE {TOTAL_COST_USD} IS NOT NULL",
    "CREATE INDEX spans_tool_latency ON spans (tool, end_ns - start_ns, start_ns, status) "
    f"WHERE operation = 'execute_tool' AND {TOOL_AT_WORK}",
    f"CREATE INDEX spans_turn_input_tokens ON spans (model, {TOTAL_INPUT_TOKENS}, start_ns) "
    f"WHERE operation IS NULL AND {TOTAL_INPUT_TOKENS} IS NOT NULL",
    f"CREATE INDEX spans_turn_output_tokens ON spans (model, {TOTAL_OUTPUT_TOKENS}, start_ns) "
    f"WHERE operation IS NULL AND {TOTAL_OUTPUT_TOKENS} IS NOT NULL",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4)
"""``MIGRATIONS[n]`` takes a store from version n to n + 1. Append, never edit: files in the field have run them."""


def current_version() -> int:
    return len(MIGRATIONS)


def check(connection: sqlite3.Connection, path: Path) -> None:
    """Refuses files that are not ours or are newer than this code. Reads only: a foreign database is never
    modified (not even switched to WAL)."""
    _refuse_foreign_or_newer(path, *_identity(connection))


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Brings an older store up to the current version; a no-op for a current one."""
    if _identity(connection)[0] == current_version():
        return
    # Several processes may open a new store at once: the first to take the write lock migrates, the others
    # then find the new version inside their own transaction and do nothing.
    connection.execute("BEGIN IMMEDIATE")
    try:
        version, application_id, tables = _identity(connection)
        _refuse_foreign_or_newer(path, version, application_id, tables)
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {current_version()}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _identity(connection: sqlite3.Connection) -> tuple[int, int, int]:
    """Version, application id and table count, from one statement: one snapshot, even while another process
    is migrating the file (separate reads could see version 0 and the new tables)."""
    row = connection.execute(
        "SELECT (SELECT user_version FROM pragma_user_version), (SELECT application_id FROM pragma_application_id), "
        "(SELECT count(*) FROM sqlite_master)"
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _refuse_foreign_or_newer(path: Path, version: int, application_id: int, tables: int) -> None:
    # At version 0 the file is new and empty: anything already in it belongs to someone else. Past 0, only our
    # application_id makes the version ours (many applications set user_version).
    if (tables > 0) if version == 0 else (application_id != APPLICATION_ID):
        raise StoreError(not_a_store_message(path))
    if version > current_version():
        raise StoreError(
            f"{path} was written by a newer langchain-turntrace (store schema v{version}; this version reads up to "
            f"v{current_version()}); upgrade: pip install -U langchain-turntrace"
        )


def not_a_store_message(path: Path) -> str:
    return (
        f"{path} is not a turntrace store (or is corrupt): move it aside (or delete it) and a new store is "
        "created on the next traced run, or point TURNTRACE_STORE at another file"
    )
