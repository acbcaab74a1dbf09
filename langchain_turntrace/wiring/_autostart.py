"""Imported at interpreter start by ``langchain_turntrace_autostart.pth`` when ``TURNTRACE_TRACING`` is set."""

from __future__ import annotations

import os
import sys

from langchain_turntrace import env
from langchain_turntrace.backends import install_sigterm_flush
from langchain_turntrace.config import ConfigError, tracing_enabled
from langchain_turntrace.handler import TurnTraceCallbackHandler
from langchain_turntrace.wiring._configure import configure
from langchain_turntrace.wiring._hook import trace_every_run


def start() -> None:
    """Bad settings must not stop the app from starting: they are said once on stderr and tracing stays off."""
    try:
        if not tracing_enabled():
            return
        # The local store's pipeline is built at the first run, maybe on a worker thread; SIGTERM can only be
        # taken here, on the main thread, before a server (uvicorn) captures it and later re-raises it.
        install_sigterm_flush()
        # No TURNTRACE_BACKEND: the app's own global tracer provider once it sets one, else the local store.
        handler = configure() if os.environ.get(env.TURNTRACE_BACKEND) else TurnTraceCallbackHandler()
        trace_every_run(handler)
    except ConfigError as error:
        print(f"turntrace: tracing is off ({env.TURNTRACE_TRACING} is set): {error}", file=sys.stderr)


start()
