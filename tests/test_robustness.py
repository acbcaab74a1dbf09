"""The handler never raises into the program and keeps no state after runs end."""

from __future__ import annotations

import logging
import time
from uuid import uuid4

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import ConfigError, TurnTraceCallbackHandler
from langchain_turntrace.testing import answer_message
from tests.agents import three_turn_agent
from tests.fresh_python import run_python
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


def test_an_unreadable_response_is_logged_once_and_its_span_closed() -> None:
    # A fresh interpreter: "once" is per process, and other tests may have logged this error already.
    body = """
        import logging
        from uuid import uuid4
        from langchain_core.messages import HumanMessage
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from langchain_turntrace import TurnTraceCallbackHandler

        logging.basicConfig(level=logging.ERROR, format="LOG %(message)s")
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        handler = TurnTraceCallbackHandler(tracer_provider=provider)
        for _ in range(2):
            run_id = uuid4()
            handler.on_chat_model_start({}, [[HumanMessage("hi")]], run_id=run_id)
            handler.on_llm_end(None, run_id=run_id)  # not an LLMResult
        spans = exporter.get_finished_spans()
        print(len(spans), all(s.attributes["turntrace.incomplete"] is True for s in spans), handler.open_runs)
    """
    result = run_python(body, timeout_s=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2 True 0\n"
    assert result.stderr.count("LOG langchain-turntrace: internal error in on_llm_end") == 1


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


def test_runs_whose_end_never_comes_are_closed_after_the_age_bound(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TURNTRACE_MAX_RUN_S", "0.05")
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    lost, lost_tool = uuid4(), uuid4()
    handler.on_chain_start({}, {}, run_id=lost, name="lost_agent")  # a worker killed mid-run: no end event
    handler.on_tool_start({}, "x", run_id=lost_tool, parent_run_id=lost, name="search")
    time.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="langchain_turntrace"):
        three_turn_agent().invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})
    assert handler.open_runs == 0  # the lost run's state went when the next run started
    assert spans.tree(spans.one("invoke_agent lost_agent")) == "invoke_agent lost_agent\n  execute_tool search"
    for name in ("invoke_agent lost_agent", "execute_tool search"):
        assert spans.attrs(spans.one(name))["turntrace.incomplete"] is True
    assert "turntrace.incomplete" not in spans.attrs(spans.one("invoke_agent agent"))
    assert [r.getMessage().split(";")[0] for r in caplog.records] == [
        "turntrace: closed a run whose end never came (open 0 s"
    ]
    handler.on_tool_end("late", run_id=lost_tool)  # the end that finally arrives is ignored
    handler.on_chain_end({}, run_id=lost)
    assert len(spans.named("invoke_agent lost_agent")) == 1


def test_open_runs_are_bounded_oldest_closed_first(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURNTRACE_MAX_OPEN_RUNS", "3")
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    for i in range(5):
        handler.on_chain_start({}, {}, run_id=uuid4(), name=f"run{i}")
    assert handler.open_runs == 3
    assert [s.name for s in spans.all()] == ["invoke_agent run0", "invoke_agent run1"]
    assert all(spans.attrs(s)["turntrace.incomplete"] is True for s in spans.all())


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TURNTRACE_MAX_RUN_S", "forever", "TURNTRACE_MAX_RUN_S='forever' is not a positive number"),
        ("TURNTRACE_MAX_RUN_S", "-5", "TURNTRACE_MAX_RUN_S='-5' is not a positive number"),
        ("TURNTRACE_MAX_OPEN_RUNS", "1.5", "TURNTRACE_MAX_OPEN_RUNS='1.5' is not a positive whole number"),
    ],
)
def test_bad_run_bounds_are_refused_at_construction(
    name: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        TurnTraceCallbackHandler()
