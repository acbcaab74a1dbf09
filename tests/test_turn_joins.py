"""The turn model's joins: a tool call joins the turn that requested it (also after a later model step started),
carries a link to the chat span that asked for it, and a run is traced once whatever ids and handlers it has."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState
from langgraph.prebuilt import ToolNode
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler, configure
from langchain_turntrace.store import SpanStore
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import THREE_TURN_TREE, get_time, get_weather, graph_builder, three_turn_agent
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("plan a trip")]}


def plan_twice_then_execute(model: ScriptedChatModel) -> Any:
    """plan -> plan_again -> execute: two model steps, then the tools the *first* one asked for."""

    def plan(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    def plan_again(state: MessagesState) -> dict[str, Any]:
        reply = model.invoke(state["messages"])
        return {"messages": [AIMessage(content=reply.content)]}  # a note, not a new request for tools

    def execute(state: MessagesState) -> dict[str, Any]:
        requested = next(m for m in state["messages"] if isinstance(m, AIMessage) and m.tool_calls)
        return ToolNode([get_weather, get_time]).invoke({"messages": [requested]})  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]  # LangGraph's loose generics

    graph = graph_builder()
    graph.add_node("plan", plan)
    graph.add_node("plan_again", plan_again)
    graph.add_node("execute", execute)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "plan_again")
    graph.add_edge("plan_again", "execute")
    graph.add_edge("execute", END)
    return graph.compile()


def test_a_tool_call_joins_the_turn_that_requested_it_after_a_later_model_step(
    provider: TracerProvider, spans: Spans
) -> None:
    model = ScriptedChatModel(
        script=[
            tool_calls_message(("get_weather", {"city": "Oslo"}, "call_w"), ("get_time", {"city": "Oslo"}, "call_t")),
            answer_message("noted"),
        ]
    )
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    plan_twice_then_execute(model).invoke(INPUT, config={"callbacks": [handler]})

    assert spans.tree(spans.roots()[0], by_name=True) == "\n".join(
        [
            "invoke_agent agent",
            "  turn 1",
            "    chat gpt-4o-mini",
            "    execute_tool get_time",
            "    execute_tool get_weather",
            "  turn 2",
            "    chat gpt-4o-mini",
        ]
    )
    turn1, turn2 = spans.one("turn 1"), spans.one("turn 2")
    assert turn1.end_time is not None
    assert turn2.end_time is not None
    assert turn1.end_time >= max(s.end_time or 0 for s in spans.named("execute_tool"))  # open until its tools end
    assert "turntrace.incomplete" not in spans.attrs(turn1)
    assert spans.attrs(turn1)["turntrace.stop_reason"] == "tool_calls"


def caused_by(span: ReadableSpan) -> list[int]:
    """The span ids a tool span's CAUSED_BY_GENERATION links name."""
    return [
        link.context.span_id
        for link in span.links
        if (link.attributes or {}).get("gen_ai.attribution.link_type") == "CAUSED_BY_GENERATION"
    ]


def test_each_tool_span_links_to_the_chat_span_that_requested_it(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})

    assert spans.tree(spans.roots()[0], by_name=True) == THREE_TURN_TREE.format(name="agent")
    for tool_span in spans.named("execute_tool"):
        turn = spans.parent(tool_span)
        assert turn is not None
        (chat,) = [s for s in spans.children(turn) if s.name.startswith("chat ")]
        assert chat.context is not None
        assert caused_by(tool_span) == [chat.context.span_id], tool_span.name
        assert [link.context.trace_id for link in tool_span.links] == [chat.context.trace_id]


def test_a_tool_invoked_directly_has_no_generation_link(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    get_weather.invoke({"city": "Paris"}, config={"callbacks": [handler]})
    assert caused_by(spans.one("execute_tool get_weather")) == []


def test_a_run_id_given_as_a_string_traces_normally(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    run_id = str(uuid.uuid4())
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "run_id": run_id})  # pyright: ignore[reportArgumentType]  # LangChain accepts a string here

    assert len(spans.roots()) == 1
    assert spans.tree(spans.roots()[0], by_name=True) == THREE_TURN_TREE.format(name="agent")
    assert handler.open_runs == 0


def test_two_configured_handlers_on_one_run_make_one_trace(tmp_path: Path) -> None:
    store = tmp_path / "traces.db"
    bound = configure("local", store_path=store, feature="trips")
    per_call = configure("local", store_path=store, feature="trips")
    assert bound is not per_call

    agent = three_turn_agent().with_config(callbacks=[bound])
    agent.invoke(INPUT, config={"callbacks": [per_call]})
    assert bound.flush(timeout_s=5)
    assert per_call.flush(timeout_s=5)  # whichever of the two traced it (LangChain's merge order decides)

    with SpanStore.open(store, create=False) as opened:
        runs = opened.runs(limit=10)
        assert len(runs) == 1
        assert opened.spans_count() == len(THREE_TURN_TREE.splitlines())
    assert bound.open_runs == 0
    assert per_call.open_runs == 0


def test_two_handlers_on_different_providers_each_trace_the_run(spans: Spans, provider: TracerProvider) -> None:
    other = TracerProvider()
    first = TurnTraceCallbackHandler(tracer_provider=provider)
    second = TurnTraceCallbackHandler(tracer_provider=other)
    try:
        three_turn_agent().invoke(INPUT, config={"callbacks": [first, second]})
    finally:
        other.shutdown()
    assert spans.tree(spans.roots()[0], by_name=True) == THREE_TURN_TREE.format(name="agent")
    assert second.open_runs == 0
