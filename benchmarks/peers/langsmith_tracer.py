"""LangSmith's LangChainTracer with a real langsmith Client whose HTTP transport answers 200 in process: the
client batches, serialises and "sends" as in production, and no byte leaves the machine."""

from __future__ import annotations

import re
import threading
from typing import Any

import requests
from langchain_core.callbacks import BaseCallbackHandler
from requests.adapters import BaseAdapter

from benchmarks.overhead.subject import Subject, SubjectUnavailable

_POSTED_RUN = re.compile(rb'name="post\.([0-9a-f-]{36})"')
_FLUSH_TIMEOUT_S = 30.0


class AcceptingAdapter(BaseAdapter):
    """A requests transport that answers every request with 200 and ``{}`` and counts the runs posted."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.requests = 0
        self.runs = 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = _bytes(request.body)
        with self._lock:
            self.requests += 1
            self.runs += len(set(_POSTED_RUN.findall(body)))
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response._content = b"{}"  # pyright: ignore[reportPrivateUsage]  # requests has no public setter for a body
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        return


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):  # a large multipart body arrives as a stream
        return bytes(body.read())
    return b"".join(bytes(chunk) for chunk in body)


class LangSmithTracer(Subject):
    name = "langsmith"
    description = "langchain_core LangChainTracer, real langsmith Client, HTTP answered in process"
    unit = "runs"

    def open(self) -> None:
        try:
            from langchain_core.tracers.langchain import LangChainTracer
            from langsmith import Client
        except ImportError as error:  # langsmith is our own dependency; this would be a broken install
            raise SubjectUnavailable(f"{error}; pip install -e '.[bench]'") from None
        self._client = Client(
            api_url="http://127.0.0.1:9",  # the discard port on loopback, and never reached: the adapter answers
            api_key="lsv2_bench_not_a_key",
            tracing_mode="langsmith",
            info={},  # the server's info answer, so the client asks for nothing before its first batch
        )
        # The client mounts its own transport on its session; ours replaces it, below the client's own logic.
        self._adapter = AcceptingAdapter()
        self._client.session.mount("http://", self._adapter)
        self._client.session.mount("https://", self._adapter)
        self._tracer_class = LangChainTracer

    def callbacks(self) -> list[BaseCallbackHandler]:
        # A new tracer per run over one shared client, as LangChain's own LANGSMITH_TRACING=true builds it per
        # invocation. (One tracer reused for every run keeps an order_map entry per LangSmith run for good in
        # langchain-core 1.8: a leak that usage would add, not one the env-var way has.)
        return [self._tracer_class(client=self._client, project_name="turntrace-bench")]

    def flush(self) -> None:
        self._client.flush(timeout=_FLUSH_TIMEOUT_S)

    def produced(self) -> int:
        return self._adapter.runs

    def close(self) -> None:
        self.flush()
