"""A hand-built StateGraph with ToolNode traces the same way as create_agent."""

from __future__ import annotations

from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel
from tests.agents import THREE_TURN_TREE, get_time, get_weather, state_graph_agent, three_turn_script
from tests.spans import Spans


def test_state_graph_with_tool_node(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    graph = state_graph_agent(ScriptedChatModel(script=three_turn_script()), [get_weather, get_time])
    graph.invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})

    assert spans.tree(by_name=True) == THREE_TURN_TREE.format(name="agent")
    agent = spans.attrs(spans.roots()[0])
    assert (agent["turntrace.turn_count"], agent["turntrace.tool_call_count"]) == (3, 3)
    assert agent["turntrace.total_input_tokens"] == 450
    assert handler.open_runs == 0


def test_graph_nodes_are_not_spans(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    graph = state_graph_agent(ScriptedChatModel(script=three_turn_script()), [get_weather, get_time])
    graph.invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})
    names = {span.name.split(" ")[0] for span in spans.all()}
    assert names == {"invoke_agent", "turn", "chat", "execute_tool"}
