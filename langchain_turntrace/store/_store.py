"""SpanStore: one open store file, its writes, its retention, and the queries the CLI is built on."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from langchain_turntrace.store import _alerts, _earlier, _report, _retention, _rollups, _runs
from langchain_turntrace.store._connection import connect, sqlite_errors
from langchain_turntrace.store._figures import ReportFigures
from langchain_turntrace.store._paths import default_store_path
from langchain_turntrace.store._records import StoredLink, StoredSpan
from langchain_turntrace.store._results import CostGroup, CostRow, Earlier, RunSummary, ToolStat, WiringSmells
from langchain_turntrace.store._rows import link_rows, row_from_readable, row_from_stored
from langchain_turntrace.store._write import write_rows

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan


class SpanStore:
    """An open store. Build it with ``SpanStore.open``; use it as a context manager or ``close()`` it.

    >>> with SpanStore.open() as store:  # doctest: +SKIP
    ...     for run in store.runs(None, None, None, None, limit=5):
    ...         print(run.run_id, run.agent, run.cost_usd)

    Safe to share between threads (calls are serialised); each process opens its own.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path, retention_days: int) -> None:
        """Use ``SpanStore.open``."""
        self._connection = connection
        self._path = path
        self._retention_days = retention_days
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path | None = None, *, create: bool = False, retention_days: int | None = None) -> SpanStore:
        """Opens ``path`` (default: ``default_store_path()``), migrating an older store forward.

        ``create=False`` (reading) refuses a missing file; ``create=True`` makes it, owner-only. Raises StoreError
        for a missing, corrupt, foreign or newer file, and for a bad ``retention_days`` /
        ``TURNTRACE_RETENTION_DAYS`` (checked first, before the file is touched).
        """
        days = _retention.resolve_retention_days(retention_days)
        resolved = default_store_path() if path is None else path.expanduser()
        return cls(connect(resolved, create=create), resolved, days)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def retention_days(self) -> int:
        return self._retention_days

    # -- writing -----------------------------------------------------------------------------------------
    def write(self, spans: Sequence[StoredSpan | ReadableSpan]) -> None:
        """Stores ``spans`` (ours, or the SDK's as exported) in one transaction (all or none); a span written
        twice is kept once."""
        rows = [row_from_stored(span) if isinstance(span, StoredSpan) else row_from_readable(span) for span in spans]
        links = [link for span in spans if span.links for link in link_rows(span)]
        with self._lock, sqlite_errors(self._path):
            write_rows(self._connection, rows, links)

    def prune(self, now_ns: int | None = None) -> int:
        """Deletes the traces that ended more than ``retention_days`` ago, whole, and returns how many."""
        with self._lock, sqlite_errors(self._path):
            return _retention.prune(self._connection, self._retention_days, now_ns)

    # -- reading -----------------------------------------------------------------------------------------
    def runs(
        self,
        since_ns: int | None = None,
        session: str | None = None,
        user: str | None = None,
        feature: str | None = None,
        limit: int = 50,
    ) -> list[RunSummary]:
        """Agent runs (root ``invoke_agent`` spans; nested agents are part of their run), newest first."""
        with self._lock, sqlite_errors(self._path):
            return _runs.runs(self._connection, since_ns, session, user, feature, limit)

    def run_spans(self, run_id_prefix: str) -> list[StoredSpan]:
        """All spans of one run's trace by start time. The prefix (or a full trace id) must name exactly one run."""
        with self._lock, sqlite_errors(self._path):
            return _runs.run_spans(self._connection, run_id_prefix)

    def linked_from(self, span_id: str) -> list[tuple[str, StoredLink]]:
        """The links other spans hold to ``span_id`` (a run that resumes this one links its agent span here):
        (the linking span's id, the link)."""
        with self._lock, sqlite_errors(self._path):
            return _runs.linked_from(self._connection, span_id)

    def cost_by(self, dimension: str, since_ns: int | None = None) -> list[CostRow]:
        """Model-call cost grouped by model, feature, user, day (UTC), agent_version or session; costliest first."""
        with self._lock, sqlite_errors(self._path):
            return _rollups.cost_by(self._connection, dimension, since_ns)

    def cost_total(self, since_ns: int | None = None) -> CostRow:
        """Every model call since ``since_ns`` in one row: the same figures ``cost_by`` totals to, whatever the
        dimension."""
        with self._lock, sqlite_errors(self._path):
            return _rollups.cost_total(self._connection, since_ns)

    def top_tools(
        self, by: str, since_ns: int | None = None, limit: int = 10, *, human_waits: bool = False
    ) -> list[ToolStat]:
        """Tools by ``latency`` (p95), ``errors`` or ``calls``, highest first; tool calls that are the user
        deciding (``turntrace.tool.kind=human_wait``) only with ``human_waits``."""
        with self._lock, sqlite_errors(self._path):
            return _rollups.top_tools(self._connection, by, since_ns, limit, human_waits=human_waits)

    def runs_before(
        self, before_ns: int, session: str | None = None, user: str | None = None, feature: str | None = None
    ) -> Earlier:
        """How many agent runs with these tags started before ``before_ns``, and when the latest did: what an
        empty ``runs`` window has outside it."""
        with self._lock, sqlite_errors(self._path):
            return _earlier.runs_before(self._connection, before_ns, session, user, feature)

    def model_calls_before(self, before_ns: int) -> Earlier:
        """How many model calls started before ``before_ns``, and when the latest did."""
        with self._lock, sqlite_errors(self._path):
            return _earlier.model_calls_before(self._connection, before_ns)

    def tool_calls_before(self, before_ns: int) -> Earlier:
        """How many tool calls started before ``before_ns``, and when the latest did."""
        with self._lock, sqlite_errors(self._path):
            return _earlier.tool_calls_before(self._connection, before_ns)

    def cost_groups(self, per: str, by: str, since_ns: int) -> list[CostGroup]:
        """Model-call cost per (``by``: feature, user, model) and (``per``: day, run, session), costliest first.

        >>> [g for g in store.cost_groups("day", "feature", since_ns) if g.cost_usd > 50]  # doctest: +SKIP
        """
        with self._lock, sqlite_errors(self._path):
            return _alerts.cost_groups(self._connection, per, by, since_ns)

    def wiring_smells(self, since_ns: int) -> WiringSmells:
        """Unpriced models, runs with no turn span and tool calls without a turn, from ``since_ns`` on."""
        with self._lock, sqlite_errors(self._path):
            return _alerts.wiring_smells(self._connection, since_ns)

    def report(self, since_ns: int | None = None) -> ReportFigures:
        """Every figure of ``turntrace report`` over what started at or after ``since_ns``. The cost figures are
        read on a second connection, in a thread, while this one reads the rest: two read snapshots, taken
        together before either reads a figure.

        >>> figures = store.report(since_ns)  # doctest: +SKIP
        >>> [(row.key, row.cost_usd) for row in figures.by_feature]  # doctest: +SKIP
        """
        with self._lock, sqlite_errors(self._path), closing(connect(self._path, create=False)) as second:
            return _report.report(self._connection, second, since_ns)

    def spans_count(self) -> int:
        with self._lock, sqlite_errors(self._path):
            count: int = self._connection.execute("SELECT count(*) FROM spans").fetchone()[0]
            return count

    # -- lifetime ----------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> SpanStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
