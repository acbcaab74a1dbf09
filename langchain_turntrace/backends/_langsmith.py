"""LangSmith: the span tree as LangSmith runs (LANGSMITH_API_KEY / LANGSMITH_ENDPOINT / LANGSMITH_PROJECT)."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace.backends._batching import count_dropped
from langchain_turntrace.backends._pipeline import provider_with
from langchain_turntrace.langsmith_backend import LangSmithSpanProcessor


def langsmith_provider(*, flush_timeout_s: float = 5.0) -> TracerProvider:
    """A provider whose spans become LangSmith runs, sent from a daemon thread by the ``langsmith`` client;
    a flush, or the program's exit, waits at most ``flush_timeout_s`` for them.

    >>> provider = langsmith_provider()  # doctest: +SKIP  # LANGSMITH_API_KEY and friends say where
    """
    return provider_with(LangSmithSpanProcessor(on_dropped=count_dropped), flush_timeout_s=flush_timeout_s)


class LangSmithExporter(SpanExporter):
    """Finished spans as LangSmith runs, each posted once, whole: for spans that ended elsewhere (an imported
    session), not a live pipeline, where ``langsmith_provider`` posts runs as they start. What it cannot send is
    counted in ``dropped_spans()``.

    >>> LangSmithExporter().export(spans)  # doctest: +SKIP  # LANGSMITH_API_KEY and friends say where
    """

    def __init__(self) -> None:
        self._processor = LangSmithSpanProcessor(on_dropped=count_dropped)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._processor.send_finished(spans)
        return SpanExportResult.SUCCESS  # handed to the sender's thread; it counts what it gives up on

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._processor.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._processor.shutdown()
