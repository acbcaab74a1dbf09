"""One MeterProvider per OTLP metrics endpoint per process, exported periodically and flushed at exit in a bound."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from opentelemetry import metrics

from langchain_turntrace.backends._exit import on_stop
from langchain_turntrace.backends._pipeline import run_within

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider

_log = logging.getLogger("langchain_turntrace")
_providers: dict[str, metrics.MeterProvider] = {}
_lock = threading.Lock()

# A provider is shared only by configurations that send to the same place.
_PLACE_VARS = ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def meter_provider_for(backend: str, *, flush_timeout_s: float = 5.0) -> metrics.MeterProvider | None:
    """The MeterProvider ``configure(backend)`` hands its handler: for ``otlp``, OTLP/HTTP metrics (the standard
    ``OTEL_EXPORTER_OTLP_*`` variables; ``OTEL_METRIC_EXPORT_INTERVAL``, default 60 s), built once per endpoint;
    for ``none``, the API's no-op (metrics off). None otherwise, and with ``OTEL_METRICS_EXPORTER=none``: the
    handler then follows the app's global MeterProvider, if it sets one.

    >>> provider = meter_provider_for("otlp")  # doctest: +SKIP
    """
    if backend == "none":
        return metrics.NoOpMeterProvider()
    if backend != "otlp" or os.environ.get("OTEL_METRICS_EXPORTER", "").strip().lower() == "none":
        return None
    place = "\n".join(os.environ.get(name, "") for name in _PLACE_VARS)
    with _lock:
        provider = _providers.get(place)
        if provider is None:
            provider = _providers[place] = _otlp_provider(flush_timeout_s)
        return provider


def flush_meters_within(provider: object, timeout_s: float) -> bool:
    """Exports what ``provider`` holds now, waiting at most ``timeout_s``; True if it all went out in time."""
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is None:  # the API's proxy or no-op provider: nothing is held
        return True
    if timeout_s <= 0:
        return False
    outcome: list[bool] = []

    def flush() -> None:
        try:
            outcome.append(bool(force_flush(timeout_millis=timeout_s * 1000)))
        except Exception:  # noqa: BLE001  # the SDK raises when a reader times out: that is a False here
            _log.debug("turntrace: flushing metrics failed", exc_info=True)

    return run_within(flush, timeout_s) and outcome == [True]


def _otlp_provider(flush_timeout_s: float) -> MeterProvider:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    # The SDK's own exit hook would wait as long as the exporter retries; ours gives it flush_timeout_s.
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create(), shutdown_on_exit=False)
    on_stop(lambda: _shutdown_within(provider, flush_timeout_s), timeout_s=flush_timeout_s)
    return provider


def _shutdown_within(provider: MeterProvider, timeout_s: float) -> bool:
    """Exports what the provider holds and shuts it down, giving up after ``timeout_s``."""
    if run_within(lambda: provider.shutdown(timeout_millis=timeout_s * 1000), timeout_s):
        return True
    _log.warning(
        "turntrace: the metrics backend did not finish within %.1f s of stopping; metrics not yet sent are lost. "
        "Check that OTEL_EXPORTER_OTLP_ENDPOINT is reachable, or raise TURNTRACE_FLUSH_TIMEOUT_S.",
        timeout_s,
    )
    return False
