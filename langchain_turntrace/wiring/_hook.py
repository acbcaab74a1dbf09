"""Zero-code tracing: one handler joins every LangChain run in the process, through LangChain's configure hook."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import cast

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

from langchain_turntrace.handler import TurnTraceCallbackHandler


class _ProcessWide:
    """What LangChain's hook reads with ``.get()``: one handler for every thread and task of the process.

    A real ContextVar would be unset in threads the app starts itself (a web server's workers), and
    those runs would go untraced; this answers the same everywhere.
    """

    def __init__(self) -> None:
        self.handler: TurnTraceCallbackHandler | None = None

    def get(self) -> TurnTraceCallbackHandler | None:
        return self.handler


_process_wide = _ProcessWide()
_registered = False
_lock = threading.Lock()


def trace_every_run(handler: TurnTraceCallbackHandler | None) -> None:
    """Traces every LangChain / LangGraph run in the process with ``handler`` (``None`` stops it). A run given
    a TurnTraceCallbackHandler explicitly keeps just that one: never two of ours on one run.

    >>> trace_every_run(configure("otlp"))  # doctest: +SKIP  # or set TURNTRACE_TRACING=true
    """
    global _registered
    with _lock:
        if not _registered:
            hook = cast("ContextVar[BaseCallbackHandler | None]", _process_wide)
            register_configure_hook(hook, True, TurnTraceCallbackHandler)
            _registered = True
        _process_wide.handler = handler


def global_handler() -> TurnTraceCallbackHandler | None:
    """The handler tracing every run, if ``trace_every_run`` (or ``TURNTRACE_TRACING``) set one."""
    return _process_wide.handler
