"""Two services of the outside world on 127.0.0.1: a model provider speaking OpenAI's Chat Completions wire format,
and a downstream forecast service that continues the caller's trace from its ``traceparent`` header."""

from __future__ import annotations

import http.server
import json
import threading
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Tracer

FORECAST_TOOL = "forecast"


class LoopbackServices:
    """``POST /v1/chat/completions`` asks for one ``forecast`` tool call until the conversation holds a tool result,
    then answers; ``GET /forecast?city=`` extracts the request's trace context and records a SERVER span with
    ``tracer``, ended before the response is written (so the client never sees an answer whose span is missing).

    >>> with LoopbackServices(tracer) as services:  # doctest: +SKIP
    ...     ChatOpenAI(base_url=f"{services.url}/v1", api_key="test")
    """

    def __init__(self, tracer: Tracer) -> None:
        self.chat_requests: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                outer.chat_requests.append(request)
                self._answer(_completion(request, len(outer.chat_requests)))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                city = parse_qs(url.query).get("city", ["?"])[0]
                parent = propagate.extract(dict(self.headers.items()))
                with tracer.start_as_current_span(f"GET {url.path}", context=parent, kind=SpanKind.SERVER):
                    body = {"city": city, "temp_c": 21}
                self._answer(body)

            def _answer(self, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> LoopbackServices:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _completion(request: dict[str, Any], number: int) -> dict[str, Any]:
    """A Chat Completions response: a tool call first, the answer once a tool result came back."""
    answered = any(message.get("role") == "tool" for message in request.get("messages", []))
    if answered:
        message: dict[str, Any] = {"role": "assistant", "content": "Sunny in Paris."}
        finish_reason = "stop"
    else:
        function = {"name": FORECAST_TOOL, "arguments": json.dumps({"city": "Paris"})}
        call = {"id": "call_forecast", "type": "function", "function": function}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish_reason = "tool_calls"
    return {
        "id": f"chatcmpl-loopback-{number}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": request.get("model", "gpt-4o-mini"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48},
    }
