"""Delivering what finished runs traced when the process stops: at interpreter exit, and on SIGTERM.

A SIGTERM left to its default disposition kills the process without running exit hooks: ``docker stop``,
Kubernetes, and uvicorn (so ``langgraph dev``), which shuts down gracefully on SIGTERM and then re-raises the
signal with the handler it found at start. So, when SIGTERM still has its default disposition, a handler of ours
runs the exit hooks (each bounded by the flush timeout) and then re-raises SIGTERM with the default disposition:
the process ends exactly as it would have, exit status included. An app that handles SIGTERM itself keeps its
handler; its own way out (``sys.exit``, say) runs the exit hooks."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

_log = logging.getLogger("langchain_turntrace")

_lock = threading.RLock()  # re-entrant: SIGTERM may arrive in the main thread while it registers a hook
_hooks: list[Callable[[], object]] = []
_atexit_registered = False
_sigterm_installed = False


def on_stop(hook: Callable[[], object]) -> None:
    """Runs ``hook`` once when the process stops: at exit, or on a SIGTERM that would kill it."""
    global _atexit_registered
    with _lock:
        _hooks.append(hook)
        if not _atexit_registered:
            atexit.register(run_stop_hooks)
            _atexit_registered = True
    install_sigterm_flush()


def run_stop_hooks() -> None:
    """Runs every hook not run yet, in registration order; a hook that fails does not stop the others."""
    with _lock:
        hooks = list(_hooks)
        _hooks.clear()
    for hook in hooks:
        try:
            hook()
        except Exception:  # noqa: BLE001  # stopping: nothing left to protect but the stop itself
            _log.debug("turntrace: an exit hook failed", exc_info=True)


def install_sigterm_flush() -> bool:
    """Takes SIGTERM while it has its default disposition; only the main thread can (Python's rule), so zero-code
    tracing calls this at interpreter start, before a server installs handlers of its own. True once ours."""
    global _sigterm_installed
    with _lock:
        if _sigterm_installed:
            return True
        if threading.current_thread() is not threading.main_thread():
            return False
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return False  # the app handles SIGTERM: its way out runs the exit hooks
        signal.signal(signal.SIGTERM, _on_sigterm)
        _sigterm_installed = True
        return True


class _ForkMark:
    """What multiprocessing's after-fork registry holds weakly while our hooks wait to be registered in a child."""


_FORK_MARK = _ForkMark()


def _after_fork_in_child() -> None:
    """A child of ``fork`` inherits the hooks. A multiprocessing child ends with ``os._exit``, which skips exit
    hooks; multiprocessing runs its own finalizers first, so the hooks go there too (registered from its own
    after-fork step: it clears the finalizers it inherited after this runs)."""
    global _lock
    _lock = threading.RLock()  # it may have been held by a thread that did not come along
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.register_after_fork(_FORK_MARK, _finalize_in_child)


def _finalize_in_child(mark: _ForkMark) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, run_stop_hooks, exitpriority=0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    run_stop_hooks()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)  # ends the process as the default disposition would have
