"""Runs cut short (cancelled, abandoned stream) still leave a closed trace, marked incomplete, not ERROR."""

from __future__ import annotations

import asyncio
import contextlib

from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import create_agent, three_turn_agent
from tests.spans import Spans, tree_text

INPUT = {"messages": [HumanMessage("go")]}


@tool
async def slow_search(query: str) -> str:
    """A search that takes far too long."""
    await asyncio.sleep(30)
    return "never"


async def test_cancelled_ainvoke_closes_everything_as_incomplete(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    model = ScriptedChatModel(script=[tool_calls_message(("slow_search", {"query": "q"}, "c1")), answer_message("x")])
    task = asyncio.ensure_future(create_agent(model, [slow_search]).ainvoke(INPUT, config={"callbacks": [handler]}))
    while not spans.named("chat"):  # wait until the tool is running
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    assert spans.tree() == tree_text(
        "invoke_agent agent", "  turn 1", "    chat gpt-4o-mini", "    execute_tool slow_search"
    )
    tool_span, root = spans.one("execute_tool slow_search"), spans.roots()[0]
    assert spans.attrs(tool_span)["turntrace.incomplete"] is True
    assert spans.attrs(root)["turntrace.incomplete"] is True
    assert all(s.status.status_code is StatusCode.UNSET for s in spans.all())
    assert handler.open_runs == 0


def test_abandoned_stream_closes_the_trace(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    stream = three_turn_agent().stream(INPUT, config={"callbacks": [handler]}, stream_mode="updates")
    next(stream)  # the consumer reads the first update (turn 1's model call), then walks away
    stream.close()

    root = spans.roots()[0]
    assert root.name == "invoke_agent agent"
    assert spans.attrs(root)["turntrace.incomplete"] is True
    assert root.status.status_code is StatusCode.UNSET
    assert handler.open_runs == 0
