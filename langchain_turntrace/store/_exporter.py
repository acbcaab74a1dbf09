"""SqliteSpanExporter: OpenTelemetry spans into the local store, meant to sit behind a BatchSpanProcessor."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from time import monotonic
from typing import Final

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace._fork import renew_in_child
from langchain_turntrace.store._connection import BUSY_TIMEOUT_S, connect, sqlite_errors
from langchain_turntrace.store._errors import StoreError
from langchain_turntrace.store._paths import TURNTRACE_STORE, create_private_file, default_store_path
from langchain_turntrace.store._retention import resolve_retention_days
from langchain_turntrace.store._store import SpanStore

PRUNE_INTERVAL_S: Final = 3600.0
"""Retention is enforced on the first export and then at most once an hour, off the agent's thread."""

_log = logging.getLogger("langchain_turntrace")
_EXPECTED: Final = (StoreError, sqlite3.Error, OSError)  # logged without a traceback: the message says it all


class SqliteSpanExporter(SpanExporter):
    """Writes each batch in one transaction to the store at ``path`` (default: ``default_store_path()``).

    >>> provider.add_span_processor(BatchSpanProcessor(SqliteSpanExporter()))  # doctest: +SKIP

    Never raises from ``export``: a store that cannot be written is logged once and the batch is reported as
    FAILURE (``error`` says why). Configuration fails here instead, at construction (StoreError):
    ``retention_days`` / ``TURNTRACE_RETENTION_DAYS`` are checked and the file is created (owner-only), then
    opened on the first export. Several processes may write the same file at once.

    ``prune=False``: this exporter never deletes; the store's other writers and ``turntrace prune`` apply
    retention. An import writes runs as old as their transcripts: pruning by its own retention would delete
    what an earlier import kept with a longer one. ``log_failures=False``: a caller that reads ``error`` itself
    (an import, which stops and says what to do) gets no log line as well.
    """

    def __init__(
        self,
        path: Path | None = None,
        retention_days: int | None = None,
        *,
        prune: bool = True,
        log_failures: bool = True,
    ) -> None:
        self._path = default_store_path() if path is None else path.expanduser()
        self._retention_days = resolve_retention_days(retention_days)
        self._prune = prune
        self._log_failures = log_failures
        self._error: StoreError | None = None
        try:  # now, at configuration: an unwritable location must fail here, not drop spans at the first export
            create_private_file(self._path)
        except OSError as error:
            raise StoreError(
                f"cannot create the store {self._path} ({error.strerror or error}); point {TURNTRACE_STORE} at a "
                "writable location"
            ) from None
        self._lock = threading.Lock()  # the batch worker exports; shutdown comes from another thread
        self._store: SpanStore | None = None
        self._inherited: list[SpanStore] = []  # see _renew_after_fork
        self._next_prune = float("-inf")
        self._shut_down = False
        self._logged: set[str] = set()  # "write", "prune": each kind of failure is logged once
        renew_in_child(self._renew_after_fork)

    def _renew_after_fork(self) -> None:
        """In a forked child (multiprocessing, gunicorn ``--preload``): the parent's export may have held the lock
        at the fork (waiting out another process's write, say) in a thread that did not come along. The store it
        wrote to is the parent's: SQLite forbids using its connection here, closing included, and that thread may
        hold the store's lock too; so it is kept, never closed, and the child opens its own."""
        self._lock = threading.Lock()
        if self._store is not None:
            self._inherited.append(self._store)
            self._store = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def retention_days(self) -> int:
        return self._retention_days

    @property
    def error(self) -> StoreError | None:
        """Why the last export failed; None after one that succeeded."""
        return self._error

    def check(self) -> None:
        """Opens the store now and takes its write lock once, waiting out another process's write as an export
        would (up to ``BUSY_TIMEOUT_S``): a store that cannot be written raises StoreError here, before any work
        whose spans it would refuse."""
        with self._lock:
            try:
                self._open_store()
                with contextlib.closing(connect(self._path, create=False)) as probe, sqlite_errors(self._path):
                    probe.execute("BEGIN IMMEDIATE")
                    probe.execute("ROLLBACK")
            except StoreError as error:
                self._drop_store()
                raise _store_error(self._path, error) from None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            if self._shut_down:
                self._error = StoreError(f"the exporter of {self._path} is shut down; make a new one to write more")
                return SpanExportResult.FAILURE
            try:
                store = self._open_store()
                store.write(spans)
            except Exception as error:  # noqa: BLE001  # tracing must never break the agent: logged once instead
                self._drop_store()
                self._error = _store_error(self._path, error)
                if self._log_failures:
                    self._log_once(
                        "write",
                        f"could not write {len(spans)} span(s) to {self._path}: {error}. Spans are dropped",
                        error,
                    )
                return SpanExportResult.FAILURE
            self._error = None
            if self._prune:
                self._prune_when_due(store)
            return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # every export is committed before it returns; nothing is buffered here

    def shutdown(self) -> None:
        with self._lock:
            self._shut_down = True
            self._drop_store()

    def _open_store(self) -> SpanStore:
        if self._store is None:
            self._store = SpanStore.open(self._path, create=True, retention_days=self._retention_days)
        return self._store

    def _drop_store(self) -> None:
        """Closes the connection, so the next export starts from a fresh open (the file may have been fixed)."""
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too; it is gone anyway
                store.close()

    def _prune_when_due(self, store: SpanStore) -> None:
        now = monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_INTERVAL_S
        try:
            store.prune()
        except Exception as error:  # noqa: BLE001  # the batch is stored; a failed prune is retried in an hour
            self._log_once(
                "prune", f"could not prune old traces from {self._path}: {error}. Retrying in an hour", error
            )

    def _log_once(self, kind: str, message: str, error: Exception) -> None:
        if kind in self._logged:
            return
        self._logged.add(kind)
        _log.error("langchain-turntrace: %s (logged once).", message, exc_info=not isinstance(error, _EXPECTED))


def _locked_message(path: Path) -> str:
    return (
        f"the store {path} stayed locked by another process for {BUSY_TIMEOUT_S:.0f} s (a long write: another "
        "import, `turntrace prune`, or a program holding a transaction open); try again when it has finished, or "
        "point --store / TURNTRACE_STORE at another file"
    )


def _store_error(path: Path, error: Exception) -> StoreError:
    if isinstance(error, StoreError) and ("database is locked" in str(error) or "database is busy" in str(error)):
        return StoreError(_locked_message(path))
    if isinstance(error, StoreError):
        return error
    return StoreError(f"cannot write the store {path}: {error}; check that it is a turntrace store you can write")
