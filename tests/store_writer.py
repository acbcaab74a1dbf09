"""A writer process for the store's concurrency test: real agent runs into one shared store file."""

from __future__ import annotations

import logging
from pathlib import Path

from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.store import SqliteSpanExporter
from tests.agents import three_turn_agent


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def write_runs(path: Path, writer: int, runs: int) -> list[str]:
    """``runs`` three-turn runs in sessions ``w{writer}-{n}``; returns what our logger said (nothing, if all
    went well)."""
    collect = _Collect()
    logger = logging.getLogger("langchain_turntrace")
    logger.addHandler(collect)
    # Small, frequent batches: many short write transactions from every process, interleaved.
    exporter = SqliteSpanExporter(path)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1, max_export_batch_size=4))
    handler = TurnTraceCallbackHandler(tracer_provider=provider, user_id=f"writer-{writer}")
    agent = three_turn_agent()
    for n in range(runs):
        agent.invoke(
            {"messages": [HumanMessage("hi")]},
            config={"callbacks": [handler], "metadata": {"session_id": f"w{writer}-{n}"}},
        )
    if not provider.force_flush(timeout_millis=30_000):
        collect.messages.append("force_flush timed out")
    provider.shutdown()
    logger.removeHandler(collect)
    return collect.messages
