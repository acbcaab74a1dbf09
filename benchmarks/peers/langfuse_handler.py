"""Langfuse's langchain CallbackHandler over a real Langfuse client whose span exporter is a counting sink and
whose HTTP client answers in process: its own TracerProvider, never the global one."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from benchmarks.overhead.subject import CountingSpanExporter, Subject, SubjectUnavailable

_PUBLIC_KEY = "pk-lf-bench"


class LangfuseHandler(Subject):
    name = "langfuse"
    description = "langfuse.langchain.CallbackHandler; Langfuse's BatchSpanProcessor, exporter swapped"

    def open(self) -> None:
        try:
            import httpx
            from langfuse import Langfuse
            from langfuse.langchain import CallbackHandler
        except ImportError:
            raise SubjectUnavailable("langfuse is not installed: pip install -e '.[bench]'") from None
        from opentelemetry.sdk.trace import TracerProvider

        self._exporter = CountingSpanExporter()
        self._provider = TracerProvider()
        self._client: Any = Langfuse(
            public_key=_PUBLIC_KEY,
            secret_key="sk-lf-bench-not-a-key",
            base_url="https://langfuse.bench.invalid",  # never resolved: the httpx transport answers
            httpx_client=httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json={}))),
            tracer_provider=self._provider,
            span_exporter=self._exporter,
        )
        self._handler: BaseCallbackHandler = CallbackHandler(public_key=_PUBLIC_KEY)

    def callbacks(self) -> list[BaseCallbackHandler]:
        return [self._handler]

    def flush(self) -> None:
        self._client.flush()

    def produced(self) -> int:
        return self._exporter.spans

    def close(self) -> None:
        self._client.shutdown()
