"""Delivering what finished runs traced when the process stops: at interpreter exit, and on SIGTERM.

A SIGTERM left to its default disposition kills the process without running exit hooks: ``docker stop``,
Kubernetes, and uvicorn (so ``langgraph dev``), which shuts down gracefully on SIGTERM and then re-raises the
signal with the handler it found at start. So, when SIGTERM still has its default disposition, a handler of ours
runs the stop hooks (all at once, within one flush timeout) and then re-raises SIGTERM with the default
disposition: the process ends exactly as it would have, exit status included. An app that handles SIGTERM itself
keeps its handler; its own way out (``sys.exit``, say) runs the stop hooks. An app that installs its handler after
ours and calls ours from it (the previous handler) decides how the process ends: ours then only runs the hooks."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Final

_log = logging.getLogger("langchain_turntrace")

GIVE_UP_S: Final = 1.0
"""What a stop gives its hooks beyond their flush timeout: to count what is lost, stop exporters and say so."""

_lock = threading.RLock()  # re-entrant: SIGTERM may arrive in the main thread while it registers a hook
_hooks: list[tuple[Callable[[], object], float]] = []  # (hook, its flush timeout in seconds)
_atexit_registered = False
_sigterm_installed = False


def on_stop(hook: Callable[[], object], *, timeout_s: float) -> None:
    """Runs ``hook`` once when the process stops: at exit, or on a SIGTERM that would kill it. ``hook`` bounds
    itself by ``timeout_s`` (its flush timeout), and gives up within ``GIVE_UP_S`` more."""
    global _atexit_registered
    with _lock:
        _hooks.append((hook, timeout_s))
        if not _atexit_registered:
            atexit.register(run_stop_hooks)
            _atexit_registered = True
    install_sigterm_flush()


def run_stop_hooks() -> None:
    """Runs every hook not run yet, all at once, and waits for them until one deadline (the longest flush
    timeout, plus ``GIVE_UP_S``): a stop with traces and metrics to a hung collector takes one flush timeout, not
    one each (docker's grace period is 10 s). A hook that fails does not stop the others; one still running at the
    deadline is left behind on its daemon thread."""
    with _lock:
        hooks = list(_hooks)
        _hooks.clear()
    if not hooks:
        return
    deadline = time.monotonic() + max(timeout_s for _, timeout_s in hooks) + GIVE_UP_S
    workers = [
        threading.Thread(target=_run_hook, args=(hook,), name="turntrace-stop", daemon=True) for hook, _ in hooks
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(deadline - time.monotonic(), 0.0))


def _run_hook(hook: Callable[[], object]) -> None:
    try:
        hook()
    except Exception:  # noqa: BLE001  # stopping: nothing left to protect but the stop itself
        _log.debug("turntrace: a stop hook failed", exc_info=True)


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
    if signal.getsignal(signum) is not _on_sigterm:  # an app's handler, installed after ours, called us first
        run_stop_hooks()
        return  # its handler goes on and decides how the process ends
    try:
        run_stop_hooks()
    finally:  # even when interrupted (Ctrl-C while it flushes): SIGTERM still ends the process
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)  # ends the process as the default disposition would have
