"""The store's tables, versioned by ``PRAGMA user_version`` and migrated forward in order, in one transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

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

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
"""``MIGRATIONS[n]`` takes a store from version n to n + 1. Append, never edit: files in the field have run them."""


def current_version() -> int:
    return len(MIGRATIONS)


def check(connection: sqlite3.Connection, path: Path) -> None:
    """Refuses files that are not ours or are newer than this code. Reads only: a foreign database is never
    modified (not even switched to WAL)."""
    version, application_id = _identity(connection)
    _refuse_foreign_or_newer(connection, path, version, application_id)


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Brings an older store up to the current version; a no-op for a current one."""
    if _identity(connection)[0] == current_version():
        return
    # Several processes may open a new store at once: the first to take the write lock migrates, the others
    # then find the new version inside their own transaction and do nothing.
    connection.execute("BEGIN IMMEDIATE")
    try:
        version, application_id = _identity(connection)
        _refuse_foreign_or_newer(connection, path, version, application_id)
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {current_version()}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _identity(connection: sqlite3.Connection) -> tuple[int, int]:
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    application_id: int = connection.execute("PRAGMA application_id").fetchone()[0]
    return version, application_id


def _refuse_foreign_or_newer(connection: sqlite3.Connection, path: Path, version: int, application_id: int) -> None:
    if version == 0:  # a new, empty file; anything already in it belongs to someone else
        foreign = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    else:  # many applications set user_version: only our application_id makes the version ours
        foreign = application_id != APPLICATION_ID
    if foreign:
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
