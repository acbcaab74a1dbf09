"""One TracerProvider per backend per process: configuring twice never registers a second exporter."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SpanExporter

from langchain_turntrace.backends._batching import BatchingProcessor
from langchain_turntrace.backends._pipeline import provider_with
from langchain_turntrace.store import default_store_path

_providers: dict[tuple[str, str], trace.TracerProvider] = {}
_lock = threading.Lock()

# A provider is shared only by configurations that send to the same place.
_PLACE_VARS = {
    "otlp": ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    "langsmith": ("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT", "LANGSMITH_PROJECT", "LANGCHAIN_PROJECT"),
}


def provider_for(backend: str, *, flush_timeout_s: float = 5.0, store_path: Path | None = None) -> trace.TracerProvider:
    """The provider for ``backend`` (``local``, ``otlp``, ``langsmith``, ``console``, ``none``), built once.
    Exporters sit behind a bounded batching processor: the agent never waits on disk or network, and what an
    outage drops is counted (``dropped_spans()``).

    >>> provider = provider_for("otlp")  # doctest: +SKIP  # OTEL_EXPORTER_OTLP_* say where
    """
    key = (backend, _place(backend, store_path))
    with _lock:
        provider = _providers.get(key)
        if provider is None:
            provider = _build(backend, flush_timeout_s, store_path)
            _providers[key] = provider
        return provider


def exporter_for(backend: str, store_path: Path | None = None) -> SpanExporter:
    """A new exporter for the exporter-based backends: ``local`` (the SQLite store at ``store_path``, default
    ``TURNTRACE_STORE``), ``otlp`` (OTLP/HTTP; ``OTEL_EXPORTER_OTLP_*`` endpoint, headers, timeout,
    compression, as every OTel SDK reads them), ``console`` (JSON on stdout) and ``langsmith``, for spans that
    ended elsewhere (an import: each run posted once, whole; live tracing posts runs as they start, through
    ``provider_for``)."""
    if backend == "langsmith":
        from langchain_turntrace.backends._langsmith import LangSmithExporter

        return LangSmithExporter()
    if backend == "local":
        from langchain_turntrace.store import SqliteSpanExporter

        return SqliteSpanExporter(_store_file(store_path))
    if backend == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if backend == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    raise ValueError(f"backend {backend!r} has no span exporter")


def _place(backend: str, store_path: Path | None) -> str:
    if backend == "local":
        return str(_store_file(store_path))
    return "\n".join(os.environ.get(name, "") for name in _PLACE_VARS.get(backend, ()))


def _store_file(store_path: Path | None) -> Path:
    return (store_path or default_store_path()).expanduser().resolve()


def _build(backend: str, flush_timeout_s: float, store_path: Path | None) -> trace.TracerProvider:
    if backend == "none":
        return trace.NoOpTracerProvider()
    if backend == "langsmith":
        from langchain_turntrace.backends._langsmith import langsmith_provider

        return langsmith_provider(flush_timeout_s=flush_timeout_s)
    exporter = exporter_for(backend, store_path)
    return provider_with(BatchingProcessor(exporter, backend=backend), flush_timeout_s=flush_timeout_s)
