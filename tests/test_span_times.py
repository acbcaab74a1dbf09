"""Span times and delivery: each span has the time of its own events, spans that ended are exported while a long
tool call is still running, and spans that ended before the program exits reach the store."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.store import SpanStore
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import create_agent
from tests.fresh_python import run_python
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("go")]}
NAP_S = 0.05


@tool
def nap(seconds: float) -> str:
    """Sleeps a little."""
    time.sleep(seconds)
    return "rested"


def test_spans_carry_the_time_each_event_happened(provider: TracerProvider, spans: Spans) -> None:
    model = ScriptedChatModel(script=[tool_calls_message(("nap", {"seconds": NAP_S}, "c1")), answer_message("ok")])
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    create_agent(model, [nap]).invoke(INPUT, config={"callbacks": [handler]})

    tool_span, root = spans.one("execute_tool nap"), spans.roots()[0]
    assert tool_span.start_time is not None
    assert tool_span.end_time is not None
    assert root.start_time is not None
    assert root.end_time is not None
    assert tool_span.end_time - tool_span.start_time >= NAP_S * 1e9  # the nap itself
    assert spans.attrs(tool_span)["turntrace.latency_ms"] >= NAP_S * 1e3
    turn2 = spans.one("turn 2")
    assert turn2.start_time is not None
    assert root.start_time < tool_span.start_time < tool_span.end_time <= turn2.start_time <= root.end_time


def test_spans_that_ended_show_while_a_long_tool_call_runs(provider: TracerProvider, spans: Spans) -> None:
    release = threading.Event()

    @tool
    def wait_for_release(reason: str) -> str:
        """Blocks until the test lets it go."""
        release.wait(30)
        return "released"

    model = ScriptedChatModel(
        script=[tool_calls_message(("wait_for_release", {"reason": "r"}, "c1")), answer_message("x")]
    )
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    agent = create_agent(model, [wait_for_release])
    runner = threading.Thread(target=agent.invoke, args=(INPUT,), kwargs={"config": {"callbacks": [handler]}})
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not spans.named("chat") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [s.name for s in spans.named("chat")] == ["chat gpt-4o-mini"], "turn 1's model call never showed"
        assert runner.is_alive()  # still inside the tool call: its spans came before the run ended
    finally:
        release.set()
        runner.join(30)
    assert len(spans.roots()) == 1


def test_spans_ended_before_exit_reach_the_store(tmp_path: Path) -> None:
    store = tmp_path / "exit.db"
    body = """
        from uuid import uuid4
        from langchain_core.messages import HumanMessage
        from langchain_core.outputs import ChatGeneration, LLMResult
        from langchain_turntrace import TurnTraceCallbackHandler
        from langchain_turntrace.testing import answer_message

        handler = TurnTraceCallbackHandler()  # the local store: TURNTRACE_STORE
        root, call = uuid4(), uuid4()
        handler.on_chain_start({}, {}, run_id=root, name="exiting_agent")
        handler.on_chat_model_start({}, [[HumanMessage("hi")]], run_id=call, parent_run_id=root)
        response = LLMResult(generations=[[ChatGeneration(message=answer_message("hi"))]])
        handler.on_llm_end(response, run_id=call, parent_run_id=root)
        # exits with its run still open: what ended must still reach the store
    """
    result = run_python(body, {"TURNTRACE_STORE": str(store)}, timeout_s=60)
    assert result.returncode == 0, result.stderr
    with SpanStore.open(store, create=False) as opened:
        assert opened.spans_count() >= 2  # the model call and its turn, which ended before the exit
