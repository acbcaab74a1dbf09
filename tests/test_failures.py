"""Failure paths: a tool that raises, a handled tool error, a model error, an interrupt."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import StructuredTool, ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.verify import check_run
from tests.agents import create_agent, explode, get_weather, state_graph_agent
from tests.spans import Spans, tree_text

INPUT = {"messages": [HumanMessage("go")]}


class ProviderDown(Exception):
    """Stands in for a provider's 5xx."""


def test_tool_that_raises_fails_the_tool_and_the_run(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    model = ScriptedChatModel(script=[tool_calls_message(("explode", {"reason": "disk full"}, "call_x"))])
    graph = state_graph_agent(model, [explode], handle_tool_errors=False)
    with pytest.raises(RuntimeError, match="disk full"):
        graph.invoke(INPUT, config={"callbacks": [handler]})

    assert spans.tree() == tree_text(
        "invoke_agent agent", "  turn 1", "    chat gpt-4o-mini", "    execute_tool explode"
    )
    tool_span = spans.one("execute_tool explode")
    assert tool_span.status.status_code is StatusCode.ERROR
    assert spans.attrs(tool_span)["error.type"] == "RuntimeError"
    root = spans.roots()[0]
    assert root.status.status_code is StatusCode.ERROR
    assert spans.attrs(root)["error.type"] == "RuntimeError"
    assert all("disk full" not in str(v) for s in spans.all() for v in spans.attrs(s).values())
    assert handler.open_runs == 0


def _lookup(key: str) -> str:
    raise ToolException(f"no such key: {key}")


# handle_tool_error: the tool reports a missing key back to the model (ToolMessage status "error") instead of raising
lookup = StructuredTool.from_function(_lookup, name="lookup", description="Looks a key up.", handle_tool_error=True)


def test_handled_tool_error_is_an_error_span_but_the_run_goes_on(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    model = ScriptedChatModel(script=[tool_calls_message(("lookup", {"key": "k"}, "call_x")), answer_message("sorry")])
    create_agent(model, [lookup]).invoke(INPUT, config={"callbacks": [handler]})

    assert spans.tree() == tree_text(
        "invoke_agent agent",
        "  turn 1",
        "    chat gpt-4o-mini",
        "    execute_tool lookup",
        "  turn 2",
        "    chat gpt-4o-mini",
    )
    tool_span = spans.one("execute_tool lookup")
    assert tool_span.status.status_code is StatusCode.ERROR
    assert spans.attrs(tool_span)["error.type"] == "tool_error"
    assert spans.roots()[0].status.status_code is StatusCode.UNSET


def test_model_error_fails_the_call_the_turn_and_the_run(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    model = ScriptedChatModel(script=[tool_calls_message(("get_weather", {"city": "Oslo"}, "c1")), ProviderDown("503")])
    with pytest.raises(ProviderDown):
        create_agent(model, [get_weather]).invoke(INPUT, config={"callbacks": [handler]})

    assert spans.tree() == tree_text(
        "invoke_agent agent",
        "  turn 1",
        "    chat gpt-4o-mini",
        "    execute_tool get_weather",
        "  turn 2",
        "    chat gpt-4o-mini",
    )
    failed_chat = spans.named("chat")[1]
    assert failed_chat.status.status_code is StatusCode.ERROR
    assert spans.attrs(failed_chat)["error.type"] == f"{__name__}.ProviderDown"
    assert "gen_ai.usage.input_tokens" not in spans.attrs(failed_chat)
    failed_turn = spans.named("turn")[1]
    assert failed_turn.status.status_code is StatusCode.ERROR
    assert spans.named("turn")[0].status.status_code is StatusCode.UNSET
    assert spans.roots()[0].status.status_code is StatusCode.ERROR
    assert handler.open_runs == 0


@tool
def approve(amount: int) -> str:
    """Asks a human to approve a payment."""
    decision = interrupt({"amount": amount})
    return f"approved: {decision}"


def test_interrupt_is_not_an_error(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    model = ScriptedChatModel(script=[tool_calls_message(("approve", {"amount": 10}, "c1")), answer_message("paid")])
    agent = create_agent(model, [approve], checkpointer=InMemorySaver())
    config = {"callbacks": [handler], "configurable": {"thread_id": "t-1"}}
    first = agent.invoke(INPUT, config=config)
    assert "__interrupt__" in first

    assert spans.tree() == tree_text(
        "invoke_agent agent", "  turn 1", "    chat gpt-4o-mini", "    execute_tool approve"
    )
    tool_span = spans.one("execute_tool approve")
    assert spans.attrs(tool_span)["turntrace.interrupted"] is True
    first_root = spans.roots()[0]
    assert spans.attrs(first_root)["turntrace.interrupted"] is True  # the run paused: `turntrace runs` says so
    assert all(s.status.status_code is StatusCode.UNSET for s in spans.all())
    assert spans.attrs(first_root)["session.id"] == "t-1"  # thread_id is the session

    agent.invoke(Command(resume="yes"), config=config)
    second_root = spans.roots()[1]
    # The approved tool call was requested in the paused run: here it sits under a turn of its own, marked
    # resumed; the answer is the next turn.
    assert spans.tree(second_root) == tree_text(
        "invoke_agent agent", "  turn 1", "    execute_tool approve", "  turn 2", "    chat gpt-4o-mini"
    )
    resumed_turn, answer_turn = spans.named("turn ")[1:]
    assert spans.attrs(resumed_turn)["turntrace.resumed"] is True
    assert "turntrace.resumed" not in spans.attrs(answer_turn)
    assert [c for c in check_run(spans.all(), retention_days=None, required_tags=()) if not c.passed] == []
    assert second_root.status.status_code is StatusCode.UNSET
    assert "turntrace.interrupted" not in spans.attrs(second_root)
    # The resumed run links to the run it continues: same thread, a new trace.
    assert [(link.context, dict(link.attributes or {})) for link in second_root.links] == [
        (first_root.context, {"turntrace.link_kind": "resumes"})
    ]
    assert second_root.context is not None
    assert first_root.context is not None
    assert second_root.context.trace_id != first_root.context.trace_id

    agent.invoke(INPUT, config={**config, "configurable": {"thread_id": "t-2"}})
    assert spans.roots()[2].links == ()  # another thread resumes nothing
    assert handler.open_runs == 0
