"""The embedded default: a TracerProvider whose batch processor writes to the local SQLite store."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from langchain_turntrace.backends._pipeline import provider_with
from langchain_turntrace.store import SqliteSpanExporter, default_store_path


def local_store_provider(path: Path | None = None, *, flush_timeout_s: float = 5.0) -> TracerProvider:
    """A provider writing to the store at ``path`` (default ``$TURNTRACE_STORE``); batching keeps disk off the
    agent's thread. Callers cache it (``backends.provider_for``): one per store file per process.

    >>> provider = local_store_provider()  # doctest: +SKIP
    """
    store_path = (path or default_store_path()).expanduser().resolve()
    return provider_with(BatchSpanProcessor(SqliteSpanExporter(store_path)), flush_timeout_s=flush_timeout_s)
