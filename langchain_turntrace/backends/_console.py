"""Spans printed as JSON to stdout: for a first look, or a log pipeline that collects stdout."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from langchain_turntrace.backends._pipeline import provider_with


def console_provider(*, flush_timeout_s: float = 5.0) -> TracerProvider:
    """A provider printing each finished span as JSON; batched, so the agent never waits on the terminal."""
    return provider_with(BatchSpanProcessor(ConsoleSpanExporter()), flush_timeout_s=flush_timeout_s)
