"""The batching processor in front of every backend: bounded, never blocking, drops counted and said once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace import dropped_spans
from langchain_turntrace.backends import BatchingProcessor


class Backend(SpanExporter):
    """The outside world: accepts, refuses, raises or hangs, as the test says."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[str] = []
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.mode == "hang":
            self.release.wait(30)
        if self.mode == "raise":
            raise ConnectionError("backend exploded")
        if self.mode == "refuse":
            return SpanExportResult.FAILURE
        self.received.extend(s.name for s in spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if self.mode == "hang":  # as the local store's exporter does: its shutdown waits for the export under way
            self.release.wait(30)


@pytest.fixture
def backend() -> Iterator[Backend]:
    world = Backend()
    yield world
    world.release.set()


def pipeline(backend: Backend, **options: int) -> tuple[TracerProvider, BatchingProcessor]:
    processor = BatchingProcessor(backend, backend="test", schedule_delay_s=0.01, **options)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider, processor


def emit(provider: TracerProvider, count: int, prefix: str = "span") -> None:
    tracer = provider.get_tracer("test")
    for i in range(count):
        tracer.start_span(f"{prefix} {i}").end()


def warnings_of(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "langchain_turntrace" and r.levelno == level]


def test_healthy_backend_gets_every_span_in_order(backend: Backend) -> None:
    provider, processor = pipeline(backend, max_batch_size=7)
    emit(provider, 50)
    assert processor.force_flush(5_000)
    assert backend.received == [f"span {i}" for i in range(50)]
    assert (processor.exported, processor.dropped) == (50, 0)
    provider.shutdown()


def test_an_outage_is_counted_said_once_and_the_recovery_once(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    provider, processor = pipeline(backend, max_batch_size=5)
    before = dropped_spans()
    backend.mode = "refuse"
    with caplog.at_level(logging.INFO, logger="langchain_turntrace"):
        for _ in range(4):  # several failed batches
            emit(provider, 5, "lost")
            processor.force_flush(5_000)
        backend.mode = "ok"
        emit(provider, 5, "kept")
        assert processor.force_flush(5_000)
    assert processor.dropped == 20
    assert dropped_spans() - before == 20
    assert backend.received == [f"kept {i}" for i in range(5)]
    assert warnings_of(caplog) == [
        "turntrace: dropping spans for the test backend: the backend refused or failed the export. Counting "
        "continues (langchain_turntrace.dropped_spans()); one line is logged when spans flow again."
    ]
    assert warnings_of(caplog, logging.INFO) == [
        "turntrace: the test backend takes spans again; 20 were dropped meanwhile"
    ]
    provider.shutdown()


def test_a_hung_backend_never_blocks_the_agent_and_the_queue_stays_bounded(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    provider, processor = pipeline(backend, max_queue_size=100, max_batch_size=10)
    backend.mode = "hang"
    emit(provider, 10)
    time.sleep(0.1)  # the worker takes that batch and hangs in export
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="langchain_turntrace"):
        emit(provider, 5_000)
    elapsed_s = time.perf_counter() - started
    assert processor.dropped == 4_900  # 100 queued behind the hung batch; the rest counted, not kept
    assert len(warnings_of(caplog)) == 1
    assert "the export queue is full" in warnings_of(caplog)[0]
    assert elapsed_s < 2.0  # 5,000 spans ended while the backend hung: nothing waited on it

    started = time.perf_counter()
    assert not processor.force_flush(200)  # bounded, and honest that it did not finish
    assert time.perf_counter() - started < 2.0

    backend.mode = "ok"
    backend.release.set()
    assert processor.force_flush(5_000)
    assert len(backend.received) == 110
    provider.shutdown()


def test_an_exporter_that_raises_is_logged_once_with_its_traceback(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    provider, processor = pipeline(backend, max_batch_size=2)
    backend.mode = "raise"
    with caplog.at_level(logging.WARNING, logger="langchain_turntrace"):
        for _ in range(3):
            emit(provider, 2)
            processor.force_flush(5_000)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["turntrace: the test exporter raised"]
    assert errors[0].exc_info is not None
    assert processor.dropped == 6
    backend.mode = "ok"
    emit(provider, 1)
    assert processor.force_flush(5_000)
    provider.shutdown()


def test_a_backend_that_keeps_falling_behind_is_announced_once(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    provider, processor = pipeline(backend, max_batch_size=5)
    with caplog.at_level(logging.INFO, logger="langchain_turntrace"):
        for _ in range(3):  # refuse, recover, refuse, recover...: a slow backend that keeps up now and then
            backend.mode = "refuse"
            emit(provider, 5)
            processor.force_flush(5_000)
            backend.mode = "ok"
            emit(provider, 5)
            processor.force_flush(5_000)
    assert processor.dropped == 15
    assert len(warnings_of(caplog)) == 1
    assert warnings_of(caplog, logging.INFO) == [
        "turntrace: the test backend takes spans again; 5 were dropped meanwhile"
    ]
    provider.shutdown()


def test_giving_up_at_exit_counts_what_was_lost(backend: Backend) -> None:
    provider, processor = pipeline(backend, max_batch_size=4)
    backend.mode = "hang"
    emit(provider, 4)
    time.sleep(0.1)  # that batch is being exported
    emit(provider, 3)
    assert processor.give_up() == 7
    assert processor.dropped == 7
    backend.release.set()  # the hung export returns: already counted, not counted again
    time.sleep(0.1)
    assert processor.dropped == 7
    assert processor.give_up() == 0


def test_giving_up_waits_only_briefly_on_an_exporter_stuck_in_its_export_and_says_it_is_a_stop(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    provider, processor = pipeline(backend, max_batch_size=4)
    backend.mode = "hang"
    emit(provider, 4)
    time.sleep(0.1)  # that batch is being exported
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="langchain_turntrace"):
        assert processor.give_up() == 4
    assert time.perf_counter() - started < 2.0  # the exporter's shutdown would wait 30 s for the export
    assert warnings_of(caplog) == [  # no promise of a line when spans flow again: they will not
        "turntrace: dropping spans for the test backend: the process is stopping and the backend has not taken "
        "them. Counted in langchain_turntrace.dropped_spans()."
    ]


def test_spans_ended_after_shutdown_are_counted_not_kept(backend: Backend) -> None:
    provider, processor = pipeline(backend)
    late = provider.get_tracer("test").start_span("late")  # a run still going when the program exits
    provider.shutdown()
    late.end()
    assert processor.dropped == 1
    assert backend.received == []
