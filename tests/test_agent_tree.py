"""The span tree and attribute contract (DESIGN.md §2-3) on real agents: create_agent, sync/async, streaming."""

from __future__ import annotations

import itertools
from typing import Any

import genai_prices
import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from tests.agents import THREE_TURN_TREE, three_turn_agent
from tests.spans import Spans

TAGS = {"session.id", "gen_ai.conversation.id", "user.id", "turntrace.feature", "turntrace.agent_version"}
TOTALS = {"turntrace.total_input_tokens": int, "turntrace.total_output_tokens": int, "turntrace.total_cost_usd": float}
AGENT_KEYS = {
    "gen_ai.operation.name": str,
    "gen_ai.agent.name": str,
    "turntrace.turn_count": int,
    "turntrace.tool_call_count": int,
    **TOTALS,
}
TURN_KEYS = {
    "turntrace.turn_index": int,
    "gen_ai.request.model": str,
    "turntrace.stop_reason": str,
    "turntrace.latency_ms": float,
    **TOTALS,
}
CHAT_KEYS = {
    "gen_ai.operation.name": str,
    "turntrace.input_roles": tuple,
    "gen_ai.provider.name": str,
    "gen_ai.request.model": str,
    "gen_ai.response.model": str,
    "gen_ai.response.id": str,
    "gen_ai.response.finish_reasons": tuple,
    "gen_ai.usage.input_tokens": int,
    "gen_ai.usage.output_tokens": int,
    "turntrace.cost_usd": float,
    "turntrace.cost_source": str,
    "turntrace.latency_ms": float,
}
TOOL_KEYS = {
    "gen_ai.operation.name": str,
    "gen_ai.tool.name": str,
    "gen_ai.tool.call.id": str,
    "gen_ai.tool.type": str,
    "turntrace.input_hash": str,
    "turntrace.return_shape_hash": str,
    "turntrace.latency_ms": float,
    **TOTALS,
}
IDENTITY_KEYS = frozenset({"turntrace.langchain_run_id", "turntrace.metadata_json_keys"})
INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
META = {"session_id": "sess-1", "user_id": "user-1", "feature": "weather", "agent_version": "v7"}


def assert_keys(attributes: dict[str, Any], expected: dict[str, type]) -> None:
    """The span's own attributes are exactly ``expected``, besides the LangChain run identity (tests/contract.py,
    tests/test_run_identity.py)."""
    attributes = {k: v for k, v in attributes.items() if not k.startswith("langsmith.") and k not in IDENTITY_KEYS}
    assert set(attributes) == set(expected) | TAGS, sorted(set(attributes) ^ (set(expected) | TAGS))
    for key, kind in expected.items():
        assert type(attributes[key]) is kind, (key, attributes[key])
    for key in TAGS:
        assert type(attributes[key]) is str


def check_three_turn_run(spans: Spans, name: str = "agent", *, streamed: bool = False) -> None:
    assert spans.tree(by_name=True) == THREE_TURN_TREE.format(name=name)
    for span in spans.all():
        attributes = spans.attrs(span)
        if span.name.startswith("invoke_agent"):
            assert_keys(attributes, AGENT_KEYS)
            assert span.kind is SpanKind.INTERNAL
        elif span.name.startswith("turn"):
            assert_keys(attributes, TURN_KEYS)
            assert span.kind is SpanKind.INTERNAL
        elif span.name.startswith("chat"):
            assert_keys(
                attributes, {**CHAT_KEYS, "gen_ai.response.time_to_first_chunk": float} if streamed else CHAT_KEYS
            )
            assert span.kind is SpanKind.CLIENT
        else:
            assert_keys(attributes, TOOL_KEYS)
            assert span.kind is SpanKind.INTERNAL
        assert span.status.status_code is StatusCode.UNSET
        assert attributes["session.id"] == attributes["gen_ai.conversation.id"] == "sess-1"

    agent = spans.attrs(spans.roots()[0])
    assert agent["gen_ai.operation.name"] == "invoke_agent"
    assert agent["gen_ai.agent.name"] == name
    assert (agent["turntrace.turn_count"], agent["turntrace.tool_call_count"]) == (3, 3)
    assert (agent["turntrace.total_input_tokens"], agent["turntrace.total_output_tokens"]) == (450, 90)

    turns = [spans.attrs(t) for t in spans.named("turn")]
    assert [t["turntrace.turn_index"] for t in turns] == [1, 2, 3]
    assert [t["turntrace.stop_reason"] for t in turns] == ["tool_calls", "tool_calls", "stop"]
    assert [t["turntrace.total_input_tokens"] for t in turns] == [100, 150, 200]
    assert {t["gen_ai.request.model"] for t in turns} == {"gpt-4o-mini"}

    chats = [spans.attrs(c) for c in spans.named("chat")]
    expected_costs = [
        float(
            genai_prices.calc_price(
                genai_prices.Usage(input_tokens=i, output_tokens=o), "gpt-4o-mini", provider_id="openai"
            ).total_price
        )
        for i, o in [(100, 20), (150, 30), (200, 40)]
    ]
    assert [c["turntrace.cost_usd"] for c in chats] == pytest.approx(expected_costs, rel=1e-12)
    assert [c["gen_ai.response.finish_reasons"] for c in chats] == [("tool_calls",), ("tool_calls",), ("stop",)]
    assert {c["gen_ai.provider.name"] for c in chats} == {"openai"}
    assert {c["turntrace.cost_source"] for c in chats} == {f"genai-prices@{genai_prices.__version__}"}
    assert [t["turntrace.total_cost_usd"] for t in turns] == pytest.approx(expected_costs, rel=1e-12)
    assert agent["turntrace.total_cost_usd"] == pytest.approx(sum(expected_costs), rel=1e-12)

    tools = [spans.attrs(t) for t in spans.named("execute_tool")]
    assert sorted(t["gen_ai.tool.call.id"] for t in tools) == ["call_1", "call_2", "call_3"]
    assert {t["gen_ai.tool.type"] for t in tools} == {"function"}
    assert all(len(t["turntrace.input_hash"]) == 64 for t in tools)
    weather = [t for t in tools if t["gen_ai.tool.name"] == "get_weather"]
    assert weather[0]["turntrace.return_shape_hash"] == weather[1]["turntrace.return_shape_hash"]
    assert weather[0]["turntrace.input_hash"] != weather[1]["turntrace.input_hash"]

    for tool_span in spans.named("execute_tool"):  # each tool call sits under the turn that requested it
        parent = spans.parent(tool_span)
        assert parent is not None
        call_id = spans.attrs(tool_span)["gen_ai.tool.call.id"]
        assert parent.name == ("turn 2" if call_id == "call_3" else "turn 1")


def handler(provider: TracerProvider, **kwargs: Any) -> TurnTraceCallbackHandler:
    return TurnTraceCallbackHandler(tracer_provider=provider, **kwargs)


def test_invoke(provider: TracerProvider, spans: Spans) -> None:
    tracer = handler(provider)
    result = three_turn_agent().invoke(INPUT, config={"callbacks": [tracer], "metadata": META})
    assert result["messages"][-1].content == "Sunny in Paris and Rome."
    check_three_turn_run(spans)
    assert tracer.open_runs == 0


async def test_ainvoke(provider: TracerProvider, spans: Spans) -> None:
    tracer = handler(provider)
    await three_turn_agent().ainvoke(INPUT, config={"callbacks": [tracer], "metadata": META})
    check_three_turn_run(spans)
    assert tracer.open_runs == 0


@pytest.mark.parametrize("mode", ["values", "messages"])
def test_stream(provider: TracerProvider, spans: Spans, mode: str) -> None:
    tracer = handler(provider)
    chunks = list(three_turn_agent().stream(INPUT, config={"callbacks": [tracer], "metadata": META}, stream_mode=mode))
    assert chunks
    check_three_turn_run(spans, streamed=mode == "messages")
    assert tracer.open_runs == 0


async def test_astream_messages_records_time_to_first_chunk(provider: TracerProvider, spans: Spans) -> None:
    tracer = handler(provider)
    async for _ in three_turn_agent().astream(
        INPUT, config={"callbacks": [tracer], "metadata": META}, stream_mode="messages"
    ):
        pass
    check_three_turn_run(spans, streamed=True)
    for chat in spans.named("chat"):
        first_chunk_s = spans.attrs(chat)["gen_ai.response.time_to_first_chunk"]
        assert isinstance(first_chunk_s, float)
        assert 0 <= first_chunk_s <= spans.attrs(chat)["turntrace.latency_ms"] / 1000
    assert tracer.open_runs == 0


def test_agent_name_precedence(provider: TracerProvider, spans: Spans) -> None:
    three_turn_agent(name="weather_bot").invoke(INPUT, config={"callbacks": [handler(provider)], "metadata": META})
    three_turn_agent(name="weather_bot").invoke(
        INPUT, config={"callbacks": [handler(provider, agent_name="forecaster")], "metadata": META}
    )
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler(provider)], "run_name": "planner", "metadata": META})
    assert [r.name for r in spans.roots()] == [
        "invoke_agent weather_bot",
        "invoke_agent forecaster",
        "invoke_agent planner",
    ]


def test_turn_spans_cover_their_parts(provider: TracerProvider, spans: Spans) -> None:
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler(provider)], "metadata": META})
    root = spans.roots()[0]
    for turn in spans.named("turn"):
        parts = spans.children(turn)
        assert turn.start_time == min(p.start_time or 0 for p in parts)
        assert turn.end_time == max(p.end_time or 0 for p in parts)
        assert spans.attrs(turn)["turntrace.latency_ms"] == pytest.approx(
            ((turn.end_time or 0) - (turn.start_time or 0)) / 1e6
        )
        assert (root.start_time or 0) <= (turn.start_time or 0) <= (turn.end_time or 0) <= (root.end_time or 0)
    turns = spans.named("turn")
    assert all((a.end_time or 0) <= (b.start_time or 0) for a, b in itertools.pairwise(turns))


def test_handler_bound_with_with_config(provider: TracerProvider, spans: Spans) -> None:
    tracer = handler(provider)
    three_turn_agent().with_config({"callbacks": [tracer], "metadata": META}).invoke(INPUT)
    check_three_turn_run(spans)
    assert tracer.open_runs == 0
