"""configure(): one switch for the backend; zero-code tracing; flushes and exit that a slow backend cannot hang."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace import ConfigError, TurnTraceCallbackHandler, configure, trace_every_run
from langchain_turntrace.store import SpanStore
from langchain_turntrace.wiring import global_handler
from tests.agents import THREE_TURN_TREE, three_turn_agent
from tests.fresh_python import run_python
from tests.otlp_receiver import OtlpReceiver
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
TREE = THREE_TURN_TREE.format(name="agent")
META = {"metadata": {"session_id": "s-1"}}


@pytest.fixture
def every_run() -> Iterator[None]:
    """Zero-code tracing is process-wide: each test that switches it on gets it switched off again."""
    yield
    trace_every_run(None)


def script(body: str, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter, as an app started with these environment variables would be."""
    return run_python(body, env, timeout_s=timeout_s)


AGENT_WITHOUT_CALLBACKS = """
    from langchain_core.messages import HumanMessage
    from tests.agents import three_turn_agent

    three_turn_agent().invoke({"messages": [HumanMessage("hi")]}, config={"metadata": {"session_id": "zero-code"}})
"""


def test_local_backend_writes_the_store_once_however_often_configured(tmp_path: Path) -> None:
    store = tmp_path / "traces.db"
    first = configure("local", store_path=store, feature="f")
    second = configure("local", store_path=store, feature="f")  # e.g. configured per request
    three_turn_agent().invoke(INPUT, config={"callbacks": [first], **META})
    three_turn_agent().invoke(INPUT, config={"callbacks": [second], **META})
    assert first.flush(timeout_s=10)
    with SpanStore.open(store, create=False) as db:
        runs = db.runs(None, "s-1", None, None)
        assert [run.turns for run in runs] == [3, 3]
        assert [len(db.run_spans(run.run_id)) for run in runs] == [10, 10]  # not 20: one exporter, not two


def test_backend_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNTRACE_BACKEND", "none")
    handler = configure(store_path=tmp_path / "unused.db")
    result = three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    assert result["messages"][-1].content == "Sunny in Paris and Rome."
    assert handler.flush(timeout_s=1)
    assert not (tmp_path / "unused.db").exists()


@pytest.mark.parametrize(
    ("env", "argument", "message"),
    [
        ({"TURNTRACE_BACKEND": "jaeger"}, None, "TURNTRACE_BACKEND='jaeger' is not a backend; use one of local, otlp"),
        ({}, "Local", "backend='Local' is not a backend"),
        ({"TURNTRACE_FLUSH_TIMEOUT_S": "soon"}, "none", "TURNTRACE_FLUSH_TIMEOUT_S='soon' is not a number"),
        ({"TURNTRACE_FLUSH_TIMEOUT_S": "-1"}, "none", "must be a positive number of seconds"),
    ],
)
def test_bad_backend_settings_fail_at_configuration(
    env: dict[str, str], argument: str | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        configure(argument)


def test_an_unwritable_store_or_bad_retention_fails_at_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"cannot create the store .*a-file/traces.db .*point TURNTRACE_STORE at a"):
        configure("local", store_path=blocker / "traces.db")
    monkeypatch.setenv("TURNTRACE_RETENTION_DAYS", "a month")
    with pytest.raises(ConfigError, match="TURNTRACE_RETENTION_DAYS"):
        configure("local", store_path=tmp_path / "other.db")


def test_configure_refuses_a_provider_of_its_own() -> None:
    with pytest.raises(TypeError, match="pass tracer_provider= to TurnTraceCallbackHandler"):
        configure("none", tracer_provider=TracerProvider())


def test_trace_every_run_without_callbacks(provider: TracerProvider, spans: Spans, every_run: None) -> None:
    trace_every_run(TurnTraceCallbackHandler(tracer_provider=provider))
    three_turn_agent().invoke(INPUT, config=META)

    # A thread the app starts itself (a web server's worker) is traced too.
    worker = threading.Thread(target=lambda: three_turn_agent().invoke(INPUT, config=META))
    worker.start()
    worker.join()
    roots = spans.roots()
    assert [spans.tree(root, by_name=True) for root in roots] == [TREE, TREE]
    assert all(spans.attrs(s)["session.id"] == "s-1" for s in spans.all())

    trace_every_run(None)
    three_turn_agent().invoke(INPUT)
    assert len(spans.roots()) == 2


def test_an_explicit_handler_is_not_doubled_by_the_global_one(
    provider: TracerProvider, spans: Spans, every_run: None
) -> None:
    global_spans = TracerProvider()
    global_exporter = InMemorySpanExporter()
    global_spans.add_span_processor(SimpleSpanProcessor(global_exporter))
    trace_every_run(TurnTraceCallbackHandler(tracer_provider=global_spans))
    three_turn_agent().invoke(INPUT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
    assert [spans.tree(root, by_name=True) for root in spans.roots()] == [TREE]
    assert global_exporter.get_finished_spans() == ()


def test_zero_code_tracing_from_the_environment_alone(tmp_path: Path) -> None:
    store = tmp_path / "traces.db"
    result = script(AGENT_WITHOUT_CALLBACKS, {"TURNTRACE_TRACING": "true", "TURNTRACE_STORE": str(store)})
    assert result.returncode == 0, result.stderr
    with SpanStore.open(store, create=False) as db:  # flushed by the exit hook
        runs = db.runs(None, "zero-code", None, None)
        assert [(run.agent, run.turns, run.tool_calls) for run in runs] == [("agent", 3, 3)]


def test_zero_code_console_backend_prints_the_spans() -> None:
    result = script(AGENT_WITHOUT_CALLBACKS, {"TURNTRACE_TRACING": "1", "TURNTRACE_BACKEND": "console"})
    assert result.returncode == 0, result.stderr
    decoder = json.JSONDecoder()
    text, at = result.stdout, 0
    names: list[str] = []
    while (at := text.find("{", at)) != -1:  # ConsoleSpanExporter prints one indented JSON object per span
        span, at = decoder.raw_decode(text, at)
        names.append(span["name"])
    assert sorted(names) == sorted(line.strip() for line in TREE.splitlines())


def test_zero_code_with_bad_settings_warns_and_the_app_still_runs() -> None:
    result = script("print('app ran')", {"TURNTRACE_TRACING": "true", "TURNTRACE_BACKEND": "jeager"}, timeout_s=60)
    assert result.returncode == 0
    assert result.stdout == "app ran\n"
    assert result.stderr.strip() == (
        "turntrace: tracing is off (TURNTRACE_TRACING is set): "
        "TURNTRACE_BACKEND='jeager' is not a backend; use one of local, otlp, langsmith, console, none."
    )


def test_without_the_switch_nothing_is_imported() -> None:
    result = script("import sys; print('langchain_turntrace' in sys.modules)", {"TURNTRACE_TRACING": ""})
    assert result.stdout == "False\n", result.stderr


def test_flush_returns_within_its_bound_when_the_backend_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    with OtlpReceiver(delay_s=5) as server:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", server.url())
        handler = configure("otlp", flush_timeout_s=0.5)  # also bounds the suite's own exit
        started = time.perf_counter()
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
        invoke_s = time.perf_counter() - started
        started = time.perf_counter()
        flushed = handler.flush(timeout_s=0.5)
        flush_s = time.perf_counter() - started
    assert not flushed
    assert flush_s < 2.0  # the bound is 0.5 s; the rest is slack for a loaded machine
    assert invoke_s < 2.0  # the agent never waited on the 5-second backend


def test_exit_waits_for_a_hanging_backend_only_as_long_as_the_bound() -> None:
    with OtlpReceiver(delay_s=30) as server:
        env = {
            "TURNTRACE_TRACING": "true",
            "TURNTRACE_BACKEND": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": server.url(),
            "TURNTRACE_FLUSH_TIMEOUT_S": "1",
        }
        started = time.perf_counter()
        result = script(AGENT_WITHOUT_CALLBACKS, env)
        exit_s = time.perf_counter() - started
        assert server.requests >= 1  # the exporter did try
    assert result.returncode == 0, result.stderr
    assert "did not finish within 1.0 s of stopping; 10 span(s) not yet sent were lost" in result.stderr
    assert "TURNTRACE_FLUSH_TIMEOUT_S" in result.stderr
    assert exit_s < 20  # start-up and the agent take a few seconds; the backend alone would hold it 30+


def test_global_handler_reports_what_traces_every_run(every_run: None) -> None:
    assert global_handler() is None
    handler = configure("none")
    trace_every_run(handler)
    assert global_handler() is handler


def test_a_handler_made_before_the_app_sets_its_provider_follows_that_provider() -> None:
    body = """
        from langchain_core.messages import HumanMessage
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from langchain_turntrace import TurnTraceCallbackHandler
        from tests.agents import three_turn_agent

        handler = TurnTraceCallbackHandler()  # at import time, say, before the app's telemetry set-up
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        three_turn_agent().invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})
        print(len(exporter.get_finished_spans()))
    """
    result = script(body, {"TURNTRACE_STORE": "/nonexistent/dir/never-written.db"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "10\n"
