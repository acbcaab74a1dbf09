"""How a backend becomes a TracerProvider: OTel resource from the environment, flushed at exit within a bound."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from langchain_turntrace.backends._exit import on_stop

_log = logging.getLogger("langchain_turntrace")


def provider_with(processor: SpanProcessor, *, flush_timeout_s: float) -> TracerProvider:
    """A provider feeding ``processor``; ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` name the resource.

    The SDK's own exit hook waits as long as the exporter does (an OTLP retry loop can take a minute);
    ours gives the backend ``flush_timeout_s`` and then lets the program exit. It runs on SIGTERM too, at the
    same time as the other stop hooks (metrics, other backends).
    """
    provider = TracerProvider(resource=Resource.create(), shutdown_on_exit=False)
    provider.add_span_processor(processor)
    give_up: Callable[[], int] | None = getattr(processor, "give_up", None)  # ours count what a stop loses
    on_stop(lambda: shutdown_within(provider, flush_timeout_s, give_up), timeout_s=flush_timeout_s)
    return provider


def shutdown_within(provider: TracerProvider, timeout_s: float, give_up: Callable[[], int] | None = None) -> bool:
    """Flushes and shuts ``provider`` down, giving up after ``timeout_s``. True if it finished in time.
    ``give_up`` (the processor's, when it has one) counts what is lost then and stops further sending."""
    if run_within(provider.shutdown, timeout_s):
        return True
    lost = "spans not yet sent are" if give_up is None else f"{give_up()} span(s) not yet sent were"
    _log.warning(
        "turntrace: the trace backend did not finish within %.1f s of stopping; %s lost. "
        "Check that the backend is reachable, or raise TURNTRACE_FLUSH_TIMEOUT_S.",
        timeout_s,
        lost,
    )
    return False


def flush_within(provider: object, timeout_s: float) -> bool:
    """Sends pending spans, waiting at most ``timeout_s``; True if everything was exported in time."""
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is None:  # the API's no-op provider: nothing is pending
        return True
    outcome: list[bool] = []
    finished = run_within(lambda: outcome.append(bool(force_flush(int(timeout_s * 1000)))), timeout_s)
    return finished and outcome == [True]


def run_within(work: Callable[[], object], timeout_s: float) -> bool:
    """Runs ``work`` on a daemon thread (an exporter stuck in a retry loop cannot hold the program); True if
    it returned within ``timeout_s``."""
    worker = threading.Thread(target=work, name="turntrace-flush", daemon=True)
    worker.start()
    worker.join(timeout_s)
    return not worker.is_alive()
