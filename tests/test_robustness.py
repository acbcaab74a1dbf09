"""The handler never raises into the program and keeps no state after runs end."""

from __future__ import annotations

import logging
from uuid import uuid4

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import answer_message
from tests.agents import three_turn_agent
from tests.spans import Spans


def lenient(provider: TracerProvider, monkeypatch: pytest.MonkeyPatch) -> TurnTraceCallbackHandler:
    monkeypatch.setenv("TURNTRACE_STRICT", "false")  # production behaviour: log once, never raise
    return TurnTraceCallbackHandler(tracer_provider=provider)


def test_events_for_unknown_runs_are_ignored(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = lenient(provider, monkeypatch)
    handler.on_chain_end({}, run_id=uuid4())
    handler.on_tool_end("x", run_id=uuid4())
    handler.on_llm_error(RuntimeError("x"), run_id=uuid4())
    handler.on_llm_new_token("x", run_id=uuid4())
    assert spans.all() == []
    assert handler.open_runs == 0


def test_an_unreadable_response_is_logged_once_and_its_span_closed(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    handler = lenient(provider, monkeypatch)
    with caplog.at_level(logging.ERROR, logger="langchain_turntrace"):
        for _ in range(2):
            run_id = uuid4()
            handler.on_chat_model_start({}, [[HumanMessage("hi")]], run_id=run_id)
            handler.on_llm_end(None, run_id=run_id)  # type: ignore[arg-type]  # not an LLMResult
    assert len([r for r in caplog.records if "internal error in on_llm_end" in r.getMessage()]) == 1
    chats = spans.named("chat")
    assert len(chats) == 2
    assert all(spans.attrs(c)["turntrace.incomplete"] is True for c in chats)
    assert handler.open_runs == 0


def test_a_duplicate_end_is_harmless(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    run_id = uuid4()
    response = LLMResult(generations=[[ChatGeneration(message=answer_message("hi"))]])
    handler.on_chat_model_start({}, [[HumanMessage("hi")]], run_id=run_id, metadata={"ls_model_name": "gpt-4o-mini"})
    handler.on_llm_end(response, run_id=run_id)
    handler.on_llm_end(response, run_id=run_id)
    handler.on_llm_error(RuntimeError("late"), run_id=run_id)
    assert spans.tree() == "chat gpt-4o-mini"
    assert spans.attrs(spans.one("chat gpt-4o-mini"))["gen_ai.usage.input_tokens"] == 100
    assert handler.open_runs == 0


def test_no_state_after_many_runs(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    agent = three_turn_agent()
    for i in range(20):
        agent.invoke(
            {"messages": [HumanMessage("hi")]}, config={"callbacks": [handler], "metadata": {"session_id": str(i)}}
        )
    assert handler.open_runs == 0
    assert len(spans.roots()) == 20
