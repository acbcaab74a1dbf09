"""assert_well_wired for users' own suites: passes on a well-wired run, names what is wrong otherwise."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel, answer_message
from langchain_turntrace.verify import WiringError, assert_well_wired, check_run
from tests.agents import three_turn_agent
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("hi")]}


def tagged(provider: TracerProvider) -> TurnTraceCallbackHandler:
    return TurnTraceCallbackHandler(
        tracer_provider=provider, session_id="s", user_id="u", feature="f", agent_version="v"
    )


def test_well_wired_run_passes(provider: TracerProvider, spans: Spans) -> None:
    three_turn_agent().invoke(INPUT, config={"callbacks": [tagged(provider)]})
    assert_well_wired(spans.all())
    assert all(c.passed for c in check_run(spans.all(), retention_days=30))


def test_missing_tags_are_named(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider, session_id="s")
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    with pytest.raises(WiringError, match=r"tags on every span: missing turntrace.agent_version on 10 span\(s\)"):
        assert_well_wired(spans.all())


def test_unpriced_model_and_bare_model_call_fail(provider: TracerProvider, spans: Spans) -> None:
    handler = tagged(provider)
    model = ScriptedChatModel(script=[answer_message("x")], model_name="acme-verify-model", provider="acme")
    model.invoke("x", config={"callbacks": [handler]})  # no agent around it: a lone chat span
    failed = {c.name: c.detail for c in check_run(spans.all()) if not c.passed}
    assert set(failed) == {"one root per run", "turns under the agent", "tokens and cost on every model call"}
    assert "unpriced models ['chat acme-verify-model']" in failed["tokens and cost on every model call"]
    assert "outermost invoke" in failed["one root per run"]
