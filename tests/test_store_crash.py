"""A writer killed mid-write (SIGKILL) leaves a store that opens, passes integrity_check and keeps what it committed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.store import SpanStore, SqliteSpanExporter
from tests.agents import three_turn_agent


def write_forever(path: str) -> None:
    provider = TracerProvider()
    # small batches, flushed often: the kill lands in the middle of a write sooner or later
    provider.add_span_processor(
        BatchSpanProcessor(SqliteSpanExporter(Path(path)), schedule_delay_millis=5, max_export_batch_size=7)
    )
    handler = TurnTraceCallbackHandler(tracer_provider=provider, session_id="crash")
    agent = three_turn_agent()
    while True:
        agent.invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})


def test_a_killed_writer_never_corrupts_the_store(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    context = multiprocessing.get_context("spawn")
    writer = context.Process(target=write_forever, args=(str(path),), daemon=True)
    writer.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some runs are on disk
        if path.exists():
            with SpanStore.open(path) as store:
                if store.spans_count() >= 50:
                    break
        time.sleep(0.05)
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)
    writer.join(10)
    assert writer.exitcode == -signal.SIGKILL

    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with SpanStore.open(path) as store:
        kept = store.spans_count()
        assert kept >= 50
        runs = store.runs(None, "crash", None, None, limit=1000)
        assert runs  # complete runs read back as usual
        assert all(r.turns == 3 for r in runs)
    provider = TracerProvider()  # and it takes new writes after the crash
    provider.add_span_processor(BatchSpanProcessor(SqliteSpanExporter(path)))
    three_turn_agent().invoke(
        {"messages": [HumanMessage("hi")]},
        config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]},
    )
    provider.shutdown()
    with SpanStore.open(path) as store:
        assert store.spans_count() == kept + 10
