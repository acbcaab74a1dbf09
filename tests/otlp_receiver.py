"""An OTLP/HTTP receiver on 127.0.0.1 that decodes what it gets (traces, and metrics on /v1/metrics): a collector
that is healthy, failing or slow."""

from __future__ import annotations

import gzip
import http.server
import socket
import threading
from collections import Counter
from contextlib import closing
from types import TracebackType

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric


class OtlpReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1 that decodes what it is sent: it answers 500 to the first
    ``fail_first`` requests, then 200 after ``delay_s``. ``spans`` counts the spans of accepted requests (on
    receipt), ``sessions`` them by ``session.id``, ``rejected`` the spans it answered 500 to. Metrics (POSTed to
    ``/v1/metrics``) are always taken, at once: ``metrics`` holds every one received, in order, with the name of
    the instrumentation scope that made it.

    >>> with OtlpReceiver(fail_first=3) as receiver:  # doctest: +SKIP
    ...     os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = receiver.url()
    """

    def __init__(self, *, port: int = 0, fail_first: int = 0, delay_s: float = 0.0) -> None:
        self.fail_first = fail_first
        self.delay_s = delay_s
        self.requests = 0
        self.spans = 0
        self.rejected = 0
        self.sessions: Counter[str] = Counter()
        self.metrics: list[tuple[str, Metric]] = []  # (scope name, metric)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/metrics":
                    status = outer._receive_metrics(body)
                else:
                    status = outer._receive(body)
                    if status == 200:
                        outer._stop.wait(outer.delay_s)  # released early when the receiver closes
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return  # the exporter gave up waiting (or its process ended): nothing to answer

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _receive(self, body: bytes) -> int:
        request = ExportTraceServiceRequest.FromString(body)
        received = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
        with self._lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                self.rejected += len(received)
                return 500
            self.spans += len(received)
            for span in received:
                self.sessions.update(a.value.string_value for a in span.attributes if a.key == "session.id")
        return 200

    def _receive_metrics(self, body: bytes) -> int:
        request = ExportMetricsServiceRequest.FromString(body)
        received = [
            (sm.scope.name, m) for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
        ]
        with self._lock:
            self.metrics.extend(received)
        return 200

    def recover(self) -> None:
        """From now on answers 200 at once: the backend is back, or has caught up."""
        with self._lock:
            self.fail_first = 0
        self._stop.set()

    def url(self) -> str:
        """The traces endpoint (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)."""
        return f"{self.base_url()}/v1/traces"

    def base_url(self) -> str:
        """The collector's address (``OTEL_EXPORTER_OTLP_ENDPOINT``: the exporter adds ``/v1/traces``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connections are refused."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
