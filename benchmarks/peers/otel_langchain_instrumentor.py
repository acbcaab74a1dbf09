"""OpenTelemetry's own LangChain instrumentation (opentelemetry-instrumentation-genai-langchain, beta): its
LangChainInstrumentor adds a callback handler to every LangChain callback manager and wraps chat-model generation,
tool and runnable calls and LangGraph's Pregel.stream process-wide, so it is instrumented at the start of each of
its blocks and uninstrumented at the end."""

from __future__ import annotations

from typing import Any

from benchmarks.overhead.subject import ProviderSubject, SubjectUnavailable


class OtelLangChain(ProviderSubject):
    name = "otel-langchain"
    description = "opentelemetry-instrumentation-genai-langchain (OpenTelemetry contrib); BatchSpanProcessor"

    def open(self) -> None:
        try:
            from opentelemetry.instrumentation.genai.langchain import (  # pyright: ignore[reportMissingTypeStubs]  # untyped peer
                LangChainInstrumentor,
            )
        except ImportError:
            raise SubjectUnavailable(
                "opentelemetry-instrumentation-genai-langchain is not installed: pip install -e '.[bench]'"
            ) from None
        super().open()
        self._instrumentor: Any = LangChainInstrumentor()

    def start(self) -> None:
        self._instrumentor.instrument(tracer_provider=self._provider)

    def stop(self) -> None:
        self._instrumentor.uninstrument()
