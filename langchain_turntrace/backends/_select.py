"""One TracerProvider per backend per process: configuring twice never registers a second exporter."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from opentelemetry import trace

from langchain_turntrace.store import default_store_path

_providers: dict[tuple[str, str], trace.TracerProvider] = {}
_lock = threading.Lock()


def provider_for(backend: str, *, flush_timeout_s: float = 5.0, store_path: Path | None = None) -> trace.TracerProvider:
    """The provider for ``backend`` (``local``, ``otlp``, ``langsmith``, ``console``, ``none``), built once.

    >>> provider = provider_for("otlp")  # doctest: +SKIP  # OTEL_EXPORTER_OTLP_* say where
    """
    key = _key(backend, store_path)
    with _lock:
        provider = _providers.get((backend, key))
        if provider is None:
            provider = _build(backend, flush_timeout_s, store_path)
            _providers[(backend, key)] = provider
        return provider


# A provider is shared only by configurations that send to the same place.
_PLACE_VARS = {
    "otlp": ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    "langsmith": ("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT", "LANGSMITH_PROJECT", "LANGCHAIN_PROJECT"),
}


def _key(backend: str, store_path: Path | None) -> str:
    if backend == "local":
        return str((store_path or default_store_path()).expanduser().resolve())
    return "\n".join(os.environ.get(name, "") for name in _PLACE_VARS.get(backend, ()))


def _build(backend: str, flush_timeout_s: float, store_path: Path | None) -> trace.TracerProvider:
    if backend == "local":
        from langchain_turntrace.backends._local import local_store_provider

        return local_store_provider(store_path, flush_timeout_s=flush_timeout_s)
    if backend == "otlp":
        from langchain_turntrace.backends._otlp import otlp_provider

        return otlp_provider(flush_timeout_s=flush_timeout_s)
    if backend == "langsmith":
        from langchain_turntrace.backends._langsmith import langsmith_provider

        return langsmith_provider(flush_timeout_s=flush_timeout_s)
    if backend == "console":
        from langchain_turntrace.backends._console import console_provider

        return console_provider(flush_timeout_s=flush_timeout_s)
    if backend == "none":
        return trace.NoOpTracerProvider()
    raise ValueError(f"unknown backend {backend!r}")  # config.resolve_backend admits only the names above
