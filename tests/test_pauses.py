"""Every way a LangGraph run pauses marks the paused run ``turntrace.interrupted=true`` (not an error), and the run
that resumes the thread links to it (DESIGN.md §2): ``interrupt()`` in a graph node, in middleware (langchain's
HumanInTheLoopMiddleware), and static breakpoints before or after a node. (In a tool: tests/test_failures.py.)"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.verify import check_run
from tests.agents import create_agent, get_weather, graph_builder
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("go")]}

# Before LangGraph 1.2 a static breakpoint tells a callback handler nothing: the graph just stops.
needs_lifecycle_events = pytest.mark.skipif(
    importlib.util.find_spec("langgraph.callbacks") is None, reason="LangGraph < 1.2 has no on_interrupt"
)


def approval_graph(**compile_args: Any) -> Any:
    """draft -> review -> send: ``review`` asks a human with interrupt() unless a breakpoint pauses first."""

    def draft(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("draft")]}

    def review(state: MessagesState) -> dict[str, Any]:
        verdict = interrupt("approve?") if not compile_args else "approved"
        return {"messages": [AIMessage(f"review: {verdict}")]}

    def send(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("sent")]}

    graph = graph_builder()
    graph.add_node("draft", draft)
    graph.add_node("review", review)
    graph.add_node("send", send)
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "review")
    graph.add_edge("review", "send")
    graph.add_edge("send", END)
    graph.name = "approvals"
    return graph.compile(checkpointer=InMemorySaver(), **compile_args)


def roots(spans: Spans) -> list[ReadableSpan]:
    return [s for s in spans.roots() if s.name.startswith("invoke_agent")]


def check_paused_then_resumed(spans: Spans) -> None:
    paused, resumed = roots(spans)
    assert spans.attrs(paused).get(attr.INTERRUPTED) is True, spans.attrs(paused)
    assert all(s.status.status_code is not StatusCode.ERROR for s in spans.all())
    assert attr.INTERRUPTED not in spans.attrs(resumed)
    assert [(link.context, dict(link.attributes or {})) for link in resumed.links] == [
        (paused.context, {attr.LINK_KIND: attr.RESUMES})
    ]


@pytest.mark.parametrize(
    ("compile_args", "resume"),
    [
        ({}, Command(resume="yes")),  # interrupt() in the node
        pytest.param({"interrupt_before": ["review"]}, None, marks=needs_lifecycle_events),  # a static breakpoint
        pytest.param({"interrupt_after": ["review"]}, None, marks=needs_lifecycle_events),  # after the node
    ],
    ids=["interrupt-in-node", "interrupt_before", "interrupt_after"],
)
def test_a_graph_paused_in_or_around_a_node_is_marked_and_resumed(
    provider: TracerProvider, spans: Spans, compile_args: dict[str, Any], resume: Any
) -> None:
    graph = approval_graph(**compile_args)
    config: Any = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]}
    config["configurable"] = {"thread_id": "approval-1"}
    graph.invoke(INPUT, config=config)
    final = graph.invoke(resume, config=config)
    assert final["messages"][-1].content == "sent"
    check_paused_then_resumed(spans)


def test_human_in_the_loop_middleware_pauses_and_resumes(provider: TracerProvider, spans: Spans) -> None:
    model = ScriptedChatModel(
        script=[tool_calls_message(("get_weather", {"city": "Oslo"}, "call_oslo")), answer_message("Cold in Oslo.")]
    )
    middleware = HumanInTheLoopMiddleware(interrupt_on={"get_weather": True})
    agent = create_agent(model, [get_weather], middleware=[middleware], checkpointer=InMemorySaver(), name="hitl")
    config: Any = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]}
    config["configurable"] = {"thread_id": "hitl-1"}
    first = agent.invoke(INPUT, config=config)
    assert "__interrupt__" in first
    final = agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config=config)
    assert final["messages"][-1].content == "Cold in Oslo."
    check_paused_then_resumed(spans)
    # The approved call was requested in the paused run: it runs under a turn of the resumed run, marked so.
    resumed = roots(spans)[1]
    assert spans.tree(resumed) == "\n".join(
        ["invoke_agent hitl", "  turn 1", "    execute_tool get_weather", "  turn 2", "    chat gpt-4o-mini"]
    )
    assert spans.attrs(spans.named("turn 1")[-1])[attr.RESUMED] is True
    assert [c.name for c in check_run(spans.all(), retention_days=None, required_tags=()) if not c.passed] == []
