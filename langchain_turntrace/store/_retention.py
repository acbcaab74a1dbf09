"""Retention: ``TURNTRACE_RETENTION_DAYS`` resolved once, and pruning the traces that ended before it."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from typing import Final

from langchain_turntrace.env import TURNTRACE_RETENTION_DAYS
from langchain_turntrace.store._errors import StoreError

"""Days a trace is kept after it ended (whole days, at least 1). Default: ``DEFAULT_RETENTION_DAYS``."""

DEFAULT_RETENTION_DAYS: Final = 30
"""Long enough for the incident that is noticed weeks later (a bill, a complaint) to still have its traces."""

NS_PER_DAY: Final = 86_400 * 10**9
_PRUNE_CHUNK: Final = 500  # traces per transaction: other writers never wait long behind a big prune

_log = logging.getLogger("langchain_turntrace")
_warned: set[int] = set()
_warned_lock = threading.Lock()


def resolve_retention_days(days: int | None, environ: Mapping[str, str] | None = None) -> int:
    """The argument, else ``TURNTRACE_RETENTION_DAYS``, else 30. A bad value raises StoreError now, at
    construction, rather than pruning the wrong traces later."""
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:  # pyright: ignore[reportUnnecessaryIsInstance]  # callers may not type-check
            raise StoreError(
                f"retention_days={days!r} is not a whole number of days >= 1; pass e.g. {DEFAULT_RETENTION_DAYS} "
                "or None for the default"
            )
        resolved = days
    else:
        environ = os.environ if environ is None else environ
        raw = environ.get(TURNTRACE_RETENTION_DAYS, "")
        if not raw.strip():
            return DEFAULT_RETENTION_DAYS
        try:
            resolved = int(raw.strip())
        except ValueError:
            resolved = 0
        if resolved < 1:
            raise StoreError(
                f"{TURNTRACE_RETENTION_DAYS}={raw!r} is not a whole number of days >= 1; set it to e.g. "
                f"{DEFAULT_RETENTION_DAYS} (the default) or unset it"
            )
    if resolved < DEFAULT_RETENTION_DAYS:
        _warn_short(resolved)
    return resolved


def _warn_short(days: int) -> None:
    with _warned_lock:
        if days in _warned:
            return
        _warned.add(days)
    _log.warning(
        "langchain-turntrace: traces are kept only %d day(s) (%s); incidents are often found after more than a "
        "week, when their traces would already be gone. %d days or more is recommended.",
        days,
        TURNTRACE_RETENTION_DAYS,
        DEFAULT_RETENTION_DAYS,
    )


def prune(connection: sqlite3.Connection, retention_days: int, now_ns: int | None = None) -> int:
    """Deletes every trace that ended more than ``retention_days`` before ``now_ns``, all of its spans with it,
    and returns how many traces went. A trace still being written (a recent end) is never cut in half."""
    cutoff = (time.time_ns() if now_ns is None else now_ns) - retention_days * NS_PER_DAY
    # The common case, nothing to prune, costs one indexed read and takes no write lock.
    if connection.execute("SELECT 1 FROM traces WHERE end_ns < ? LIMIT 1", (cutoff,)).fetchone() is None:
        return 0
    removed = 0
    while True:
        connection.execute("BEGIN IMMEDIATE")
        try:
            chunk = [
                (trace_id,)
                for (trace_id,) in connection.execute(
                    "SELECT trace_id FROM traces WHERE end_ns < ? LIMIT ?", (cutoff, _PRUNE_CHUNK)
                )
            ]
            connection.executemany("DELETE FROM spans WHERE trace_id = ?", chunk)
            connection.executemany("DELETE FROM links WHERE trace_id = ?", chunk)
            connection.executemany("DELETE FROM traces WHERE trace_id = ?", chunk)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        removed += len(chunk)
        if len(chunk) < _PRUNE_CHUNK:
            return removed
