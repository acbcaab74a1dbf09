"""configure(): the chosen backend's provider (built once per process) and a handler that sends to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_turntrace.backends import meter_provider_for, provider_for
from langchain_turntrace.config import ConfigError, resolve_backend
from langchain_turntrace.handler import TurnTraceCallbackHandler
from langchain_turntrace.store import StoreError


def configure(
    backend: str | None = None,
    *,
    store_path: str | Path | None = None,
    flush_timeout_s: float | None = None,
    **handler_options: Any,
) -> TurnTraceCallbackHandler:
    """A handler whose spans go to ``backend``: ``local`` (default), ``otlp``, ``langsmith``, ``console`` or
    ``none``; without the argument, ``TURNTRACE_BACKEND`` chooses. The backend's exporter is built once per
    process, so configuring again (say, per request) never sends a span twice.

    >>> handler = configure("otlp", feature="support-bot")  # doctest: +SKIP  # OTEL_EXPORTER_OTLP_ENDPOINT
    >>> agent.invoke(inputs, config={"callbacks": [handler]})  # doctest: +SKIP

    ``handler_options`` are ``TurnTraceCallbackHandler``'s (``session_id``, ``feature``, ``prices``, ``budget``,
    ...); ``store_path`` is the local store's file (default ``TURNTRACE_STORE``). Bad values raise ``ConfigError``.
    ``otlp`` sends the GenAI metrics over OTLP too; other backends leave them to the app's global MeterProvider.
    """
    if "tracer_provider" in handler_options:
        raise TypeError("configure() builds the tracer provider; pass tracer_provider= to TurnTraceCallbackHandler")
    settings = resolve_backend(backend, flush_timeout_s)
    try:
        provider = provider_for(
            settings.backend,
            flush_timeout_s=settings.flush_timeout_s,
            store_path=None if store_path is None else Path(store_path),
        )
    except StoreError as error:  # an unwritable store path, a bad retention: configuration, so say it as such
        raise ConfigError(str(error)) from None
    if "meter_provider" not in handler_options:
        handler_options["meter_provider"] = meter_provider_for(
            settings.backend, flush_timeout_s=settings.flush_timeout_s
        )
    return TurnTraceCallbackHandler(
        tracer_provider=provider, flush_timeout_s=settings.flush_timeout_s, **handler_options
    )
