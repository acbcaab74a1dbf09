"""Callback events recorded as they arrive and turned into spans in batches: at the end of each agent run, and
otherwise once the oldest has waited ``MAX_DELAY_S`` (a daemon thread looks) or ``MAX_PENDING`` are held.

Why: between two callbacks of a run, LangGraph runs enough code to push ours out of the CPU caches, so handling
each event as it arrives costs several times what handling the same events in one go costs (benchmarks/README.md
has the figures). The spans are the same: each event is replayed with the time it happened (``set_event_time``)
and the context it was called in (captured by the handler when it records it).
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from langchain_turntrace.turns import set_event_time

MAX_DELAY_S: Final = 1.0
"""An event waits about this long at most: a long tool call does not hide the spans that ended before it."""
MAX_PENDING: Final = 1024
"""Events held at most before they are processed, whatever the time: bounds the memory they keep alive."""

_Event = tuple[Callable[..., None], int, tuple[Any, ...]]  # what processes it, when it happened, its arguments


class EventQueue:
    """The handler's events, in arrival order across threads. ``deferred=False`` processes each one at once (a
    budget that raises must stop the run inside the callback that crossed it)."""

    def __init__(self, *, deferred: bool, at_exit: Callable[[], object] | None = None) -> None:
        """``at_exit``: a bound method (held weakly) called at exit instead of ``drain``, e.g. one that also
        flushes the exporters, which may only have come into being while draining."""
        self.deferred = deferred
        self._at_exit = None if at_exit is None else weakref.WeakMethod(at_exit)
        self._events: deque[_Event] = deque()  # appended from any thread; emptied under _lock only
        self._oldest_ns = 0
        self._lock = threading.RLock()  # reentrant: a budget callback of the user's may itself call an agent

    def add(self, process: Callable[..., None], *args: Any, ends_run: bool = False) -> None:
        """Records an event. Everything recorded so far is processed when it ``ends_run`` (an agent run's spans
        are then complete), when the oldest event has waited long enough, or when too many are held."""
        if not self.deferred:
            process(*args)
            return
        now_ns = time.time_ns()
        if not self._events:
            self._oldest_ns = now_ns
            _watch_for_stragglers(self)
        self._events.append((process, now_ns, args))
        if ends_run or len(self._events) >= MAX_PENDING or self._late(now_ns):
            self.drain()

    def drain_if_late(self, now_ns: int) -> None:
        if self._events and self._late(now_ns):
            self.drain()

    def _late(self, now_ns: int) -> bool:
        return now_ns - self._oldest_ns >= MAX_DELAY_S * 1e9

    def drain(self) -> None:
        """Processes every recorded event, in order, each at the time it happened."""
        with self._lock:
            events = self._events
            try:
                while events:
                    process, at_ns, args = events.popleft()
                    set_event_time(at_ns)
                    process(*args)
            finally:
                set_event_time(None)

    def exit(self) -> None:
        at_exit = None if self._at_exit is None else self._at_exit()
        if at_exit is None:
            self.drain()
        else:
            at_exit()


_pending: weakref.WeakSet[EventQueue] = weakref.WeakSet()  # every queue that has held events
_hook_lock = threading.Lock()
_watcher: threading.Thread | None = None


def _watch_for_stragglers(queue: EventQueue) -> None:
    """Called when a queue goes from empty to holding events: the watcher and the exit hook will see it."""
    global _watcher  # one watcher per process, started on demand (again after a fork)
    if queue in _pending and _watcher is not None and _watcher.is_alive():
        return
    with _hook_lock:
        if not _pending:
            _register_exit_hook_last()
        _pending.add(queue)
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(target=_watch, name="turntrace-events", daemon=True)
            _watcher.start()


def _watch() -> None:
    while True:
        time.sleep(MAX_DELAY_S / 4)
        now_ns = time.time_ns()
        for queue in list(_pending):
            queue.drain_if_late(now_ns)


def _drain_all() -> None:
    for queue in list(_pending):
        queue.exit()


def drain_before_exporters_shut_down() -> None:
    """At exit, pending events must become spans before the exporters shut down: exit hooks run last-registered
    first, so this moves ours after any registered so far (call it once the tracer provider exists)."""
    with _hook_lock:
        _register_exit_hook_last()


def _register_exit_hook_last() -> None:
    atexit.unregister(_drain_all)
    atexit.register(_drain_all)
