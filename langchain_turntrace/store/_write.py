"""Writes a batch of spans in one transaction, keeping each trace's first start and last end current."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

from langchain_turntrace.store._resumes import link_resumes
from langchain_turntrace.store._rows import INSERT_LINK, INSERT_SPAN, LinkRow, SpanRow

_UPSERT_TRACE: Final = (
    "INSERT INTO traces (trace_id, start_ns, end_ns) VALUES (?, ?, ?) ON CONFLICT (trace_id) DO UPDATE SET "
    "start_ns = min(start_ns, excluded.start_ns), end_ns = max(end_ns, excluded.end_ns)"
)


def write_rows(connection: sqlite3.Connection, rows: Sequence[SpanRow], links: Sequence[LinkRow] = ()) -> None:
    """All of ``rows`` (``row_from_stored``, ``row_from_readable``) and ``links`` (``link_rows``), with the
    resume links the store makes (``link_resumes``), or none of them. INSERT OR REPLACE: a span exported twice is
    stored once."""
    if not rows:
        return
    bounds: dict[str, tuple[int, int]] = {}
    for row in rows:
        trace_id, start_ns, end_ns = row[0], row[5], row[6]
        start, end = bounds.get(trace_id, (start_ns, end_ns))
        bounds[trace_id] = (min(start, start_ns), max(end, end_ns))
    # IMMEDIATE takes the write lock up front, so a busy store makes us wait (busy_timeout) instead of failing
    # half-way when a read transaction cannot be upgraded.
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany(INSERT_SPAN, rows)
        if links:
            connection.executemany(INSERT_LINK, links)
        link_resumes(connection, rows)  # a run resumed in another process than the one that paused
        connection.executemany(_UPSERT_TRACE, [(trace_id, *span) for trace_id, span in bounds.items()])
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
