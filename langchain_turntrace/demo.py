"""The scripted demo agent (no API key, no network): three turns, parallel tool calls. ``turntrace demo`` runs it."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langchain_turntrace._scripted import ScriptedChatModel, answer_message, tool_calls_message


@tool
def search_flights(origin: str, destination: str) -> list[dict[str, Any]]:
    """Flights between two cities."""
    return [{"flight": "TT101", "price_usd": 420}, {"flight": "TT205", "price_usd": 380}]


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Weather for a city."""
    return {"city": city, "temp_c": 24, "conditions": "sunny"}


@tool
def book_flight(flight: str) -> dict[str, str]:
    """Books a flight."""
    return {"confirmation": "ABC123", "flight": flight}


def build_agent() -> CompiledStateGraph[MessagesState, None, MessagesState, MessagesState]:
    model = ScriptedChatModel(
        model_name="gpt-4o",
        script=[
            tool_calls_message(
                ("search_flights", {"origin": "Paris", "destination": "Lisbon"}, "call_1"),
                ("get_weather", {"city": "Lisbon"}, "call_2"),
                input_tokens=1_200,
                output_tokens=60,
            ),
            tool_calls_message(("book_flight", {"flight": "TT205"}, "call_3"), input_tokens=1_500, output_tokens=40),
            answer_message("Booked TT205 to Lisbon (sunny, 24°C). Confirmation ABC123.", 1_700, 45),
        ],
    )

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph: StateGraph[MessagesState, None, MessagesState, MessagesState] = StateGraph(MessagesState)
    # LangGraph's add_node/compile overloads carry unresolved generics; the graph itself is fully typed.
    graph.add_node("agent", call_model)  # pyright: ignore[reportUnknownMemberType]
    graph.add_node("tools", ToolNode([search_flights, get_weather, book_flight]))  # pyright: ignore[reportUnknownMemberType]
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(name="travel_agent")  # pyright: ignore[reportUnknownMemberType]  # same LangGraph generics
