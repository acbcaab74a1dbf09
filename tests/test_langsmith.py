"""The langsmith backend: the real ``langsmith`` client posting to a LangSmith on 127.0.0.1 (langsmith_server.py)."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import genai_prices
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langsmith import Client
from opentelemetry import context, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from langchain_turntrace import TurnTraceCallbackHandler, configure, dropped_spans
from langchain_turntrace import attributes as attr
from langchain_turntrace.backends import provider_for
from langchain_turntrace.langsmith_backend import connection_problem, read_trace
from langchain_turntrace.langsmith_backend._sender import Operation, RunSender
from langchain_turntrace.store._records import stored_from_readable
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.verify import check_run
from tests.agents import THREE_TURN_TREE, create_agent, explode, state_graph_agent, three_turn_agent
from tests.fresh_python import ROOT, run_python
from tests.langsmith_server import FakeLangSmith, Request, refused_port
from tests.spans import Spans, tree_text

KEY = "lsv2_pt_" + uuid4().hex + "_turntrace"  # fake, and unique enough to find anywhere it leaks
INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
META = {"session_id": "sess-1", "user_id": "user-1", "feature": "weather", "agent_version": "v7"}
TREE = THREE_TURN_TREE.format(name="agent")
RUN_TYPES = {"invoke_agent": "chain", "turn": "chain", "chat": "llm", "execute_tool": "tool"}


def connect(
    monkeypatch: pytest.MonkeyPatch, url: str, exporter: InMemorySpanExporter | None = None, **options: Any
) -> TurnTraceCallbackHandler:
    """configure("langsmith") pointed at ``url`` by the standard variables; ``exporter`` gets the same spans."""
    monkeypatch.setenv("LANGSMITH_ENDPOINT", url)
    monkeypatch.setenv("LANGSMITH_API_KEY", KEY)
    monkeypatch.setenv("LANGSMITH_PROJECT", f"turntrace-{uuid4().hex[:8]}")  # a provider of this test's own
    for name in ("LANGCHAIN_ENDPOINT", "LANGCHAIN_API_KEY", "LANGCHAIN_PROJECT", "LANGSMITH_RUNS_ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING_V2"):  # LangChain's own tracer
        monkeypatch.delenv(name, raising=False)
    handler = configure("langsmith", **options)
    if exporter is not None:
        provider = provider_for("langsmith")
        assert isinstance(provider, TracerProvider)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return handler


def run_tree(runs: dict[UUID, dict[str, Any]]) -> str:
    """One line per run, two spaces per level, siblings by name: the shape of Spans.tree(by_name=True)."""
    children: defaultdict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for run in runs.values():
        children[run.get("parent_run_id")].append(run)
    lines: list[str] = []

    def walk(run: dict[str, Any], depth: int) -> None:
        lines.append("  " * depth + run["name"])
        for child in sorted(children[run["id"]], key=lambda r: r["name"]):
            walk(child, depth + 1)

    for root in sorted(children[None], key=lambda r: r["name"]):
        walk(root, 0)
    return "\n".join(lines)


def metadata(run: dict[str, Any]) -> dict[str, Any]:
    return run["extra"]["metadata"]


def by_span(runs: dict[UUID, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {metadata(run)["otel_span_id"]: run for run in runs.values()}


def span_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.span_id, "016x")


def price(model: str, provider: str = "openai", **usage: int) -> float:
    """genai-prices' own figure, to check the split against."""
    return float(genai_prices.calc_price(genai_prices.Usage(**usage), model, provider_id=provider).total_price)


@pytest.mark.parametrize("multipart", [True, False], ids=["multipart", "batch"])
def test_the_run_tree_reaches_langsmith(
    monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter, spans: Spans, multipart: bool
) -> None:
    with FakeLangSmith(multipart=multipart) as server:
        handler = connect(monkeypatch, server.url, exporter)
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": META})
        assert handler.flush(timeout_s=10)
        runs = server.runs()
    assert server.problems == []
    assert {r.path for r in server.requests} == {"/info", "/runs/multipart" if multipart else "/runs/batch"}

    # Shape first: the same tree as the spans, one run per span.
    assert spans.tree(by_name=True) == TREE
    assert run_tree(runs) == TREE
    assert len(runs) == len(spans.all())

    runs_by_span = by_span(runs)
    root = runs_by_span[span_id(spans.roots()[0])]
    project = os.environ["LANGSMITH_PROJECT"]
    for span in spans.all():
        run = runs_by_span[span_id(span)]
        meta = metadata(run)
        parent = spans.parent(span)
        assert run["name"] == span.name
        assert run["run_type"] == RUN_TYPES[span.name.split(" ")[0]]
        assert run["trace_id"] == root["id"]
        assert run["parent_run_id"] == (runs_by_span[span_id(parent)]["id"] if parent else None)
        segment = run["dotted_order"].rsplit(".", 1)[-1]
        assert segment.endswith("Z" + run["id"])
        assert run["dotted_order"] == (
            f"{runs_by_span[span_id(parent)]['dotted_order']}.{segment}" if parent else segment
        )
        assert run["session_name"] == project
        assert run["end_time"] is not None
        assert "error" not in run
        # Every attribute reads back as it was (the run's own metadata and tags are its own fields, and the list of
        # its JSON-valued keys is spent on decoding them); the session key on every run threads them in LangSmith.
        attributes = stored_from_readable(span).attributes
        own = {k: v for k, v in attributes.items() if not k.startswith("langsmith.") and k != attr.METADATA_JSON_KEYS}
        assert {k: v for k, v in meta.items() if "." in k} == own
        assert (meta["session_id"], meta["thread_id"]) == ("sess-1", "sess-1")
        attributes = spans.attrs(span)
        if run["run_type"] != "llm":
            assert "usage_metadata" not in meta
            assert "ls_provider" not in meta
            continue
        assert (meta["ls_provider"], meta["ls_model_name"]) == ("openai", "gpt-4o-mini")
        usage = meta["usage_metadata"]
        tokens_in, tokens_out = attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]
        assert set(usage) == {
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "input_cost",
            "output_cost",
            "total_cost",
        }
        assert (usage["input_tokens"], usage["output_tokens"]) == (tokens_in, tokens_out)
        assert usage["total_tokens"] == tokens_in + tokens_out
        assert usage["total_cost"] == attributes["turntrace.cost_usd"]
        assert usage["input_cost"] == pytest.approx(price("gpt-4o-mini", input_tokens=tokens_in), rel=1e-9)
        assert usage["output_cost"] == pytest.approx(price("gpt-4o-mini", output_tokens=tokens_out), rel=1e-9)
        assert usage["input_cost"] + usage["output_cost"] == pytest.approx(usage["total_cost"], rel=1e-12)

    # Each run is posted once: agent, turn and tool runs when they start (patched at their end, or merged into one
    # post by the client when both are in one batch), model calls whole when they end.
    posts = [op for op in server.operations if op.kind == "post"]
    assert sorted(op.run["id"] for op in posts) == sorted(str(run_id) for run_id in runs)
    assert all(op.run.get("end_time") for op in posts if op.run["run_type"] == "llm")


def test_usage_details_and_costs_the_table_cannot_split(monkeypatch: pytest.MonkeyPatch) -> None:
    usage = {
        "input_tokens": 1000,
        "output_tokens": 50,
        "total_tokens": 1050,
        "input_token_details": {"cache_read": 600, "cache_creation": 200},
        "output_token_details": {"reasoning": 30},
    }
    cached = ScriptedChatModel(
        model_name="claude-sonnet-4-5", provider="anthropic", script=[AIMessage("hi", usage_metadata=usage)]
    )
    own_rates = ScriptedChatModel(model_name="my-llama-70b", provider="vllm", script=[answer_message("hi")])
    unknown = ScriptedChatModel(model_name="mystery-model", provider="vllm", script=[answer_message("hi")])
    with FakeLangSmith() as server:
        handler = connect(
            monkeypatch, server.url, prices={"my-llama-70b": {"input_per_mtok": 0.6, "output_per_mtok": 0.8}}
        )
        for model in (cached, own_rates, unknown):  # bare model calls: each a trace of one llm run
            model.invoke([HumanMessage("hi")], config={"callbacks": [handler]})
        assert handler.flush(timeout_s=10)
        runs = {run["name"]: run for run in server.runs().values()}
    assert server.problems == []
    assert {name: run["run_type"] for name, run in runs.items()} == dict.fromkeys(
        ["chat claude-sonnet-4-5", "chat my-llama-70b", "chat mystery-model"], "llm"
    )

    claude = metadata(runs["chat claude-sonnet-4-5"])
    assert (claude["ls_provider"], claude["ls_model_name"]) == ("anthropic", "claude-sonnet-4-5")
    priced = claude.pop("usage_metadata")
    input_usd = price(
        "claude-sonnet-4-5", "anthropic", input_tokens=1000, cache_read_tokens=600, cache_write_tokens=200
    )
    output_usd = price("claude-sonnet-4-5", "anthropic", output_tokens=50)
    assert priced == {
        "input_tokens": 1000,
        "output_tokens": 50,
        "total_tokens": 1050,
        "input_token_details": {"cache_read": 600, "cache_creation": 200},
        "output_token_details": {"reasoning": 30},
        "total_cost": claude["turntrace.cost_usd"],
        "input_cost": pytest.approx(input_usd, rel=1e-9),
        "output_cost": pytest.approx(output_usd, rel=1e-9),
    }

    # The user's own rates live in their handler: the total goes, the split cannot be made here.
    own = metadata(runs["chat my-llama-70b"])
    assert own["turntrace.cost_source"] == "override"
    assert own["usage_metadata"] == {
        "input_tokens": 100,
        "output_tokens": 20,
        "total_tokens": 120,
        "total_cost": pytest.approx((100 * 0.6 + 20 * 0.8) / 1e6, rel=1e-12),
    }
    # An unknown model: tokens only, so LangSmith can price it from its own model price map.
    assert metadata(runs["chat mystery-model"])["usage_metadata"] == {
        "input_tokens": 100,
        "output_tokens": 20,
        "total_tokens": 120,
    }


def approval_agent() -> tuple[threading.Event, Any]:
    """An agent whose one tool call waits for a human (the event) before the model answers."""
    approved = threading.Event()

    @tool
    def wait_for_approval(request: str) -> str:
        """Waits until a human approves."""
        approved.wait(10)
        return "approved"

    model = ScriptedChatModel(
        script=[tool_calls_message(("wait_for_approval", {"request": "refund"}, "call_1")), answer_message("done")]
    )
    return approved, create_agent(model, [wait_for_approval])


def test_a_long_run_shows_in_langsmith_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    approved, agent = approval_agent()
    with FakeLangSmith() as server:
        handler = connect(monkeypatch, server.url)
        worker = threading.Thread(target=lambda: agent.invoke(INPUT, config={"callbacks": [handler], "metadata": META}))
        worker.start()
        try:
            running = "execute_tool wait_for_approval"
            assert server.wait_for(lambda: any(op.run["name"] == running for op in server.operations))
            (root,) = [op.run for op in server.operations if op.run.get("parent_run_id") is None]
            assert worker.is_alive()
            # The run, its turn and the tool call waiting for a human show in LangSmith as they run; the model
            # call that asked for the tool went whole when it ended.
            posts = {op.run["name"]: op.run for op in server.operations if op.kind == "post"}
            assert sorted(posts) == sorted(["invoke_agent agent", "turn 1", "chat gpt-4o-mini", running])
            assert all(op.kind == "post" for op in server.operations)
            still_running = sorted(name for name, run in posts.items() if run.get("end_time") is None)
            assert still_running == sorted(["invoke_agent agent", "turn 1", running])
            assert posts[running]["parent_run_id"] == posts["turn 1"]["id"]
            assert posts[running]["inputs"]["tool"] == "wait_for_approval"
            assert root["name"] == "invoke_agent agent"
            assert root["run_type"] == "chain"
            assert root["extra"]["metadata"]["session_id"] == "sess-1"
        finally:
            approved.set()
            worker.join(10)
        assert handler.flush(timeout_s=10)
        runs = server.runs()
    assert server.problems == []
    assert runs[UUID(root["id"])]["end_time"] is not None
    assert run_tree(runs) == tree_text(
        "invoke_agent agent",
        "  turn 1",
        "    chat gpt-4o-mini",
        "    execute_tool wait_for_approval",
        "  turn 2",
        "    chat gpt-4o-mini",
    )


def test_a_run_whose_start_post_was_refused_arrives_whole_at_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first request, with the posts of the runs' starts (the agent, its turn, a tool call still waiting), is
    refused; the later ones are taken: each of those runs arrives whole when it ends, not as a patch of nothing."""
    approved, agent = approval_agent()
    dropped_before = dropped_spans()
    with FakeLangSmith(refuse_first=1) as server:
        handler = connect(monkeypatch, server.url)
        worker = threading.Thread(target=lambda: agent.invoke(INPUT, config={"callbacks": [handler]}))
        worker.start()
        try:
            assert server.wait_for(lambda: server.refuse_first == 0 and len(server.requests) >= 2)
        finally:
            approved.set()
            worker.join(10)
        handler.flush(timeout_s=10)
        runs = server.runs()
    assert server.problems == []  # every run has its name, type and start: none is a patch of a run never posted
    # The refused request also held the first model call, posted whole when it ended: that one is lost, counted.
    assert run_tree(runs) == tree_text(
        "invoke_agent agent",
        "  turn 1",
        "    execute_tool wait_for_approval",
        "  turn 2",
        "    chat gpt-4o-mini",
    )
    assert dropped_spans() == dropped_before + 1


def test_another_instrumentations_error_message_never_reaches_langsmith(monkeypatch: pytest.MonkeyPatch) -> None:
    """A span of the app's own under a tool fails with a message quoting a connection string: with content
    capture off its run says only that it failed."""
    leaky = "cannot connect to postgresql://admin:hunter2@db/prod"

    @tool
    def query(sql: str) -> str:
        """Runs a query."""
        with trace.get_tracer("app").start_as_current_span("db.query"):
            raise ConnectionError(leaky)

    model = ScriptedChatModel(script=[tool_calls_message(("query", {"sql": "select 1"}, "call_q"))])
    with FakeLangSmith() as server:
        handler = connect(monkeypatch, server.url)
        with pytest.raises(ConnectionError):
            state_graph_agent(model, [query], handle_tool_errors=False).invoke(INPUT, config={"callbacks": [handler]})
        assert handler.flush(timeout_s=10)
    assert server.problems == []
    assert "hunter2" not in "\n".join(r.body.decode(errors="replace") for r in server.requests)


@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
def test_errors_are_run_errors_by_type_and_message_when_captured(
    monkeypatch: pytest.MonkeyPatch, capture: bool
) -> None:
    """A failed run says its error's type; its message only with content capture on (a message may quote the
    content the agent was handling)."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", str(capture).lower())
    model = ScriptedChatModel(script=[tool_calls_message(("explode", {"reason": "disk full"}, "call_x"))])
    with FakeLangSmith() as server:
        handler = connect(monkeypatch, server.url)
        with pytest.raises(RuntimeError, match="disk full"):
            state_graph_agent(model, [explode], handle_tool_errors=False).invoke(INPUT, config={"callbacks": [handler]})
        assert handler.flush(timeout_s=10)
        runs = server.runs()
    assert server.problems == []
    errors = {run["name"]: run.get("error") for run in runs.values()}
    failed = "RuntimeError: tool failed: disk full" if capture else "RuntimeError"
    assert errors == {
        "invoke_agent agent": failed,
        "turn 1": None,  # as its span: a turn is not failed by one of its tool calls
        "chat gpt-4o-mini": None,
        "execute_tool explode": failed,
    }
    if not capture:
        assert all("disk full" not in str(run) for run in runs.values())  # the type, never the message


def test_a_streamed_model_call_has_its_first_token_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """LangSmith's first-token time is the time of a run's first ``new_token`` event; no token text is sent."""
    model = ScriptedChatModel(script=[answer_message("It is sunny in Paris today.")])
    with FakeLangSmith() as server:
        handler = connect(monkeypatch, server.url)
        for _ in create_agent(model, []).stream(INPUT, config={"callbacks": [handler]}, stream_mode="messages"):
            pass  # the model streams its answer in chunks
        assert handler.flush(timeout_s=10)
        runs = server.runs()
    assert server.problems == []
    (llm,) = [run for run in runs.values() if run["run_type"] == "llm"]
    (event,) = llm["events"]
    assert event["name"] == "new_token"
    assert "kwargs" not in event or event["kwargs"] == {"token": ""}  # the client keeps its time, never a token
    first = datetime.fromisoformat(event["time"])
    start, end = (datetime.fromisoformat(str(llm[k]).replace("Z", "+00:00")) for k in ("start_time", "end_time"))
    assert start <= first <= end
    first_chunk_s = llm["extra"]["metadata"]["gen_ai.response.time_to_first_chunk"]
    assert abs((first - start).total_seconds() - first_chunk_s) < 2e-6  # LangSmith keeps microseconds


def test_an_agent_under_another_span_nests_under_it_or_is_a_root(monkeypatch: pytest.MonkeyPatch) -> None:
    remote = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True, TraceFlags(TraceFlags.SAMPLED))
    with FakeLangSmith() as server:
        handler = connect(monkeypatch, server.url)
        token = context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))  # a caller's traceparent
        try:
            three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
        finally:
            context.detach(token)
        app_tracer = provider_for("langsmith").get_tracer("app")
        with app_tracer.start_as_current_span("POST /chat"):  # the app's own span, on the same provider
            three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
        assert handler.flush(timeout_s=10)
        runs = server.runs()
    assert server.problems == []
    assert run_tree(runs) == "\n".join(["POST /chat", *("  " + line for line in TREE.splitlines()), TREE])
    (under_remote,) = [r for r in runs.values() if r["parent_run_id"] is None and r["name"] == "invoke_agent agent"]
    assert metadata(under_remote)["otel_trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert metadata(under_remote)["otel_parent_span_id"] == "b7ad6b7169203331"
    assert under_remote["trace_id"] == under_remote["id"]


def test_concurrent_runs_are_separate_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLangSmith() as server:
        handler = connect(monkeypatch, server.url)

        def session(n: int) -> None:
            three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": {"session_id": f"s-{n}"}})

        workers = [threading.Thread(target=session, args=(n,)) for n in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert handler.flush(timeout_s=10)
        runs = server.runs()
    assert server.problems == []
    traces: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs.values():
        traces[run["trace_id"]].append(run)
    assert len(traces) == 4
    for members in traces.values():
        assert run_tree({UUID(r["id"]): r for r in members}) == TREE
        assert len({metadata(r)["session_id"] for r in members}) == 1


def test_the_api_key_goes_only_into_the_auth_header(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every thread: the client's own failure messages included
    with FakeLangSmith() as healthy, FakeLangSmith(fail_status=401) as refusing:
        for server in (healthy, refusing):
            handler = connect(monkeypatch, server.url)
            three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": META})
            assert handler.flush(timeout_s=10) is (server is healthy)
    requests = healthy.requests + refusing.requests
    assert {r.path for r in requests} >= {"/info", "/runs/multipart"}
    for request in requests:
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert headers.pop("x-api-key") == KEY  # the client did authenticate
        assert KEY not in request.path
        assert all(KEY not in value for value in headers.values())
        assert KEY.encode() not in request.body
    assert any("Failed to multipart ingest runs" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in (caplog.handler.format(record) if record.exc_info else "")


@pytest.mark.parametrize("fault", ["refused", "500", "slow"])
def test_langsmith_down_never_slows_or_breaks_the_agent(monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    with FakeLangSmith() as healthy:
        handler = connect(monkeypatch, healthy.url)
        started = time.perf_counter()
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": META})
        healthy_s = time.perf_counter() - started
        assert handler.flush(timeout_s=10)

    with down(fault) as url:
        handler = connect(monkeypatch, url, flush_timeout_s=0.5)  # also bounds this suite's own exit
        started = time.perf_counter()
        result = three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": META})
        faulty_s = time.perf_counter() - started
        started = time.perf_counter()
        flushed = handler.flush(timeout_s=1)
        flush_s = time.perf_counter() - started
    assert result["messages"][-1].content == "Sunny in Paris and Rome."
    assert faulty_s < healthy_s + 1.0  # the agent never waited on LangSmith
    assert not flushed
    assert flush_s < 2.0  # the bound is 1 s; the rest is slack for a loaded machine


@contextmanager
def down(fault: str) -> Generator[str, None, None]:
    """LangSmith unreachable (connections refused), failing every ingest with a 500, or 5 s per answer."""
    if fault == "refused":
        with refused_port() as url:
            yield url
        return
    with FakeLangSmith(fail_status=500) if fault == "500" else FakeLangSmith(delay_s=5) as server:
        yield server.url


ZERO_CODE_AGENT = """
    from langchain_core.messages import HumanMessage
    from tests.agents import three_turn_agent

    three_turn_agent().invoke({"messages": [HumanMessage("hi")]}, config={"metadata": {"session_id": "zero-code"}})
"""


def zero_code_run(url: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """A fresh interpreter tracing to LangSmith at ``url`` from the environment alone; how long it took."""
    env = {
        "TURNTRACE_TRACING": "true",
        "TURNTRACE_BACKEND": "langsmith",
        "TURNTRACE_FLUSH_TIMEOUT_S": "1",
        "LANGSMITH_ENDPOINT": url,
        "LANGSMITH_API_KEY": KEY,
        "LANGSMITH_PROJECT": "zero-code",
        # LangChain's own tracer stays off: these runs are ours to send
        **{name: "" for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING_V2")},
    }
    started = time.perf_counter()
    result = run_python(ZERO_CODE_AGENT, env)
    return result, time.perf_counter() - started


def test_exit_sends_the_runs_and_waits_for_a_hanging_langsmith_only_as_long_as_the_bound() -> None:
    with FakeLangSmith() as healthy:
        result, healthy_s = zero_code_run(healthy.url)
        runs = healthy.runs()
    assert result.returncode == 0, result.stderr
    assert run_tree(runs) == TREE  # flushed by the exit hook
    assert healthy.problems == []

    with FakeLangSmith(delay_s=60) as hanging:
        result, hanging_s = zero_code_run(hanging.url)
        assert hanging.requests  # the client did try
    assert result.returncode == 0, result.stderr
    assert "did not finish within 1.0 s of stopping" in result.stderr
    assert hanging_s < healthy_s + 5  # the bound is 1 s; a hanging LangSmith alone would hold exit for minutes


def test_read_trace_gives_the_spans_back_and_the_checks_pass(
    monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter, spans: Spans
) -> None:
    with FakeLangSmith(page_size=3) as server:  # several pages
        handler = connect(monkeypatch, server.url, exporter)
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": META})
        assert handler.flush(timeout_s=10)
        (root,) = [run for run in server.runs().values() if run["parent_run_id"] is None]
        read = read_trace(Client(api_url=server.url, api_key=KEY, auto_batch_tracing=False), root["id"])
    assert server.problems == []

    def as_sent(span: ReadableSpan) -> Any:
        """LangSmith keeps times to the microsecond, no span links, and the run's own metadata and tags as such."""
        stored = stored_from_readable(span)
        attributes = {
            k: v
            for k, v in stored.attributes.items()
            if not k.startswith("langsmith.") and k != attr.METADATA_JSON_KEYS
        }
        start_ns, end_ns = stored.start_ns // 1000 * 1000, stored.end_ns // 1000 * 1000
        return replace(stored, start_ns=start_ns, end_ns=end_ns, links=(), attributes=attributes)

    assert sorted(read, key=lambda s: s.span_id) == sorted(map(as_sent, spans.all()), key=lambda s: s.span_id)
    failed = [c for c in check_run(read, retention_days=None) if not c.passed]
    assert failed == []


def test_turntrace_verify_through_langsmith_reads_the_runs_back(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "turntrace"
    with FakeLangSmith() as server:
        env = {
            **os.environ,
            "TURNTRACE_BACKEND": "langsmith",
            "LANGSMITH_ENDPOINT": server.url,
            "LANGSMITH_API_KEY": KEY,
            "LANGSMITH_PROJECT": "verify",
            "TURNTRACE_STORE": str(tmp_path / "unused.db"),
            "COLUMNS": "200",
        }
        result = subprocess.run(
            [str(script), "verify"], capture_output=True, text=True, env=env, timeout=120, check=False
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "through langsmith backend" in result.stdout
    assert "✓ runs read back from langsmith: 20 of 20 run(s) read back from LangSmith" in result.stdout
    assert "✓ tool calls under their turn" in result.stdout
    assert server.problems == []
    assert KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("fault", ["no API key", "refused", "hanging"])
def test_turntrace_verify_with_langsmith_unusable_fails_fast_in_one_line(tmp_path: Path, fault: str) -> None:
    """No API key, nothing listening, or a LangSmith that never answers: verify says what to set in one line,
    within 5 s, without the client's multi-line connection logs."""
    with contextlib.ExitStack() as stack:
        if fault == "hanging":
            url = stack.enter_context(FakeLangSmith(delay_s=30)).url
        else:
            url = stack.enter_context(refused_port())
        env = {
            **os.environ,
            "LANGSMITH_ENDPOINT": url,
            "LANGSMITH_API_KEY": KEY,
            "TURNTRACE_STORE": str(tmp_path / "unused.db"),
            "TURNTRACE_STRICT": "false",
            "COLUMNS": "200",
        }
        for name in ("LANGCHAIN_API_KEY", *(["LANGSMITH_API_KEY"] if fault == "no API key" else [])):
            env.pop(name, None)
        started = time.monotonic()
        result = subprocess.run(
            [str(Path(sys.executable).parent / "turntrace"), "verify", "--backend", "langsmith"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        elapsed_s = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed_s < 5, elapsed_s
    expected = {
        "no API key": "✗ langsmith reachable: LANGSMITH_API_KEY is not set: set it to a LangSmith API key",
        "refused": f"✗ langsmith reachable: cannot reach LangSmith at {url}: check LANGSMITH_ENDPOINT",
        "hanging": f"✗ langsmith reachable: cannot reach LangSmith at {url}: check LANGSMITH_ENDPOINT",
    }[fault]
    (line,) = [line for line in result.stdout.splitlines() if "✗" in line]
    assert line.strip().startswith(expected), result.stdout
    assert result.stderr == ""  # no client noise
    assert KEY not in result.stdout


@pytest.mark.parametrize("status", [422, 500])
def test_runs_langsmith_refuses_are_counted_in_dropped_spans(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    """Every span of a trace LangSmith refused is counted once: the root's early post is not a span of its own."""
    with FakeLangSmith(fail_status=status) as server:
        handler = connect(monkeypatch, server.url, flush_timeout_s=1)
        before = dropped_spans()
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": META})
        assert not handler.flush(timeout_s=30)  # the client's own retries of a 500 are bounded
    assert dropped_spans() - before == len(TREE.splitlines())


@dataclass
class HeldIngest(FakeLangSmith):
    """A LangSmith that answers /info after ``info_delay_s`` and holds every ingest until ``release`` is set (or it
    closes): a batch of runs stays in flight as long as the test wants."""

    info_delay_s: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._answering = threading.local()  # the path each of the server's threads answers

    def record(self, request: Request) -> None:
        super().record(request)
        self._answering.path = request.path

    def hold(self) -> None:
        if self._answering.path == "/info":
            self.release.wait(self.info_delay_s)
        else:
            self.release.wait(60)

    def __enter__(self) -> HeldIngest:
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        super().__exit__(*exc)

    def ingests(self) -> int:
        return sum(request.path != "/info" for request in list(self.requests))


def a_run(name: str) -> Operation:
    """A whole run (posted ended) for RunSender, as the processor builds them."""
    run_id, now = str(uuid4()), datetime.now(timezone.utc)
    run: dict[str, Any] = {
        "id": run_id,
        "trace_id": run_id,
        "dotted_order": f"{now:%Y%m%dT%H%M%S%f}Z{run_id}",
        "name": name,
        "run_type": "chain",
        "start_time": now,
        "end_time": now,
        "inputs": {},
        "outputs": {},
        "session_name": "turntrace-sender",
    }
    return lambda: ("post", run)


STOP_WHILE_SENDING = """
    import atexit, sys

    def report():
        from langchain_turntrace import dropped_spans
        print("dropped", dropped_spans(), flush=True)

    atexit.register(report)  # registered first, so it runs last: after the stop hooks
    from langchain_core.messages import HumanMessage
    from langchain_turntrace import configure
    from tests.agents import three_turn_agent

    handler = configure("langsmith")
    three_turn_agent().invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})
    print("ran", flush=True)
    sys.stdin.readline()  # the test says when the run's batch is being sent
"""


def test_a_batch_being_sent_when_the_stop_gives_up_is_counted_in_dropped_spans() -> None:
    """/info answers late, so the whole run leaves in one batch; LangSmith holds that batch until after the stop
    gave up on it (TURNTRACE_FLUSH_TIMEOUT_S=1): every span of it is counted, though none is still queued."""
    with HeldIngest(info_delay_s=2) as server:
        env = {
            **os.environ,
            "TURNTRACE_FLUSH_TIMEOUT_S": "1",
            "LANGSMITH_ENDPOINT": server.url,
            "LANGSMITH_API_KEY": KEY,
            "LANGSMITH_PROJECT": "stop-while-sending",
            # LangChain's own tracer stays off: these runs are ours to send
            **{name: "" for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING_V2")},
        }
        env.pop("TURNTRACE_STRICT", None)
        command = [sys.executable, "-c", textwrap.dedent(STOP_WHILE_SENDING)]
        with subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                assert process.stdout is not None
                assert process.stdout.readline() == "ran\n"
                assert server.wait_for(lambda: server.ingests() == 1, timeout_s=10)  # the batch is being sent
                stdout, stderr = process.communicate("go\n", timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
    assert process.returncode == 0, stderr
    assert stdout.splitlines() == [f"dropped {len(TREE.splitlines())}"], stderr
    assert f"{len(TREE.splitlines())} span(s) not yet sent were lost" in stderr


@pytest.mark.parametrize("status", [None, 422], ids=["arrives", "refused"])
def test_a_batch_the_stop_gave_up_on_is_not_counted_again_however_its_send_ends(status: int | None) -> None:
    dropped: list[int] = []
    with HeldIngest(fail_status=status) as server:
        sender = RunSender(api_url=server.url, api_key=KEY, on_dropped=dropped.append)
        assert sender.put(a_run("first"))
        assert sender.put(a_run("second"))
        assert server.wait_for(lambda: server.ingests() == 1)  # both in one batch, being sent
        assert sender.put(a_run("third"))
        assert sender.give_up() == 3  # the batch being sent and the run behind it
        server.release.set()
        assert not sender.flush(30)  # waits until the send ends, and says not everything arrived
    assert sum(dropped) == 3


def test_a_batch_that_arrives_is_not_counted_dropped_because_the_queue_filled_meanwhile() -> None:
    """A full queue drops a run from the agent's thread while a batch is being sent: that batch still arrives,
    and only the run the queue refused is counted."""
    dropped: list[int] = []
    with HeldIngest() as server:
        sender = RunSender(api_url=server.url, api_key=KEY, max_queued=2, on_dropped=dropped.append)
        assert sender.put(a_run("first"))
        assert server.wait_for(lambda: server.ingests() == 1)  # being sent
        assert sender.put(a_run("second"))
        assert sender.put(a_run("third"))
        assert not sender.put(a_run("fourth"))  # the queue is full
        server.release.set()
        assert not sender.flush(10)  # everything queued was sent, but one run never was
        names = sorted(op.run["name"] for op in server.operations)
    assert names == ["first", "second", "third"]
    assert dropped == [1]


def test_the_langsmith_probe_leaves_several_destinations_to_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """LANGSMITH_RUNS_ENDPOINTS carries a key per destination: no LANGSMITH_API_KEY is then not a mistake."""
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.delenv("LANGCHAIN_API_KEY", raising=False)
    assert "LANGSMITH_API_KEY is not set" in str(connection_problem())
    monkeypatch.setenv("LANGSMITH_RUNS_ENDPOINTS", '{"http://127.0.0.1:9": "lsv2_fake"}')
    assert connection_problem() is None
