"""Run posts and patches leave for LangSmith in batches from one daemon thread, through the official client.

Not the client's own background tracing: its sender threads are not daemons, so at exit the program waits until
they have drained their queue through every retry, minutes when LangSmith hangs. Ours is a daemon and every
wait on it is bounded; the client still does the wire work (/info, multipart or batch ingest, retries).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Final, Literal

from langsmith import Client

from langchain_turntrace._fork import renew_in_child
from langchain_turntrace.langsmith_backend import _settings as settings
from langchain_turntrace.langsmith_backend._compression import CompressingSession
from langchain_turntrace.langsmith_backend._requests import DEFAULT_SIZE_LIMIT_BYTES, Run, fitted

Operation = Callable[[], tuple[Literal["post", "patch"], dict[str, Any]]]
"""Builds one run payload; called on the sender's thread, so the agent's thread only queues it."""

MAX_QUEUED: Final = 8192
_LINGER_S: Final = 0.2  # gathers a batch; a root posted at its start is in LangSmith about this much later

_log = logging.getLogger("langchain_turntrace")


class RunSender:
    """A bounded queue of run operations and the daemon thread that sends them; ``flush`` says whether all
    of them reached LangSmith. Keyword arguments go to ``langsmith.Client`` (its defaults read LANGSMITH_*)."""

    def __init__(
        self, *, max_queued: int = MAX_QUEUED, on_dropped: Callable[[int], None] | None = None, **client_options: Any
    ) -> None:
        self._on_dropped = on_dropped  # told how many runs were lost: the process-wide dropped_spans() count
        self._session = CompressingSession()  # compresses once /info says LangSmith takes zstd
        self._client = Client(
            auto_batch_tracing=False,  # see the module docstring
            tracing_mode="langsmith",  # not OTel, whatever LANGSMITH_OTEL_ENABLED says: this backend is the runs API
            tracing_error_callback=self._failed,
            session=self._session,
            **client_options,
        )
        self._size_limit = DEFAULT_SIZE_LIMIT_BYTES  # LangSmith's, from /info when the worker starts
        # ids of runs whose post at their start was lost, until their end is sent (only the sender's thread)
        self._lost_posts: OrderedDict[str, None] = OrderedDict()
        self._max_queued = max_queued
        self._queue: deque[tuple[Operation, bool]] = deque()  # (operation, whether it carries a span's end)
        self._changed = threading.Condition()
        self._queued = 0  # operations accepted so far
        self._settled = 0  # operations sent, or given up on
        self._in_flight = 0  # span ends in the batch being sent and not yet counted lost
        self._failures = 0  # anything lost: what flush reports
        self._reported_failures = 0
        self._failed_sends = 0  # only the sender's thread changes it (put() adds to _failures from agents' threads)
        self._given_up = False
        self._flushing = 0
        self._stopped = False
        self._warned: set[str] = set()
        self._start_worker()
        renew_in_child(self._restart_after_fork)

    def _start_worker(self) -> None:
        threading.Thread(target=self._run, name="turntrace-langsmith", daemon=True).start()

    def _restart_after_fork(self) -> None:
        """In a forked child: no thread came along and a lock may have been held by one that did not. What was
        queued is the parent's to send; the child starts empty."""
        self._changed = threading.Condition()
        self._queue.clear()
        self._queued = self._settled = self._flushing = self._in_flight = 0
        if not self._stopped:
            self._start_worker()

    @property
    def client(self) -> Client:
        return self._client

    def put(self, operation: Operation, *, ends_span: bool = True) -> bool:
        """Queues ``operation`` without waiting; False when the queue is full (LangSmith is not keeping up).
        ``ends_span``: it carries a span's final state, so losing it loses a span (``dropped_spans()``); a root's
        post at its start does not (its end, sent later, carries the whole run)."""
        with self._changed:
            if self._stopped:
                return False
            if len(self._queue) >= self._max_queued:
                self._failures += 1
                self._warn_once("full", "LangSmith is not keeping up; runs are being dropped")
                self._dropped(int(ends_span))
                return False
            self._queue.append((operation, ends_span))
            self._queued += 1
            self._changed.notify_all()
            return True

    def flush(self, timeout_s: float | None) -> bool:
        """Waits at most ``timeout_s`` (None: until done) for everything queued so far; True if all of it
        reached LangSmith and nothing failed since the last successful flush."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._changed:
            target = self._queued
            self._flushing += 1
            self._changed.notify_all()
            try:
                settled = self._changed.wait_for(
                    lambda: self._settled >= target,
                    timeout=None if deadline is None else max(deadline - time.monotonic(), 0.0),
                )
            finally:
                self._flushing -= 1
            if not settled:
                return False
            failed = self._failures > self._reported_failures
            self._reported_failures = self._failures
            return not failed

    def shutdown(self) -> bool:
        """Stops taking runs and waits until those queued have been sent or given up on by the client (its
        timeouts and retries bound that); callers that must not wait so long bound it themselves."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        return self.flush(None)

    def _run(self) -> None:
        info = self._client.info  # fetched here, off the agent's thread; the client falls back to defaults
        config = info.batch_ingest_config or {}
        multipart = config.get("use_multipart_endpoint", True)
        batch_size = max(int(config.get("size_limit") or 100), 1)
        self._size_limit = max(int(config.get("size_limit_bytes") or DEFAULT_SIZE_LIMIT_BYTES), 1)
        flags = info.instance_flags or {}
        compress = multipart and flags.get("zstd_compression_enabled") and not settings.compression_disabled()
        self._session.enabled = bool(compress)
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queue or self._stopped)
                if not self._queue:
                    return
                self._changed.wait_for(
                    lambda: self._flushing or self._stopped or len(self._queue) >= batch_size, timeout=_LINGER_S
                )
                batch = [self._queue.popleft() for _ in range(min(batch_size, len(self._queue)))]
                self._in_flight = sum(ends_span for _, ends_span in batch)
            try:
                self._send(batch, multipart=multipart)
            finally:
                with self._changed:
                    self._settled += len(batch)
                    self._in_flight = 0
                    self._changed.notify_all()

    def _send(self, batch: list[tuple[Operation, bool]], *, multipart: bool) -> None:
        runs: list[Run] = []
        for operation, ends_span in batch:
            try:
                kind, run = operation()
            except Exception:  # noqa: BLE001  # a span we cannot map must not stop the others
                self._failed_internally("a span could not be turned into a LangSmith run")
                self._lost_in_flight(int(ends_span))
                continue
            runs.append((kind, run, ends_span))
        fit = fitted(runs, self._size_limit)
        if fit.trimmed:
            self._warn_once("trimmed", "a LangSmith run over its request limit was sent without its content")
        if fit.too_large:
            self._warn_once("too large", "a LangSmith run over its request limit even without its content: dropped")
            with self._changed:
                self._failures += 1  # a flush now says not everything arrived
            self._lost_in_flight(sum(ends_span for _, _, ends_span in fit.too_large))
            self._posts_lost(fit.too_large)
        for request in fit.requests:
            self._ingest(request, multipart=multipart)

    def _ingest(self, runs: list[Run], *, multipart: bool) -> None:
        posts = [run for kind, run, _ in runs if kind == "post"]
        patches = [run for kind, run, _ in runs if kind == "patch"]
        failed_sends = self._failed_sends
        refused = False
        try:
            if multipart:
                self._client.multipart_ingest(create=posts, update=patches)  # pyright: ignore[reportUnknownMemberType]  # langsmith types run dicts as bare dict
            else:
                self._client.batch_ingest_runs(create=posts, update=patches)  # pyright: ignore[reportUnknownMemberType]  # as above
        except Exception:  # noqa: BLE001  # failed requests come through _failed; this is anything else
            self._failed_internally("the LangSmith client refused a batch of runs")
            refused = True
        if refused or self._failed_sends > failed_sends:  # the client raised, or called _failed: it did not arrive
            self._lost_in_flight(sum(ends_span for _, _, ends_span in runs))
            self._posts_lost(runs)

    def _posts_lost(self, runs: list[Run]) -> None:
        """Runs posted at their start whose post never arrived: their end goes as a whole post (``post_lost``)."""
        for kind, run, ends_span in runs:
            if kind == "post" and not ends_span:
                self._lost_posts[str(run.get("id"))] = None
                while len(self._lost_posts) > MAX_QUEUED:
                    self._lost_posts.popitem(last=False)

    def post_lost(self, run_id: object) -> bool:
        """Whether the post at this run's start was lost (refused, or too large): called on the sender's thread,
        when the run's end is sent, which is after its start post was tried."""
        return self._lost_posts.pop(str(run_id), False) is None

    def _lost_in_flight(self, count: int) -> None:
        """Counts spans of the batch being sent as lost, unless give_up() already has."""
        with self._changed:
            counted = self._given_up
            self._in_flight -= count
        if not counted:
            self._dropped(count)

    def _dropped(self, count: int) -> None:
        if self._on_dropped is not None:
            self._on_dropped(count)

    def give_up(self) -> int:
        """The stop cannot wait longer: the spans still queued or being sent are lost now, counted once (a send
        that ends later is not counted again, however it ends); returns how many."""
        with self._changed:
            if self._given_up:
                return 0
            self._given_up = True
            lost = sum(ends_span for _, ends_span in self._queue) + self._in_flight
            unsent = len(self._queue)
            self._failures += bool(unsent or self._in_flight)  # a flush after this says not everything arrived
            self._queue.clear()
            self._stopped = True
            self._settled += unsent
            self._changed.notify_all()
        self._dropped(lost)
        return lost

    def _failed(self, error: Exception) -> None:
        """The client's tracing_error_callback: a batch did not reach LangSmith (the client logged why)."""
        with self._changed:
            self._failures += 1
            self._failed_sends += 1

    def _failed_internally(self, what: str) -> None:
        with self._changed:
            self._failures += 1
            first = what not in self._warned
            self._warned.add(what)
        if first:
            _log.exception("turntrace: %s (logged once)", what)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _log.warning("turntrace: %s (logged once)", message)
