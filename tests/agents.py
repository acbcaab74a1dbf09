"""Real LangGraph agents on the scripted chat model, shared by the tests."""

from __future__ import annotations

from typing import Any

from langchain import agents
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool, ToolException, tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Weather for a city."""
    return {"city": city, "temp_c": 21, "conditions": ["sunny"]}


@tool
def get_time(city: str) -> str:
    """Local time in a city."""
    return "12:00"


@tool
def explode(reason: str) -> str:
    """A tool that always raises."""
    raise RuntimeError(f"tool failed: {reason}")


def three_turn_script() -> list[Any]:
    """Turn 1: two parallel tool calls; turn 2: one tool call; turn 3: the answer."""
    return [
        tool_calls_message(("get_weather", {"city": "Paris"}, "call_1"), ("get_time", {"city": "Paris"}, "call_2")),
        tool_calls_message(("get_weather", {"city": "Rome"}, "call_3"), input_tokens=150, output_tokens=30),
        answer_message("Sunny in Paris and Rome.", input_tokens=200, output_tokens=40),
    ]


# Siblings by name (Spans.tree(by_name=True)): parallel tool calls start in any order.
THREE_TURN_TREE = "\n".join(
    [
        "invoke_agent {name}",
        "  turn 1",
        "    chat gpt-4o-mini",
        "    execute_tool get_time",
        "    execute_tool get_weather",
        "  turn 2",
        "    chat gpt-4o-mini",
        "    execute_tool get_weather",
        "  turn 3",
        "    chat gpt-4o-mini",
    ]
)


def create_agent(model: ScriptedChatModel, tools: list[Any], **kwargs: Any) -> Any:
    """langchain's create_agent. Returned as Any: its generics carry an unresolved context type, and the tests
    drive the graph with plain dicts."""
    return agents.create_agent(model, tools=tools, **kwargs)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]  # see docstring


def three_turn_agent(name: str | None = None) -> Any:
    model = ScriptedChatModel(script=three_turn_script())
    return create_agent(model, [get_weather, get_time], name=name)


def graph_builder() -> Any:
    """A StateGraph over messages, as Any: LangGraph's add_node overloads carry unresolved generics."""
    return StateGraph(MessagesState)


def state_graph_agent(model: ScriptedChatModel, tools: list[Any], **tool_node_args: Any) -> Any:
    """The classic hand-built agent: a model node and a ToolNode in a loop."""

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = graph_builder()
    graph.add_node("agent", call_model)
    graph.add_node("tools", ToolNode(tools, **tool_node_args))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile()


# A subagent behind a tool: the tool invokes it with the config LangChain injects (the caller's config).
research_model = ScriptedChatModel(
    model_name="claude-sonnet-4-5",
    provider="anthropic",
    script=[
        tool_calls_message(("get_weather", {"city": "Lima"}, "sub_1"), input_tokens=1000, output_tokens=100),
        answer_message("Lima is sunny", input_tokens=1200, output_tokens=50),
    ],
)
research_agent = create_agent(research_model, [get_weather], name="researcher")


@tool
def research(question: str, config: RunnableConfig) -> str:
    """Delegates to the research subagent."""
    result = research_agent.invoke({"messages": [HumanMessage(question)]}, config=config)
    return str(result["messages"][-1].content)


def research_desk() -> Any:
    """An agent whose one tool call runs the research subagent (a second agent, on claude-sonnet-4-5)."""
    model = ScriptedChatModel(
        script=[tool_calls_message(("research", {"question": "Lima?"}, "r_1")), answer_message("Lima is sunny")]
    )
    return create_agent(model, [research], name="research")


def _lookup_order() -> str:
    raise ToolException("the order service timed out")


lookup_order = StructuredTool.from_function(
    _lookup_order, name="lookup_order", description="Looks an order up.", handle_tool_error=True
)


def order_desk(model_name: str = "gpt-4o-mini", provider: str = "openai") -> Any:
    """An agent whose one tool call fails (handled: the model is told, and answers)."""
    model = ScriptedChatModel(
        model_name=model_name,
        provider=provider,
        script=[
            tool_calls_message(("lookup_order", {}, "o_1"), input_tokens=900, output_tokens=30),
            answer_message("Down."),
        ],
    )
    return create_agent(model, [lookup_order], name="order_desk")


def unpriced_agent() -> Any:
    """An agent on a model no price table knows: its calls have tokens and no cost."""
    model = ScriptedChatModel(
        model_name="my-llama-70b",
        script=[tool_calls_message(("get_weather", {"city": "Oslo"}, "w_1")), answer_message("Cold.", 300, 30)],
    )
    return create_agent(model, [get_weather], name="llama")
