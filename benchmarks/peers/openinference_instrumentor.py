"""OpenInference's LangChainInstrumentor (Arize): patches LangChain's callback manager process-wide."""

from __future__ import annotations

from benchmarks.overhead.subject import InstrumentorSubject


class OpenInference(InstrumentorSubject):
    name = "openinference"
    description = "openinference-instrumentation-langchain; BatchSpanProcessor"
    module = "openinference.instrumentation.langchain"
    package = "openinference-instrumentation-langchain"
