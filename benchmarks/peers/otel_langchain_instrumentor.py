"""OpenTelemetry's own LangChain instrumentation (opentelemetry-instrumentation-genai-langchain, beta): its
LangChainInstrumentor adds a callback handler to every LangChain callback manager and wraps chat-model generation,
tool and runnable calls and LangGraph's Pregel.stream process-wide."""

from __future__ import annotations

from benchmarks.overhead.subject import InstrumentorSubject


class OtelLangChain(InstrumentorSubject):
    name = "otel-langchain"
    description = "opentelemetry-instrumentation-genai-langchain (OpenTelemetry contrib); BatchSpanProcessor"
    module = "opentelemetry.instrumentation.genai.langchain"
    package = "opentelemetry-instrumentation-genai-langchain"
