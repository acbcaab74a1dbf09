"""LangSmith: the span tree as LangSmith runs (LANGSMITH_API_KEY / LANGSMITH_ENDPOINT / LANGSMITH_PROJECT)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace.backends._batching import count_dropped
from langchain_turntrace.backends._pipeline import provider_with
from langchain_turntrace.langsmith_backend import LangSmithSpanProcessor


def langsmith_provider(*, flush_timeout_s: float = 5.0) -> TracerProvider:
    """A provider whose spans become LangSmith runs, sent from a daemon thread by the ``langsmith`` client;
    a flush, or the program's exit, waits at most ``flush_timeout_s`` for them.

    >>> provider = langsmith_provider()  # doctest: +SKIP  # LANGSMITH_API_KEY and friends say where
    """
    return provider_with(LangSmithSpanProcessor(on_dropped=count_dropped), flush_timeout_s=flush_timeout_s)
