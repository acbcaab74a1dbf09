"""OTLP/HTTP to any collector or backend (Phoenix, Tempo, Jaeger, LangSmith's OTLP endpoint)."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from langchain_turntrace.backends._pipeline import provider_with


def otlp_provider(endpoint: str | None = None, *, flush_timeout_s: float = 5.0) -> TracerProvider:
    """A provider exporting over OTLP/HTTP. ``endpoint`` is the full traces URL; without it the exporter reads
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` (+ ``/v1/traces``), ``*_HEADERS``,
    ``*_TIMEOUT`` and ``*_COMPRESSION`` as every OTel SDK does (default ``http://localhost:4318/v1/traces``).

    >>> provider = otlp_provider("http://127.0.0.1:6006/v1/traces")  # doctest: +SKIP
    """
    return provider_with(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)), flush_timeout_s=flush_timeout_s)
