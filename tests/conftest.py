"""Shared fixtures: a real TracerProvider -> SimpleSpanProcessor -> InMemorySpanExporter, and tree helpers."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Our own suite wants internal errors loud: the handler re-raises them instead of logging once.
os.environ["TURNTRACE_STRICT"] = "true"
# configure("otlp") also exports metrics, every minute, to localhost:4318 unless told otherwise: not from tests
# that are about spans. tests/test_metrics.py turns them on where it checks them.
os.environ["OTEL_METRICS_EXPORTER"] = "none"
# A handler built without a provider writes to the local store: never the developer's own during tests.
os.environ["TURNTRACE_STORE"] = os.path.join(tempfile.mkdtemp(prefix="turntrace-tests-"), "traces.db")

from collections.abc import Iterator

import pytest
from hypothesis import settings
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.contract import check_contract
from tests.spans import Spans

pytest_plugins = ["tests.phoenix"]

# That store's directory is one per test run, and goes with it.
atexit.register(shutil.rmtree, os.path.dirname(os.environ["TURNTRACE_STORE"]), ignore_errors=True)

# CI replays the same examples every run (a landing must not hang on a lucky draw); a developer's run explores.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[Spans]:
    """The test's spans; after the test, every one of them is held to DESIGN.md's attribute contract."""
    finished = Spans(exporter)
    yield finished
    check_contract(
        [s for s in finished.all() if s.instrumentation_scope and s.instrumentation_scope.name == "langchain_turntrace"]
    )
