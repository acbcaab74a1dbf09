"""langchain-openai against a loopback server speaking OpenAI's wire formats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from tests.agents import create_agent
from tests.providers.checks import Pricing, check_three_turn_run
from tests.providers.openai_chat import ChatCompletions
from tests.providers.script import AGENT_NAME, PROMPT, TOOLS, WireUsage, three_steps
from tests.providers.wire import WireServer
from tests.spans import Spans

langchain_openai = pytest.importorskip("langchain_openai", reason="langchain-openai is not installed")


def service_tier(body: Mapping[str, Any]) -> Mapping[str, str] | None:
    tier = body.get("service_tier")
    return {"service_tier": tier} if isinstance(tier, str) else None


CHAT_PRICING = Pricing("openai", "chat", service_tier)

STEPS = three_steps(
    [
        WireUsage(input_tokens=1200, output_tokens=60, cache_read=1024),
        WireUsage(input_tokens=1450, output_tokens=42, cache_read=1152),
        WireUsage(input_tokens=1600, output_tokens=90, cache_read=1408),
    ]
)


def test_chat_completions_invoke(provider: TracerProvider, spans: Spans) -> None:
    responder = ChatCompletions(STEPS)
    with WireServer(responder) as server:
        model = langchain_openai.ChatOpenAI(model=responder.model, base_url=f"{server.url}/v1", api_key="sk-test")
        agent = create_agent(model, TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        priced = server.priced
    check_three_turn_run(
        spans,
        priced,
        STEPS,
        model=responder.model,
        pricing=CHAT_PRICING,
        finish_words=[responder.finish_reason(s) for s in STEPS],
        response_ids=[responder.response_id(s) for s in STEPS],
        response_model=responder.model,
        streamed=False,
    )
