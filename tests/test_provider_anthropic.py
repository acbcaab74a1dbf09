"""langchain-anthropic against a loopback server speaking Anthropic's Messages API, JSON and server-sent events.

Also the anthropic SDK's own spans (``anthropic.messages.create``, issue 14 point 5): where they land once ours are
live, which ``gen_ai.usage.*`` they repeat, and the two switches that turn them off."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from langsmith import Client
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from langchain_turntrace.backends import provider_for
from langchain_turntrace.langsmith_backend import read_trace
from langchain_turntrace.store import SpanStore, SqliteSpanExporter
from tests.agents import create_agent
from tests.fresh_python import run_python
from tests.langsmith_server import FakeLangSmith
from tests.providers.anthropic_messages import MODEL, RESPONSE_MODEL, Messages, error_body
from tests.providers.checks import Pricing, check_failed_answer, check_three_turn_run, ours
from tests.providers.modes import DRIVES, Drive, run
from tests.providers.script import AGENT_NAME, PROMPT, TOOLS, Step, WireUsage, three_steps
from tests.providers.wire import OutageAfter, WireServer
from tests.spans import Spans
from tests.test_langsmith import connect

langchain_anthropic = pytest.importorskip("langchain_anthropic", reason="langchain-anthropic is not installed")
anthropic = pytest.importorskip("anthropic", reason="the anthropic SDK is not installed")

# Older anthropic SDKs (1.x) warn that this model nears its end of life; the model is what genai-prices prices with
# one-hour writes and a long-context tier, which is why these tests use it.
pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated:DeprecationWarning")

PRICING = Pricing("anthropic", "default")
# The anthropic SDK traces its own calls since 1.14.0 (the ``open_telemetry`` client option).
sdk_traces = pytest.mark.skipif(
    "open_telemetry" not in inspect.signature(anthropic.Anthropic).parameters,
    reason="this anthropic SDK emits no spans of its own (it does from 1.14.0)",
)
SDK_SCOPE = "com.anthropic.sdk.python"
SDK_SPAN = "anthropic.messages.create"

# Five-minute and one-hour cache writes, cache reads, and a call past 200k input tokens (Claude Sonnet 4.5's
# long-context rates apply to the whole call).
STEPS = three_steps(
    [
        WireUsage(input_tokens=12_000, output_tokens=80, cache_write_5m=8_000, cache_write_1h=2_000),
        WireUsage(input_tokens=215_000, output_tokens=60, cache_read=10_000, cache_write_1h=1_500),
        WireUsage(input_tokens=16_000, output_tokens=120, cache_read=12_000, cache_write_5m=1_500),
    ]
)
# From a stream langchain-anthropic reads the usage of ``message_delta``, which has no TTL breakdown: it passes the
# writes on as ``cache_creation`` alone, so streamed calls can only be held to five-minute writes (see
# test_streamed_one_hour_cache_writes for the one-hour ones).
STREAMED_STEPS = three_steps(
    [
        WireUsage(input_tokens=12_000, output_tokens=80, cache_write_5m=10_000),
        WireUsage(input_tokens=215_000, output_tokens=60, cache_read=10_000, cache_write_5m=1_500),
        WireUsage(input_tokens=16_000, output_tokens=120, cache_read=12_000, cache_write_5m=1_500),
    ]
)


def chat_anthropic(url: str, *, streaming: bool = False, **options: Any) -> Any:
    """ChatAnthropic on the loopback server; ``streaming`` is only passed when set (``streaming=False`` given
    explicitly would turn streaming off even under ``stream_mode="messages"``)."""
    if streaming:
        options["streaming"] = True
    options.setdefault("max_retries", 0)
    return langchain_anthropic.ChatAnthropic(model=MODEL, base_url=url, api_key="test", **options)


def check_run(spans: Spans, responder: Messages, priced: Any, steps: tuple[Step, ...], *, streamed: bool) -> None:
    assert responder.streamed == [streamed] * len(steps), responder.streamed
    check_three_turn_run(
        spans,
        priced,
        steps,
        model=MODEL,
        pricing=PRICING,
        finish_words=[responder.stop_reason(s) for s in steps],
        # a stream's message id (in message_start) is not passed on by langchain-anthropic
        response_ids=[None if streamed else responder.response_id(s) for s in steps],
        response_model=RESPONSE_MODEL,
        streamed=streamed,
    )


@pytest.mark.parametrize("drive", DRIVES, ids=lambda d: d.id)
async def test_messages(drive: Drive, provider: TracerProvider, spans: Spans) -> None:
    steps = STREAMED_STEPS if drive.streamed else STEPS
    responder = Messages(steps)
    with WireServer(responder) as server:
        agent = create_agent(chat_anthropic(server.url, streaming=drive.model_streaming), TOOLS, name=AGENT_NAME)
        await run(agent, drive, {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        priced = server.priced
    check_run(spans, responder, priced, steps, streamed=drive.streamed)


@pytest.mark.xfail(
    strict=True,
    reason="langchain-anthropic drops the TTL breakdown of a stream's cache writes: message_start has it, but only "
    "message_delta's usage (no cache_creation object) reaches usage_metadata, so one-hour writes cannot be told apart",
)
def test_streamed_one_hour_cache_writes(provider: TracerProvider, spans: Spans) -> None:
    responder = Messages(STEPS)
    with WireServer(responder) as server:
        agent = create_agent(chat_anthropic(server.url, streaming=True), TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        priced = server.priced
    check_run(spans, responder, priced, STEPS, streamed=True)


def traced_by_sdk(model: Any, option: Any) -> None:
    """Gives the model's anthropic client an ``open_telemetry`` option. ChatAnthropic takes no client option; it
    builds its client once, lazily, as the cached ``_client``, so a configured copy goes in its place."""
    client = model._client.with_options(open_telemetry=option)  # pyright: ignore[reportPrivateUsage]  # see docstring
    model.__dict__["_client"] = client


def sdk_spans(spans: Spans) -> list[ReadableSpan]:
    return sorted(
        (s for s in spans.all() if s.instrumentation_scope and s.instrumentation_scope.name == SDK_SCOPE),
        key=lambda s: s.start_time or 0,
    )


def int_attribute(span: ReadableSpan, key: str) -> int:
    value = (span.attributes or {}).get(key, 0)
    assert isinstance(value, int), (span.name, key, value)
    return value


def usage_of(span: ReadableSpan) -> dict[str, Any]:
    return {k: v for k, v in (span.attributes or {}).items() if k.startswith("gen_ai.usage.")}


@sdk_traces
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "streamed"])
def test_sdk_spans_nest_under_the_chat_span_and_repeat_its_usage(
    streamed: bool, provider: TracerProvider, spans: Spans
) -> None:
    steps = STREAMED_STEPS if streamed else STEPS
    responder = Messages(steps)
    with WireServer(responder) as server:
        model = chat_anthropic(server.url, streaming=streamed)
        traced_by_sdk(model, {"tracer_provider": provider})
        agent = create_agent(model, TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
    chats = [s for s in ours(spans) if s.name.startswith("chat ")]
    sdk = sdk_spans(spans)
    assert [s.name for s in sdk] == [SDK_SPAN] * 3
    parents = [spans.parent(s) for s in sdk]
    assert [p.name if p else None for p in parents] == [f"chat {MODEL}"] * 3
    assert {id(p) for p in parents} <= {id(c) for c in chats}
    assert len({p.context.span_id for p in parents if p and p.context}) == 3  # one SDK span under each chat span
    for span, step in zip(sdk, steps, strict=True):
        u = step.usage
        assert usage_of(span) == {
            attr.GEN_AI_USAGE_INPUT_TOKENS: u.input_tokens,
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: u.output_tokens,
            attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: u.cache_read,
            attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: u.cache_write,
        }, usage_of(span)
        a = dict(span.attributes or {})
        assert a["anthropic.usage.cache_creation.ephemeral_5m_input_tokens"] == u.cache_write_5m
        assert a["anthropic.usage.cache_creation.ephemeral_1h_input_tokens"] == u.cache_write_1h
        assert a.get("gen_ai.request.stream", False) is streamed
        assert not any("cost" in key for key in a)
    # A backend summing gen_ai.usage.* over the whole trace counts every call twice: once on our chat span, once
    # on the SDK's span beneath it.
    root = next(s for s in ours(spans) if s.name.startswith("invoke_agent"))
    summed = sum(int_attribute(s, attr.GEN_AI_USAGE_INPUT_TOKENS) for s in spans.all())
    assert summed == 2 * int_attribute(root, attr.TOTAL_INPUT_TOKENS)


@sdk_traces
def test_our_store_shows_the_sdk_spans_and_counts_each_call_once(
    provider: TracerProvider, spans: Spans, tmp_path: Path
) -> None:
    """The store keeps the SDK's spans in the waterfall but counts usage on our chat spans only (they are from
    another instrumentation scope), so ``turntrace cost`` and the runs list equal the agent's own totals."""
    db = tmp_path / "traces.db"
    provider.add_span_processor(SimpleSpanProcessor(SqliteSpanExporter(db)))
    responder = Messages(STEPS)
    with WireServer(responder) as server:
        model = chat_anthropic(server.url)
        traced_by_sdk(model, {"tracer_provider": provider})
        agent = create_agent(model, TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
    root = next(s for s in ours(spans) if s.name.startswith("invoke_agent"))
    assert len(sdk_spans(spans)) == 3
    with SpanStore.open(db, create=False) as store:
        (row,) = store.cost_by("model", None)
        (run,) = store.runs(None, None, None, None, limit=10)
        stored = store.run_spans(run.run_id)
    assert (row.calls, row.input_tokens) == (3, int_attribute(root, attr.TOTAL_INPUT_TOKENS))
    total_cost = dict(root.attributes or {})[attr.TOTAL_COST_USD]
    assert isinstance(total_cost, float)
    assert row.cost_usd == pytest.approx(total_cost, abs=1e-9)
    assert run.input_tokens == row.input_tokens
    shown = [s for s in stored if s.name == SDK_SPAN]
    assert len(shown) == 3
    assert {s.role for s in shown} == {"other"}  # in the waterfall, never a model call of its own
    assert all(s.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] for s in shown)  # its attributes kept as sent


@sdk_traces
def test_langsmith_gets_the_sdk_span_as_a_chain_without_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    """LangSmith sums usage_metadata up the run tree: only our llm runs carry it. Read back, the SDK's run is
    still not a model call of ours."""
    with FakeLangSmith() as langsmith:
        handler = connect(monkeypatch, langsmith.url)
        with WireServer(Messages(STEPS)) as server:
            model = chat_anthropic(server.url)
            traced_by_sdk(model, {"tracer_provider": provider_for("langsmith")})
            agent = create_agent(model, TOOLS, name=AGENT_NAME)
            agent.invoke(PROMPT, config={"callbacks": [handler]})
        assert handler.flush(timeout_s=10)
        runs = list(langsmith.runs().values())
        (root,) = [run for run in runs if run["parent_run_id"] is None]
        read = read_trace(Client(api_url=langsmith.url, api_key="test", auto_batch_tracing=False), root["id"])
    assert langsmith.problems == []
    sdk_runs = [run for run in runs if run["name"] == SDK_SPAN]
    assert len(sdk_runs) == 3
    assert {run["run_type"] for run in sdk_runs} == {"chain"}
    assert all("usage_metadata" not in run["extra"]["metadata"] for run in sdk_runs)
    counted = sum(run["extra"]["metadata"].get("usage_metadata", {}).get("input_tokens", 0) for run in runs)
    assert counted == sum(step.usage.input_tokens for step in STEPS)
    assert {span.role for span in read if span.name == SDK_SPAN} == {"other"}


@sdk_traces
def test_sdk_spans_off_through_the_client_option(provider: TracerProvider, spans: Spans) -> None:
    responder = Messages(STEPS)
    with WireServer(responder) as server:
        model = chat_anthropic(server.url)
        traced_by_sdk(model, {"tracer_provider": provider, "traces": False})
        agent = create_agent(model, TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
    assert len([s for s in ours(spans) if s.name.startswith("chat ")]) == 3
    assert sdk_spans(spans) == []


@sdk_traces
def test_sdk_spans_on_the_global_provider_and_the_environment_switch() -> None:
    """An app that sets its provider globally: the SDK's spans and ours land on it, the SDK's under our chat
    spans, until ANTHROPIC_OPEN_TELEMETRY=false (read when the client is built). A fresh interpreter: the global
    provider can be set once per process."""
    body = """
        import os
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from langchain_turntrace import TurnTraceCallbackHandler
        from tests.agents import create_agent
        from tests.providers.script import AGENT_NAME, PROMPT, TOOLS
        from tests.providers.wire import OutageAfter, WireServer
        from tests.test_provider_anthropic import STEPS, Messages, chat_anthropic

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        for switch in ("", "false"):
            os.environ["ANTHROPIC_OPEN_TELEMETRY"] = switch
            exporter.clear()
            with WireServer(Messages(STEPS)) as server:
                agent = create_agent(chat_anthropic(server.url), TOOLS, name=AGENT_NAME)
                agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler()]})
            finished = exporter.get_finished_spans()
            names = {s.context.span_id: s.name for s in finished}
            sdk = [s for s in finished if s.instrumentation_scope.name == "com.anthropic.sdk.python"]
            print(switch or "on", len(sdk), sorted({names.get(s.parent.span_id) for s in sdk}))
    """
    result = run_python(body, {"TURNTRACE_STORE": "/nonexistent/dir/never-written.db"}, timeout_s=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"on 3 ['chat {MODEL}']", "false 0 []"], result.stdout


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "streamed"])
def test_a_retry_that_succeeds_is_one_call_priced_once(streaming: bool, provider: TracerProvider, spans: Spans) -> None:
    """HTTP 500 on the first request, then the client's retry succeeds: one chat span per model call, none an
    ERROR, each priced once."""
    steps = STREAMED_STEPS if streaming else STEPS
    responder = Messages(steps)
    with WireServer(responder, error_body=error_body) as server:
        server.fail_next(500)
        model = chat_anthropic(server.url, streaming=streaming, max_retries=1)
        agent = create_agent(model, TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        assert [r.status for r in server.replies] == [500, 200, 200, 200]
        priced = server.priced
    check_run(spans, responder, priced, steps, streamed=streaming)
    assert all(s.status.status_code is not StatusCode.ERROR for s in ours(spans))


@pytest.mark.parametrize("status", [429, 500])
def test_retries_exhausted_fail_the_call_unpriced(status: int, provider: TracerProvider, spans: Spans) -> None:
    outage = OutageAfter(Messages(STEPS), answered=2, status=status, times=2)
    with WireServer(outage, error_body=error_body) as server:
        outage.server = server
        agent = create_agent(chat_anthropic(server.url, max_retries=1), TOOLS, name=AGENT_NAME)
        with pytest.raises(anthropic.APIStatusError) as raised:
            agent.invoke(PROMPT, config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]})
        assert [r.status for r in server.replies] == [200, 200, status, status]
        priced = server.priced
    check_failed_answer(spans, priced, STEPS, model=MODEL, pricing=PRICING, failed=raised.type)
