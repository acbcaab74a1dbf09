"""Writes a batch of spans in one transaction, keeping each trace's first start and last end current."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

from langchain_turntrace.store._records import StoredSpan
from langchain_turntrace.store._rows import INSERT_SPAN, row_from_stored

_UPSERT_TRACE: Final = (
    "INSERT INTO traces (trace_id, start_ns, end_ns) VALUES (?, ?, ?) ON CONFLICT (trace_id) DO UPDATE SET "
    "start_ns = min(start_ns, excluded.start_ns), end_ns = max(end_ns, excluded.end_ns)"
)


def write_spans(connection: sqlite3.Connection, spans: Sequence[StoredSpan]) -> None:
    """All of ``spans`` or none of them. INSERT OR REPLACE: a span exported twice is stored once."""
    if not spans:
        return
    rows = [row_from_stored(span) for span in spans]
    bounds: dict[str, tuple[int, int]] = {}
    for span in spans:
        start, end = bounds.get(span.trace_id, (span.start_ns, span.end_ns))
        bounds[span.trace_id] = (min(start, span.start_ns), max(end, span.end_ns))
    # IMMEDIATE takes the write lock up front, so a busy store makes us wait (busy_timeout) instead of failing
    # half-way when a read transaction cannot be upgraded.
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany(INSERT_SPAN, rows)
        connection.executemany(_UPSERT_TRACE, [(trace_id, *span) for trace_id, span in bounds.items()])
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
