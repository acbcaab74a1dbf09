"""The embedded default: a TracerProvider whose batch processor writes to the local SQLite store."""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from langchain_turntrace.store import SqliteSpanExporter, default_store_path

_providers: dict[Path, TracerProvider] = {}
_lock = threading.Lock()


def local_store_provider(path: Path | None = None) -> TracerProvider:
    """One provider per store file per process (a second handler does not double-write), flushed at exit.

    >>> provider = local_store_provider()  # doctest: +SKIP  # spans go to $TURNTRACE_STORE
    """
    store_path = (path or default_store_path()).expanduser().resolve()
    with _lock:
        provider = _providers.get(store_path)
        if provider is None:
            provider = TracerProvider()
            # Batching keeps disk writes off the agent's thread.
            provider.add_span_processor(BatchSpanProcessor(SqliteSpanExporter(store_path)))
            _providers[store_path] = provider
            atexit.register(provider.shutdown)
        return provider
