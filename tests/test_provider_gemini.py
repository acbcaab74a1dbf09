"""langchain-google-genai (on the google-genai SDK) against a loopback server speaking Gemini's wire format.

Gemini finishes every step ``STOP``, tool calls or not, counts cached tokens inside the prompt and thinking apart
from the answer; the client passes ``STOP`` and ``modelVersion`` on as they are, and no response id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pytest
from langchain_core.runnables import RunnableConfig
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from tests.agents import create_agent
from tests.providers.checks import (
    Pricing,
    check_counted_once,
    check_model_call,
    check_three_turn_run,
    check_usage_as_sent,
)
from tests.providers.gemini import GenerateContent, wire_method
from tests.providers.script import AGENT_NAME, PROMPT, TOOLS, Step, WireUsage, three_steps
from tests.providers.wire import WireServer
from tests.spans import Spans

langchain_google_genai = pytest.importorskip("langchain_google_genai", reason="langchain-google-genai is not installed")

GEMINI_PRICING = Pricing("google")

# A thinking model (gemini-2.5-flash) reading a cached prefix: every step has cache reads and thoughts.
STEPS = three_steps(
    [
        WireUsage(input_tokens=1200, output_tokens=260, cache_read=1024, reasoning=200),
        WireUsage(input_tokens=1450, output_tokens=72, cache_read=1152, reasoning=30),
        WireUsage(input_tokens=1600, output_tokens=90, cache_read=1408, reasoning=0),
    ]
)

Mode = Literal["invoke", "ainvoke", "stream", "astream"]
Wire = Literal["json", "sse"]
# A chunk at a time, so the time to first chunk is measured, not the whole response's.
CHUNK_DELAY_S = 0.01


def gemini(responder: GenerateContent, server: WireServer, *, streaming: bool = False) -> Any:
    """The real client on plain http to the loopback server: ``base_url`` becomes google-genai's
    ``HttpOptions.base_url``; a dummy key, since the Developer API wants one."""
    options: dict[str, Any] = {"streaming": True} if streaming else {}
    return langchain_google_genai.ChatGoogleGenerativeAI(
        model=responder.model, base_url=server.url, api_key="loopback-key", max_retries=0, **options
    )


async def run(agent: Any, mode: Mode, wire: Wire, config: RunnableConfig) -> None:
    """One agent run in ``mode``. Streaming the agent by ``updates`` leaves the model on JSON; by ``messages``
    (LangGraph's streaming callback) it streams over the wire, as ``streaming=True`` does for invoke."""
    stream_mode = "messages" if wire == "sse" else "updates"
    if mode == "invoke":
        agent.invoke(PROMPT, config=config)
    elif mode == "ainvoke":
        await agent.ainvoke(PROMPT, config=config)
    elif mode == "stream":
        for _ in agent.stream(PROMPT, config=config, stream_mode=stream_mode):
            pass
    else:
        async for _ in agent.astream(PROMPT, config=config, stream_mode=stream_mode):
            pass


def assert_wire(server: WireServer, responder: GenerateContent, wire: Wire) -> None:
    method = "streamGenerateContent" if wire == "sse" else "generateContent"
    assert [wire_method(r, responder.model) for r in server.requests] == [method] * len(server.requests)


@pytest.mark.parametrize("wire", ["json", "sse"])
@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
async def test_three_turns(mode: Mode, wire: Wire, provider: TracerProvider, spans: Spans) -> None:
    await play_three_turns(GenerateContent(STEPS, chunk_delay_s=CHUNK_DELAY_S), mode, wire, provider, spans)


async def play_three_turns(
    responder: GenerateContent, mode: Mode, wire: Wire, provider: TracerProvider, spans: Spans
) -> None:
    """The three-turn agent in ``mode``; over SSE, invoke and ainvoke stream because the model is built to."""
    with WireServer(responder) as server:
        model = gemini(responder, server, streaming=wire == "sse" and mode in ("invoke", "ainvoke"))
        agent = create_agent(model, TOOLS, name=AGENT_NAME)
        await run(agent, mode, wire, {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        assert_wire(server, responder, wire)
        priced = server.priced
    check_three_turn_run(
        spans,
        priced,
        STEPS,
        model=responder.model,
        pricing=GEMINI_PRICING,
        finish_words=[responder.finish_reason(s) for s in STEPS],
        response_ids=[None] * len(STEPS),
        response_model=responder.model_version,
        streamed=wire == "sse",
    )


def one_step(usage: WireUsage, text: str | None) -> tuple[Step]:
    return (Step(1, (), text, usage, 0),)


async def one_turn(
    responder: GenerateContent, wire: Wire, provider: TracerProvider, spans: Spans
) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """An agent run of one model call that answers at once: the chat span's attributes, the turn's stop reason
    checked by the caller, the chat span held against the raw response."""
    with WireServer(responder) as server:
        model = gemini(responder, server, streaming=wire == "sse")
        agent = create_agent(model, TOOLS, name=AGENT_NAME)
        await agent.ainvoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        assert_wire(server, responder, wire)
        priced = server.priced
    assert spans.tree(by_name=True) == f"invoke_agent {AGENT_NAME}\n  turn 1\n    chat {responder.model}", spans.tree()
    (chat,) = spans.named("chat ")
    (body,) = priced
    check_model_call(chat, body, GEMINI_PRICING, responder.model)
    check_usage_as_sent(chat, responder.steps[0])
    check_counted_once(spans)
    (turn,) = spans.named("turn ")
    return spans.attrs(chat), spans.attrs(turn)


@pytest.mark.parametrize("wire", ["json", "sse"])
@pytest.mark.parametrize(
    ("finish", "stop_reason"), [("MAX_TOKENS", "length"), ("SAFETY", "content_filter")], ids=["length", "safety"]
)
async def test_finish_reasons(
    finish: str, stop_reason: str, wire: Wire, provider: TracerProvider, spans: Spans
) -> None:
    """Gemini's own word stays on the chat span; the turn's stop reason is the normalised one."""
    blocked = finish == "SAFETY"
    usage = WireUsage(input_tokens=900, output_tokens=0 if blocked else 64, cache_read=0, reasoning=0)
    responder = GenerateContent(one_step(usage, None if blocked else "Sunny and 21 °C in Par"), finish=finish)
    chat, turn = await one_turn(responder, wire, provider, spans)
    assert chat[attr.GEN_AI_RESPONSE_FINISH_REASONS] == (finish,), chat
    assert turn[attr.STOP_REASON] == stop_reason, turn
    assert chat.get(attr.GEN_AI_RESPONSE_MODEL) == responder.model_version


@pytest.mark.parametrize("wire", ["json", "sse"])
async def test_long_context_tier(wire: Wire, provider: TracerProvider, spans: Spans) -> None:
    """gemini-2.5-pro bills every token of a prompt above 200k at its long-context rates (cache reads and output
    too): cost as genai-prices computes it for this response, which is not the base-tier price."""
    usage = WireUsage(input_tokens=250_000, output_tokens=1_500, cache_read=120_000, reasoning=900)
    responder = GenerateContent(one_step(usage, "Sunny and 21 °C."), model="gemini-2.5-pro")
    chat, turn = await one_turn(responder, wire, provider, spans)
    base_tier = (130_000 * 1.25 + 120_000 * 0.125 + 1_500 * 10.0) / 1e6
    assert abs(float(chat[attr.COST_USD]) - base_tier) > 0.1, chat[attr.COST_USD]
    assert turn[attr.STOP_REASON] == "stop", turn


@pytest.mark.parametrize(("mode", "wire"), [("invoke", "json"), ("astream", "sse")])
async def test_gemini_3_call_ids(mode: Mode, wire: Wire, provider: TracerProvider, spans: Spans) -> None:
    """Gemini 3: the client answers in content blocks and keeps the provider's function call ids, so each tool
    span carries the id Gemini gave its call."""
    responder = GenerateContent(STEPS, model="gemini-3-flash-preview", call_ids=True, chunk_delay_s=CHUNK_DELAY_S)
    await play_three_turns(responder, mode, wire, provider, spans)
    tool_ids = sorted(str(spans.attrs(s)[attr.GEN_AI_TOOL_CALL_ID]) for s in spans.named("execute_tool "))
    assert tool_ids == sorted(call.id for step in STEPS for call in step.tool_calls), tool_ids
