"""Where imported spans go: the configured backend's exporter (or LangSmith's processor), fed whole sessions
synchronously, so the local store writes each session in one transaction, and stopped within a bound."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace.backends import exporter_for, provider_for, shutdown_within
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


class _ProcessorSink:
    """A backend that is a span processor (LangSmith): spans handed over as they would end, sent by its thread."""

    def __init__(self, provider: TracerProvider, processor: SpanProcessor) -> None:
        self._provider = provider
        self._processor = processor

    def export(self, spans: Sequence[ReadableSpan]) -> bool:
        for span in spans:
            self._processor.on_end(span)
        return True  # what it fails to send later it counts in dropped_spans(), and the stop's warning says

    def close(self, timeout_s: float) -> bool:
        return shutdown_within(self._provider, timeout_s)


class _NoSink:
    def export(self, spans: Sequence[ReadableSpan]) -> bool:
        return True

    def close(self, timeout_s: float) -> bool:
        return True


def sink_for(
    backend: str, *, store_path: Path | None, retention_days: int | None, flush_timeout_s: float
) -> tuple[SpanSink, SqliteSpanExporter | None]:
    """The sink for ``backend`` (``local``, ``otlp``, ``langsmith``, ``console``, ``none``), and the store's
    exporter when it is the local store (its path and retention are the import's to report)."""
    if backend == "local":
        exporter = SqliteSpanExporter((store_path or default_store_path()), retention_days=retention_days)
        return ExporterSink(exporter), exporter
    if backend == "none":
        return _NoSink(), None
    if backend == "langsmith":
        provider = provider_for("langsmith", flush_timeout_s=flush_timeout_s)
        if not isinstance(provider, TracerProvider):
            return _NoSink(), None
        # The SDK keeps a provider's processors in this one composite; langsmith's provider has ours alone in it.
        return _ProcessorSink(provider, provider._active_span_processor), None  # pyright: ignore[reportPrivateUsage]  # the SDK has no public getter
    return ExporterSink(exporter_for(backend, store_path)), None
