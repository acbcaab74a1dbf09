"""Where imported spans go: the configured backend's exporter, fed whole sessions
synchronously, so the local store writes each session in one transaction, and stopped within a bound."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace.backends import exporter_for
from langchain_turntrace.backends._pipeline import run_within
from langchain_turntrace.store import SqliteSpanExporter, default_store_path


class SpanSink(Protocol):
    def export(self, spans: Sequence[ReadableSpan]) -> bool:
        """True when the backend took every span (the local store: written, in one transaction)."""
        ...

    def close(self, timeout_s: float) -> bool:
        """Flushes and stops, waiting at most ``timeout_s``; True if it finished in time."""
        ...


class ExporterSink:
    """Any ``SpanExporter``: the local store, OTLP, the console, or an in-memory one in tests."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> bool:
        return self.exporter.export(spans) is SpanExportResult.SUCCESS

    def close(self, timeout_s: float) -> bool:
        return run_within(self.exporter.shutdown, timeout_s)


class _NoSink:
    def export(self, spans: Sequence[ReadableSpan]) -> bool:
        return True

    def close(self, timeout_s: float) -> bool:
        return True


def sink_for(
    backend: str, *, store_path: Path | None, retention_days: int | None
) -> tuple[SpanSink, SqliteSpanExporter | None]:
    """The sink for ``backend`` (``local``, ``otlp``, ``langsmith``, ``console``, ``none``), and the store's
    exporter when it is the local store (its path and retention are the import's to report)."""
    if backend == "local":
        exporter = SqliteSpanExporter((store_path or default_store_path()), retention_days=retention_days)
        return ExporterSink(exporter), exporter
    if backend == "none":
        return _NoSink(), None
    return ExporterSink(exporter_for(backend, store_path)), None
