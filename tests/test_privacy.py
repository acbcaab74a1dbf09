"""No raw tool input or message content in any attribute by default; opt-in capture; keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import ConfigError, TurnTraceCallbackHandler
from tests.agents import three_turn_agent
from tests.spans import Spans

SECRET_QUESTION = "my account number is 4242-SECRET"
INPUT = {"messages": [HumanMessage(SECRET_QUESTION)]}
CONTENT_MARKERS = ("SECRET", "Paris", "Rome", "Sunny", "sunny", "12:00")


def all_attribute_text(spans: Spans) -> str:
    return json.dumps([spans.attrs(s) for s in spans.all()], default=str)


def test_no_content_by_default(provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    three_turn_agent().invoke(INPUT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
    text = all_attribute_text(spans)
    assert len(spans.all()) == 10
    for marker in CONTENT_MARKERS:
        assert marker not in text
    for key in (
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
    ):
        assert key not in text


@pytest.mark.parametrize("how", ["arg", "env"])
def test_content_when_opted_in(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "env":
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    handler = TurnTraceCallbackHandler(tracer_provider=provider, capture_content=True if how == "arg" else None)
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    first_chat = spans.attrs(spans.named("chat")[0])
    messages = json.loads(first_chat["gen_ai.input.messages"])
    assert messages == [{"role": "user", "parts": [{"type": "text", "content": SECRET_QUESTION}]}]
    output = json.loads(first_chat["gen_ai.output.messages"])
    assert [p["name"] for p in output[0]["parts"]] == ["get_weather", "get_time"]
    weather = spans.attrs(spans.named("execute_tool get_weather")[0])
    assert json.loads(weather["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert json.loads(weather["gen_ai.tool.call.result"])["temp_c"] == 21


def test_input_hash_is_hmac_under_the_key(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "k" * 32
    monkeypatch.setenv("TURNTRACE_HASH_KEY", key)
    three_turn_agent().invoke(INPUT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
    weather = spans.attrs(spans.named("execute_tool get_weather")[0])
    canonical = b'{"city":"Paris"}'
    assert weather["turntrace.input_hash"] == hmac.new(key.encode(), canonical, hashlib.sha256).hexdigest()
    assert weather["turntrace.input_hash"] != hashlib.sha256(canonical).hexdigest()


def test_unkeyed_input_hash_is_sha256_of_canonical_json(provider: TracerProvider, spans: Spans) -> None:
    three_turn_agent().invoke(INPUT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
    weather = spans.attrs(spans.named("execute_tool get_weather")[0])
    assert weather["turntrace.input_hash"] == hashlib.sha256(b'{"city":"Paris"}').hexdigest()


def test_short_hash_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"TURNTRACE_HASH_KEY.*at least 16"):
        TurnTraceCallbackHandler(hash_key="short")


def test_bad_capture_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "maybe")
    with pytest.raises(ConfigError, match="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT='maybe'"):
        TurnTraceCallbackHandler()
