"""The peers turntrace is measured against, each with its network write replaced by an in-process sink."""

from __future__ import annotations

from benchmarks.overhead.subject import Subject
from benchmarks.peers.langfuse_handler import LangfuseHandler
from benchmarks.peers.langsmith_tracer import LangSmithTracer
from benchmarks.peers.openinference_instrumentor import OpenInference
from benchmarks.peers.openllmetry_instrumentor import OpenLLMetry
from benchmarks.peers.otel_langchain_instrumentor import OtelLangChain

PEERS: list[type[Subject]] = [LangSmithTracer, OpenInference, OpenLLMetry, LangfuseHandler, OtelLangChain]

__all__ = ["PEERS"]
