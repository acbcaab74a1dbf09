"""A loopback HTTP server (127.0.0.1, a free port) that hands each request to a provider's responder and keeps
what it answered, so a test can price the very response the client read.

Streamed replies go out with chunked transfer encoding, one chunk per event, flushed as written, so the client
reads the first event before the last is sent (time to first chunk is real)."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lowercase names
    body: Any  # parsed JSON, or None

    @property
    def bytes_sent(self) -> int:
        return len(json.dumps(self.body)) if self.body is not None else 0


@dataclass(frozen=True)
class WireReply:
    """``body``: bytes for a whole response, or an iterable of byte chunks for a stream. ``priced``: the response
    as one JSON document, the form genai-prices extracts usage from (for a stream, the same response unstreamed);
    None for replies that carry no usage (errors)."""

    status: int
    body: bytes | Iterable[bytes]
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=lambda: dict[str, str]())
    priced: Mapping[str, Any] | None = None
    chunk_delay_s: float = 0.0

    @staticmethod
    def json(document: Mapping[str, Any], *, status: int = 200, priced: bool = True, **headers: str) -> WireReply:
        return WireReply(status, json.dumps(document).encode(), headers=headers, priced=document if priced else None)


Responder = Callable[[WireRequest], WireReply]

# Headers on a ``fail_next`` error: retry at once. The Stainless SDKs (openai, anthropic) read ``retry-after-ms``
# first; a ``retry-after`` of 0 alone sends them to their exponential backoff (0.5 s, 1 s, ...).
RETRY_NOW: Mapping[str, str] = {"retry-after": "0", "retry-after-ms": "1"}


class WireServer:
    """``with WireServer(responder) as server:`` then point the client at ``server.url``.

    ``fail_next(status, times)`` answers the next ``times`` requests with that HTTP error instead (a provider outage,
    a rate limit), in the responder's own error shape when it gives one through ``error_body``."""

    def __init__(self, responder: Responder, *, error_body: Callable[[int], Mapping[str, Any]] | None = None) -> None:
        self.requests: list[WireRequest] = []
        self.replies: list[WireReply] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                request = WireRequest(
                    self.command,
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                with outer._lock:
                    failure = outer._failures.pop(0) if outer._failures else None
                if failure is not None:
                    body = error_body(failure) if error_body else {"error": {"message": f"HTTP {failure}"}}
                    reply = WireReply.json(body, status=failure, priced=False, **RETRY_NOW)
                else:
                    reply = responder(request)
                with outer._lock:
                    outer.requests.append(request)
                    outer.replies.append(reply)
                self._write(reply)

            def _write(self, reply: WireReply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if isinstance(reply.body, bytes):
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply.body:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        if reply.chunk_delay_s:
                            time.sleep(reply.chunk_delay_s)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # serve_forever polls for shutdown every poll_interval: 0.5 s by default, half a second per test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def fail_next(self, status: int, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    @property
    def priced(self) -> list[Mapping[str, Any]]:
        """The responses that carried usage, in the order they were sent."""
        with self._lock:
            return [reply.priced for reply in self.replies if reply.priced is not None]

    def __enter__(self) -> WireServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _QuietServer(http.server.ThreadingHTTPServer):
    """A client that read all it wanted (a stream up to ``[DONE]``) may drop its keep-alive connection: not an
    error worth a traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def sse(events: Iterable[tuple[str | None, Mapping[str, Any] | str]]) -> list[bytes]:
    """Server-sent events, one chunk each: ``(event name or None, data)``; data is JSON unless already a string."""
    chunks: list[bytes] = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {name}\n" if name else ""
        chunks.append(f"{head}data: {text}\n\n".encode())
    return chunks


class OutageAfter:
    """Wraps a responder: after ``answered`` priced replies, the next ``times`` requests fail with ``status`` (the
    final answer's request failing on every try, say, when ``answered`` is the number of tool-calling steps)."""

    def __init__(self, inner: Responder, *, answered: int, status: int, times: int) -> None:
        self.inner = inner
        self.answered = answered
        self.status = status
        self.times = times
        self.server: WireServer | None = None

    def __call__(self, request: WireRequest) -> WireReply:
        reply = self.inner(request)
        assert self.server is not None, "set outage.server to the WireServer serving it"
        if len(self.server.priced) + 1 == self.answered:  # this reply is the last one answered
            self.server.fail_next(self.status, self.times)
        return reply
