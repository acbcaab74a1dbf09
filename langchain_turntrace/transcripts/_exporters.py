"""Where imported spans go: the configured backend's own OTel ``SpanExporter``, called synchronously by the import.
The local store's is checked for writing before any transcript is read, and never prunes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace.backends import exporter_for
from langchain_turntrace.backends._pipeline import run_within
from langchain_turntrace.store import SqliteSpanExporter, default_store_path


def exporter_for_import(backend: str, *, store_path: Path | None, retention_days: int | None) -> SpanExporter:
    """The exporter for ``backend`` (``local``, ``otlp``, ``langsmith``, ``console``, ``none``).

    ``local``: a ``SqliteSpanExporter`` that has opened the store and taken its write lock once (a missing
    directory, a foreign or newer file, a store another process keeps locked raise StoreError here, before any
    file is read), that never prunes (the runs an import writes are as old as their transcripts; retention is
    applied by the store's other writers and ``turntrace prune``), and whose failures the import reads from its
    ``error`` rather than from a log line.
    """
    if backend == "local":
        exporter = SqliteSpanExporter(
            store_path or default_store_path(), retention_days=retention_days, prune=False, log_failures=False
        )
        exporter.check()
        return exporter
    if backend == "none":
        return _Discard()
    return exporter_for(backend, store_path)


def shutdown_within(exporter: SpanExporter, timeout_s: float) -> bool:
    """Flushes and stops ``exporter``, waiting at most ``timeout_s`` (an OTLP retry loop can take a minute);
    True if it finished in time."""
    return run_within(exporter.shutdown, timeout_s)


class _Discard(SpanExporter):
    """``--backend none``: the import reads and counts, and nothing is sent."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None
