"""Runs a scripted three-turn agent (no API key, no network) and prints its span tree.

python -m langchain_turntrace.demo
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message


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


def _describe(span: ReadableSpan, label: str) -> str:
    a = dict(span.attributes or {})
    parts: list[str] = []
    if attr.GEN_AI_USAGE_INPUT_TOKENS in a:
        parts.append(f"tokens {a[attr.GEN_AI_USAGE_INPUT_TOKENS]}→{a[attr.GEN_AI_USAGE_OUTPUT_TOKENS]}")
    elif attr.TOTAL_INPUT_TOKENS in a:
        parts.append(f"tokens {a[attr.TOTAL_INPUT_TOKENS]}→{a[attr.TOTAL_OUTPUT_TOKENS]}")
    cost = a.get(attr.COST_USD, a.get(attr.TOTAL_COST_USD))
    if isinstance(cost, float):
        parts.append(f"${cost:.6f}")
    if attr.STOP_REASON in a:
        parts.append(f"stop={a[attr.STOP_REASON]}")
    if attr.INPUT_HASH in a:
        parts.append(f"input#{str(a[attr.INPUT_HASH])[:8]} shape#{str(a[attr.RETURN_SHAPE_HASH])[:8]}")
    if attr.ERROR_TYPE in a:
        parts.append(f"ERROR {a[attr.ERROR_TYPE]}")
    duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    return f"{label:<44} {duration_ms:8.2f} ms  " + "  ".join(parts)


def render_tree(spans: list[ReadableSpan]) -> str:
    ids = {s.context.span_id for s in spans if s.context}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(span: ReadableSpan, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        lines.append(_describe(span, prefix + branch + span.name))
        kids = sorted(children.get(span.context.span_id if span.context else None, []), key=lambda s: s.start_time or 0)
        for index, kid in enumerate(kids):
            walk(kid, prefix + ("" if top else ("   " if last else "│  ")), index == len(kids) - 1, False)

    for root in sorted(children.get(None, []), key=lambda s: s.start_time or 0):
        walk(root, "", True, True)
    return "\n".join(lines)


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = TurnTraceCallbackHandler(
        tracer_provider=provider, session_id="demo-session", user_id="demo-user", feature="travel", agent_version="1.0"
    )
    result = build_agent().invoke(  # pyright: ignore[reportUnknownMemberType]  # same LangGraph generics
        {"messages": [HumanMessage("Book me the cheapest flight from Paris to Lisbon.")]},
        config={"callbacks": [handler]},
    )
    print(f"agent answered: {result['messages'][-1].content}\n")
    print(render_tree(list(exporter.get_finished_spans())))
    provider.shutdown()


if __name__ == "__main__":
    main()
