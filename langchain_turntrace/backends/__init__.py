"""Backends: OTel SDK pipelines the handler's spans flow into (the handler never calls them directly)."""

from langchain_turntrace.backends._batching import BatchingProcessor, dropped_spans
from langchain_turntrace.backends._exit import install_sigterm_flush
from langchain_turntrace.backends._meters import flush_meters_within, meter_provider_for
from langchain_turntrace.backends._pipeline import flush_within, shutdown_within
from langchain_turntrace.backends._select import exporter_for, provider_for

__all__ = [
    "BatchingProcessor",
    "dropped_spans",
    "exporter_for",
    "flush_meters_within",
    "flush_within",
    "install_sigterm_flush",
    "meter_provider_for",
    "provider_for",
    "shutdown_within",
]
