"""A bounded batching span processor that counts what it drops and says so once, not once per span."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Final

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from langchain_turntrace._fork import renew_in_child
from langchain_turntrace.backends._pipeline import run_within

_log = logging.getLogger("langchain_turntrace")

# The SDK's batch-processor variables, read the same way so an OTel user's tuning still applies.
_MAX_QUEUE_SIZE: Final = ("OTEL_BSP_MAX_QUEUE_SIZE", 2048)
_MAX_BATCH_SIZE: Final = ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)
_SCHEDULE_DELAY_MS: Final = ("OTEL_BSP_SCHEDULE_DELAY", 1000)

_WARN_EVERY_S: Final = 600.0  # a backend that keeps falling behind and catching up is announced every 10 min
_EXPORTER_SHUTDOWN_S: Final = 0.5  # give_up's wait: an export stuck holding the exporter's lock cannot hold the stop
_totals_lock = threading.Lock()
_dropped_total = 0


def _renew_totals_lock() -> None:
    """In a forked child: a thread that did not come along may have held it (counting a drop)."""
    global _totals_lock
    _totals_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_totals_lock)


def dropped_spans() -> int:
    """Spans this process's backends have lost so far: queue full (backend too slow or down) or export failed.

    >>> from langchain_turntrace import dropped_spans
    >>> dropped_spans()  # 0 while every backend keeps up
    0
    """
    return _dropped_total


def count_dropped(count: int) -> None:
    """Adds to ``dropped_spans()``: for backends with a sender of their own (LangSmith's)."""
    global _dropped_total
    with _totals_lock:
        _dropped_total += count


class BatchingProcessor(SpanProcessor):
    """Queues finished spans (at most ``max_queue_size``) and exports them in batches on one worker thread.

    The agent's thread only appends to a deque. When the backend is down or slow the queue fills and newer
    spans are dropped and counted (``dropped``, ``dropped_spans()``); the first drop of an outage logs one
    WARNING, the first success after it one INFO with the count, at most once every ten minutes. Unlike the
    SDK's processor, which logs every dropped span, an outage costs two log lines.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        backend: str,
        max_queue_size: int | None = None,
        max_batch_size: int | None = None,
        schedule_delay_s: float | None = None,
    ) -> None:
        self._exporter = exporter
        self._backend = backend
        self._max_queue = max_queue_size or _env_int(*_MAX_QUEUE_SIZE)
        self._max_batch = min(max_batch_size or _env_int(*_MAX_BATCH_SIZE), self._max_queue)
        self._delay_s = schedule_delay_s if schedule_delay_s is not None else _env_int(*_SCHEDULE_DELAY_MS) / 1000
        self._queue: deque[ReadableSpan] = deque()
        self._cond = threading.Condition()
        self._exporting = 0  # spans of the batch being exported now
        self._flush_requested = 0
        self._shutdown = False
        self._given_up = False
        self._outage_drops = 0  # dropped since the last successful export: > 0 means we are in an outage
        self._warned_at_s = float("-inf")
        self._warned_outage = False  # this outage was announced: its end is too
        self.dropped = 0
        self.exported = 0
        self._worker = self._start_worker()
        renew_in_child(self._restart_after_fork)

    def _start_worker(self) -> threading.Thread:
        worker = threading.Thread(target=self._run, name=f"turntrace-export-{self._backend}", daemon=True)
        worker.start()
        return worker

    def _restart_after_fork(self) -> None:
        """In a forked child (multiprocessing, gunicorn ``--preload``): no thread came along, and a lock may have
        been held by one that did not. The queued spans are the parent's to send; the child starts empty."""
        self._cond = threading.Condition()
        self._queue.clear()
        self._exporting = 0
        self._flush_requested = 0
        if not self._shutdown:
            self._worker = self._start_worker()

    # -- the agent's side: never blocks on I/O ---------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is None or not span.context.trace_flags.sampled:
            return
        with self._cond:
            if self._shutdown or len(self._queue) >= self._max_queue:
                self._drop(1, "a span ended after the stop began" if self._shutdown else "the export queue is full")
                return
            self._queue.append(span)
            if len(self._queue) >= self._max_batch:
                self._cond.notify()

    # -- the worker ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                if len(self._queue) < self._max_batch and not self._shutdown and not self._flush_requested:
                    self._cond.wait(self._delay_s)  # a full batch, a flush or the schedule delay, whichever first
                if not self._queue:
                    self._flush_requested = 0
                    self._cond.notify_all()  # wake flushers: nothing left
                    if self._shutdown:
                        return
                    continue
                batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
                self._exporting = len(batch)
            ok = self._export(batch)
            with self._cond:
                self._exporting = 0
                if self._given_up:
                    return  # already counted as lost by give_up()
                if ok:
                    self.exported += len(batch)
                    self._recovered()
                else:
                    self._drop(len(batch), "the backend refused or failed the export")
                self._cond.notify_all()

    def _export(self, batch: list[ReadableSpan]) -> bool:
        try:
            return self._exporter.export(batch) is SpanExportResult.SUCCESS
        except Exception:  # noqa: BLE001  # an exporter bug must not kill the worker: batch lost, counted, logged once
            if self._outage_drops == 0:
                _log.exception("turntrace: the %s exporter raised", self._backend)
            return False

    def _drop(self, count: int, why: str) -> None:
        if self._outage_drops == 0 and time.monotonic() - self._warned_at_s >= _WARN_EVERY_S:
            self._warned_at_s = time.monotonic()
            self._warned_outage = not self._shutdown  # a stop is not an outage: nothing flows again after it
            then = (
                "Counting continues (langchain_turntrace.dropped_spans()); one line is logged when spans flow again."
                if self._warned_outage
                else "Counted in langchain_turntrace.dropped_spans()."
            )
            _log.warning("turntrace: dropping spans for the %s backend: %s. %s", self._backend, why, then)
        self._outage_drops += count
        self.dropped += count
        count_dropped(count)

    def _recovered(self) -> None:
        if self._outage_drops and self._warned_outage:
            _log.info(
                "turntrace: the %s backend takes spans again; %d were dropped meanwhile",
                self._backend,
                self._outage_drops,
            )
        self._outage_drops = 0
        self._warned_outage = False

    # -- flush / shutdown: bounded waits -----------------------------------------------------------------
    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            self._flush_requested += 1
            self._cond.notify_all()
            while self._queue or self._exporting:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._worker.is_alive():
                    return False
                self._cond.wait(remaining)
        return True

    def give_up(self) -> int:
        """The stop cannot wait longer: what is queued or being exported is lost now, counted, and the exporter
        is told to shut down (an OTLP exporter then stops retrying), waited for briefly. Returns how many spans
        were lost."""
        with self._cond:
            if self._given_up:
                return 0
            self._given_up = True
            lost = len(self._queue) + self._exporting
            self._queue.clear()
            self._shutdown = True
            if lost:
                self._drop(lost, "the process is stopping and the backend has not taken them")
            self._cond.notify_all()
        run_within(self._shut_exporter_down, _EXPORTER_SHUTDOWN_S)  # it may wait on the export it ends
        return lost

    def _shut_exporter_down(self) -> None:
        try:
            self._exporter.shutdown()
        except Exception:  # noqa: BLE001  # stopping: nothing left to protect but the stop itself
            _log.debug("turntrace: the %s exporter failed to shut down", self._backend, exc_info=True)

    def shutdown(self) -> None:
        with self._cond:
            if self._shutdown:
                return
            self._shutdown = True
            self._cond.notify_all()
        self._worker.join()  # the caller bounds this (backends.shutdown_within), then calls give_up()
        if not self._given_up:
            self._exporter.shutdown()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        _log.warning("turntrace: %s=%r is not a whole number; using %d", name, raw, default)
        return default
    return value if value > 0 else default
