"""Agents and model calls inside tools, subgraph agents, bare model calls, and the OTel parent at run start."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import create_agent, get_weather, graph_builder, research
from tests.spans import Spans, tree_text

INPUT = {"messages": [HumanMessage("go")]}


summary_model = ScriptedChatModel(script=[answer_message("short", input_tokens=500, output_tokens=10)])


@tool
def summarize(text: str, config: RunnableConfig) -> str:
    """Summarises with a model call of its own."""
    return str(summary_model.invoke(text, config=config).content)


def outer_agent(*tools: Any) -> Any:
    calls = [(t.name, {"question": "q"} if t.name == "research" else {"text": "t"}, f"outer_{t.name}") for t in tools]
    model = ScriptedChatModel(script=[tool_calls_message(*calls), answer_message("done")])
    return create_agent(model, list(tools), name="supervisor")


def test_subagent_inside_a_tool_nests_under_the_tool_and_rolls_up(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    outer_agent(research).invoke(INPUT, config={"callbacks": [handler]})

    assert spans.tree() == tree_text(
        "invoke_agent supervisor",
        "  turn 1",
        "    chat gpt-4o-mini",
        "    execute_tool research",
        "      invoke_agent researcher",
        "        turn 1",
        "          chat claude-sonnet-4-5",
        "          execute_tool get_weather",
        "        turn 2",
        "          chat claude-sonnet-4-5",
        "  turn 2",
        "    chat gpt-4o-mini",
    )
    sub = spans.attrs(spans.one("invoke_agent researcher"))
    assert (sub["turntrace.turn_count"], sub["turntrace.tool_call_count"]) == (2, 1)
    sub_cost = sum(spans.attrs(c)["turntrace.cost_usd"] for c in spans.named("chat claude"))
    assert sub["turntrace.total_cost_usd"] == pytest.approx(sub_cost)
    tool_span = spans.attrs(spans.one("execute_tool research"))
    assert (tool_span["turntrace.total_input_tokens"], tool_span["turntrace.total_output_tokens"]) == (2200, 150)
    assert tool_span["turntrace.total_cost_usd"] == pytest.approx(sub_cost)
    outer_turn_1 = spans.attrs(spans.named("turn 1")[0])
    assert outer_turn_1["turntrace.total_input_tokens"] == 100 + 2200
    all_chat_cost = sum(spans.attrs(c)["turntrace.cost_usd"] for c in spans.named("chat"))
    root = spans.attrs(spans.roots()[0])
    assert root["turntrace.total_cost_usd"] == pytest.approx(all_chat_cost)
    assert root["turntrace.total_input_tokens"] == 100 + 2200 + 100
    assert (root["turntrace.turn_count"], root["turntrace.tool_call_count"]) == (2, 1)
    assert handler.open_runs == 0


def test_model_call_inside_a_tool_nests_under_the_tool(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    outer_agent(summarize).invoke(INPUT, config={"callbacks": [handler]})

    assert spans.tree() == tree_text(
        "invoke_agent supervisor",
        "  turn 1",
        "    chat gpt-4o-mini",
        "    execute_tool summarize",
        "      chat gpt-4o-mini",
        "  turn 2",
        "    chat gpt-4o-mini",
    )
    inner_cost = spans.attrs(spans.named("chat")[1])["turntrace.cost_usd"]
    assert spans.attrs(spans.one("execute_tool summarize"))["turntrace.total_cost_usd"] == pytest.approx(inner_cost)
    assert spans.attrs(spans.roots()[0])["turntrace.total_input_tokens"] == 100 + 500 + 100


def test_subgraph_agent_nests_under_the_agent(provider: TracerProvider, spans: Spans) -> None:
    """A compiled agent used as a node runs its own model loop: its own invoke_agent and turn numbering."""
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    planner = ScriptedChatModel(script=[answer_message("plan: research Lima", input_tokens=50, output_tokens=5)])

    def plan(state: MessagesState) -> dict[str, Any]:
        return {"messages": [planner.invoke(state["messages"])]}

    sub_model = ScriptedChatModel(
        script=[
            answer_message("unused"),  # the planner's message already counts as turn 1 of this conversation
            tool_calls_message(("get_weather", {"city": "Lima"}, "sub_1")),
            answer_message("Lima is sunny"),
        ]
    )
    graph = graph_builder()
    graph.add_node("plan", plan)
    graph.add_node("research", create_agent(sub_model, [get_weather]))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "research")
    graph.compile(name="pipeline").invoke(INPUT, config={"callbacks": [handler]})

    assert spans.tree() == tree_text(
        "invoke_agent pipeline",
        "  turn 1",
        "    chat gpt-4o-mini",
        "  invoke_agent research",
        "    turn 1",
        "      chat gpt-4o-mini",
        "      execute_tool get_weather",
        "    turn 2",
        "      chat gpt-4o-mini",
    )
    root = spans.attrs(spans.roots()[0])
    assert root["turntrace.turn_count"] == 1
    assert root["turntrace.total_input_tokens"] == 50 + 100 + 100
    assert spans.attrs(spans.one("invoke_agent research"))["turntrace.turn_count"] == 2
    assert handler.open_runs == 0


def test_bare_chat_model_call_is_a_lone_chat_span(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider, user_id="u-1")
    model = ScriptedChatModel(script=[answer_message("hi", input_tokens=10, output_tokens=2)])
    model.invoke("hello", config={"callbacks": [handler]})

    assert spans.tree() == "chat gpt-4o-mini"
    chat = spans.attrs(spans.one("chat gpt-4o-mini"))
    assert chat["gen_ai.usage.input_tokens"] == 10
    assert chat["user.id"] == "u-1"
    assert isinstance(chat["turntrace.cost_usd"], float)
    assert handler.open_runs == 0


def test_agent_root_is_a_child_of_the_current_otel_span(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with provider.get_tracer("app").start_as_current_span("POST /chat") as request_span:
        outer_agent(summarize).invoke(INPUT, config={"callbacks": [handler]})
    agent_root = spans.one("invoke_agent supervisor")
    assert agent_root.parent is not None
    assert agent_root.parent.span_id == request_span.get_span_context().span_id
    assert {s.context.trace_id for s in spans.all() if s.context} == {request_span.get_span_context().trace_id}


def test_lone_tool_call_is_a_lone_span(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    get_weather.invoke({"city": "Oslo"}, config={"callbacks": [handler]})
    assert spans.tree() == "execute_tool get_weather"
    assert "gen_ai.tool.call.id" not in spans.attrs(spans.one("execute_tool get_weather"))
    assert handler.open_runs == 0


def test_tool_without_a_call_id_joins_the_latest_open_turn(provider: TracerProvider, spans: Spans) -> None:
    """A node that calls the model and then a tool directly (no tool_call_id): the tool belongs to that turn."""
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    model = ScriptedChatModel(script=[tool_calls_message(("get_weather", {"city": "Lima"}, "c1"))])

    def act(state: MessagesState) -> dict[str, Any]:
        reply = model.invoke(state["messages"])
        get_weather.invoke(reply.tool_calls[0]["args"])  # invoked by hand: LangChain passes no tool_call_id
        return {"messages": [reply]}

    graph = graph_builder()
    graph.add_node("act", act)
    graph.add_edge(START, "act")
    graph.compile().invoke(INPUT, config={"callbacks": [handler]})
    assert spans.tree() == tree_text(
        "invoke_agent agent", "  turn 1", "    chat gpt-4o-mini", "    execute_tool get_weather"
    )
    assert spans.attrs(spans.roots()[0])["turntrace.tool_call_count"] == 1
