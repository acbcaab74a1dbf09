"""OpenInference's LangChainInstrumentor (Arize): patches LangChain's callback manager process-wide, so it is
instrumented at the start of each of its blocks and uninstrumented at the end."""

from __future__ import annotations

from typing import Any

from benchmarks.overhead.subject import ProviderSubject, SubjectUnavailable


class OpenInference(ProviderSubject):
    name = "openinference"
    description = "openinference-instrumentation-langchain; BatchSpanProcessor"

    def open(self) -> None:
        try:
            from openinference.instrumentation.langchain import (  # pyright: ignore[reportMissingTypeStubs]  # untyped peer
                LangChainInstrumentor,
            )
        except ImportError:
            raise SubjectUnavailable(
                "openinference-instrumentation-langchain is not installed: pip install -e '.[bench]'"
            ) from None
        super().open()
        self._instrumentor: Any = LangChainInstrumentor()

    def start(self) -> None:
        self._instrumentor.instrument(tracer_provider=self._provider)

    def stop(self) -> None:
        self._instrumentor.uninstrument()
