"""What the harness measures: a subject is a way of tracing the workload, with a sink that keeps nothing but a
count, so only the instrumentation's own cost is timed."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult


class SubjectUnavailable(Exception):
    """A peer that is not installed here; the message says how to install it."""


class Subject:
    """One way of tracing an agent run. The harness calls ``open`` once per process, ``start``/``stop`` around
    each block of runs (instrumentors that patch LangChain globally patch only inside their blocks), ``flush``
    at the end of a block so background work lands in that block, and reads ``produced`` before and after."""

    name = "subject"
    description = ""
    unit = "spans"  # what ``produced`` counts: spans, or LangSmith runs

    def open(self) -> None:
        return

    def callbacks(self) -> list[BaseCallbackHandler]:
        """The handlers passed in one run's config."""
        return []

    def start(self) -> None:
        return

    def stop(self) -> None:
        return

    def flush(self) -> None:
        return

    def produced(self) -> int:
        """Spans (or runs) that reached the sink so far in this process; -1 for a subject that emits nothing."""
        return -1

    def close(self) -> None:
        return


class CountingSpanExporter(SpanExporter):
    """A sink that counts spans and keeps none: an in-memory exporter whose memory does not grow with the runs,
    so the leak check sees the instrumentation only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans = 0
        self.names: set[str] = set()  # bounded: span names, for a glance at what a subject emits

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self.spans += len(spans)
            if len(self.names) < 64:
                self.names.update(span.name for span in spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class ProviderSubject(Subject):
    """A subject whose spans go to a TracerProvider of its own with a counting sink (``batch``: the SDK's
    BatchSpanProcessor, else SimpleSpanProcessor)."""

    batch = True

    def open(self) -> None:
        self._provider, self._exporter = counting_provider(self.batch)

    def flush(self) -> None:
        self._provider.force_flush()

    def produced(self) -> int:
        return self._exporter.spans

    def close(self) -> None:
        self._provider.shutdown()


class InstrumentorSubject(ProviderSubject):
    """A peer whose ``LangChainInstrumentor`` (in ``module``, from the ``package`` distribution) patches LangChain
    process-wide: instrumented at the start of each of its blocks and uninstrumented at the end."""

    module: str
    package: str

    def open(self) -> None:
        try:
            instrumentor = importlib.import_module(self.module).LangChainInstrumentor
        except ImportError:
            raise SubjectUnavailable(f"{self.package} is not installed: pip install -e '.[bench]'") from None
        super().open()
        self._instrumentor: Any = instrumentor()

    def start(self) -> None:
        self._instrumentor.instrument(tracer_provider=self._provider)

    def stop(self) -> None:
        self._instrumentor.uninstrument()


def counting_provider(batch: bool) -> tuple[TracerProvider, CountingSpanExporter]:
    """A TracerProvider of its own (never the global one, so subjects cannot see each other's spans) into a
    counting sink, through the SDK's BatchSpanProcessor (production's choice) or SimpleSpanProcessor."""
    exporter = CountingSpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return provider, exporter
