"""Exporter throughput on this machine: real agent spans, exported in batches (a script, not a test)."""

# python -m benchmarks.store_write [spans] [batch]

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.store import SpanStore, SqliteSpanExporter
from tests.agents import three_turn_agent


def main(total: int = 10_000, batch: int = 512) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    handler = TurnTraceCallbackHandler(tracer_provider=provider, session_id="bench", user_id="u", feature="f")
    agent = three_turn_agent()
    while len(memory.get_finished_spans()) < total:  # ten spans per three-turn run, every attribute a real one
        agent.invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})
    spans = memory.get_finished_spans()[:total]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.db"
        exporter = SqliteSpanExporter(path)
        exporter.export(spans[:1])  # open, migrate and first prune outside the timing
        started = time.perf_counter()
        for offset in range(0, total, batch):
            exporter.export(spans[offset : offset + batch])
        elapsed = time.perf_counter() - started
        exporter.shutdown()
        with SpanStore.open(path) as store:
            count = store.spans_count()
            query_started = time.perf_counter()
            store.runs(limit=50)
            store.cost_by("model")
            store.top_tools("latency")
            query_s = time.perf_counter() - query_started
        size = path.stat().st_size
    print(
        f"{total} spans in batches of {batch}: {elapsed:.3f} s, {total / elapsed:,.0f} spans/s "
        f"({elapsed / -(-total // batch) * 1e3:.1f} ms per batch); stored {count}, file {size / 1e6:.1f} MB; "
        f"runs+cost+top over them: {query_s * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
