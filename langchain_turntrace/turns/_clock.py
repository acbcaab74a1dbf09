"""The turn model's clock: the time now, or, while the handler replays recorded events, when each one happened."""

from __future__ import annotations

import threading
import time

_replayed = threading.local()  # per thread: two handlers may replay on two threads at once


def now_ns() -> int:
    ns: int | None = getattr(_replayed, "ns", None)
    return time.time_ns() if ns is None else ns


def set_event_time(ns: int | None) -> None:
    """From now on (on this thread) ``now_ns()`` is ``ns``, the recorded time of the event being replayed;
    None gives the real clock back."""
    _replayed.ns = ns
