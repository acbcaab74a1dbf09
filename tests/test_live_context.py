"""Spans are live (DESIGN.md §2): while a model call or a tool call runs, its span is the current OTel span, so what
runs inside (the provider's HTTP call, the app's own spans, a downstream service through ``traceparent``) nests
under it; afterwards the caller's context is exactly what it was, however the call ended.

One TracerProvider serves the handler and the app (``provider.get_tracer("app")``), as a real app wires them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any, cast

import httpx
import pytest
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import interrupt
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanContext, SpanKind, Tracer

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from tests.agents import create_agent, state_graph_agent
from tests.providers.openai_chat import ChatCompletions
from tests.providers.script import Step, ToolCall, WireUsage
from tests.providers.wire import WireReply, WireRequest, WireServer
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("go")]}
PROVIDER_REQUEST = "provider request"  # the span the fake provider client opens around each request


# -- the world around the agent: the app's tracer, its tools, a provider client that traces its requests --------
@pytest.fixture
def tracer(provider: TracerProvider) -> Tracer:
    return provider.get_tracer("app")


@pytest.fixture(autouse=True)
def no_detach_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A token detached in a context other than the one it was attached in is logged by OTel, never raised:
    every test here also fails on that log."""
    caplog.set_level(logging.ERROR, logger="opentelemetry.context")
    yield
    gc.collect()  # an abandoned generator's clean-up runs now, while the test still owns the log
    assert detach_errors(caplog) == []


def detach_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "opentelemetry.context"]


class ProviderBackedModel(ScriptedChatModel):
    """The scripted model behind a provider client that opens a span per request, as an instrumented SDK does."""

    tracer: Tracer

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self.tracer.start_as_current_span(PROVIDER_REQUEST, kind=SpanKind.CLIENT):
            return super()._generate(messages, stop, run_manager, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await asyncio.sleep(0)  # a real await, so the request span lives across a suspension
        with self.tracer.start_as_current_span(PROVIDER_REQUEST, kind=SpanKind.CLIENT):
            await asyncio.sleep(0)
            return super()._generate(messages, stop, None, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self.tracer.start_as_current_span(PROVIDER_REQUEST, kind=SpanKind.CLIENT):
            chunks = list(super()._stream(messages, stop, None, **kwargs))
        for chunk in chunks:
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        await asyncio.sleep(0)
        with self.tracer.start_as_current_span(PROVIDER_REQUEST, kind=SpanKind.CLIENT):
            chunks = list(super()._stream(messages, stop, None, **kwargs))
        for chunk in chunks:
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def lookup_tool(tracer: Tracer) -> BaseTool:
    """A tool that queries the app's database: one span ``db {city}`` of its own."""

    @tool
    def lookup(city: str) -> str:
        """Looks a city up in the app's database."""
        with tracer.start_as_current_span(f"db {city}"):
            return f"{city}: 21C"

    return lookup


def async_lookup_tool(tracer: Tracer) -> BaseTool:
    @tool
    async def lookup(city: str) -> str:
        """Looks a city up in the app's database, without blocking the loop."""
        await asyncio.sleep(0)
        with tracer.start_as_current_span(f"db {city}"):
            await asyncio.sleep(0)
            return f"{city}: 21C"

    return lookup


def lookup_script(*cities: str) -> list[Any]:
    """Turn 1 looks every city up (parallel tool calls ``call_{city}``); turn 2 answers."""
    calls = [("lookup", {"city": city}, f"call_{city}") for city in cities]
    return [tool_calls_message(*calls), answer_message("All looked up.")]


def lookup_agent(tracer: Tracer, *cities: str, async_tool: bool = False) -> Any:
    model = ProviderBackedModel(script=lookup_script(*cities), tracer=tracer)
    return create_agent(model, [async_lookup_tool(tracer) if async_tool else lookup_tool(tracer)], name="weather")


# -- reading the tree: exact parents, one trace ---------------------------------------------------------------
def ctx(span: ReadableSpan) -> SpanContext:
    assert span.context is not None
    return span.context


def assert_child(spans: Spans, child: ReadableSpan, parent: ReadableSpan) -> None:
    """``child`` was started while ``parent`` was the current span: its parent id is exactly ``parent``'s."""
    assert child.parent is not None, f"{child.name!r} started with no span current (it is a root of its own)"
    found = spans.parent(child)
    actual = found.name if found is not None else f"unknown span {child.parent.span_id:016x}"
    assert child.parent.span_id == ctx(parent).span_id, f"{child.name!r} is under {actual!r}, not {parent.name!r}"
    assert ctx(child).trace_id == ctx(parent).trace_id


def assert_one_trace(spans: Spans, root: ReadableSpan) -> None:
    assert {ctx(s).trace_id for s in spans.all()} == {ctx(root).trace_id}


def agent_root(spans: Spans, name: str = "weather") -> ReadableSpan:
    return spans.one(f"invoke_agent {name}")


def tool_span(spans: Spans, call_id: str) -> ReadableSpan:
    found = [s for s in spans.named("execute_tool") if spans.attrs(s).get("gen_ai.tool.call.id") == call_id]
    assert len(found) == 1, f"expected one execute_tool span for {call_id!r}, got {len(found)}"
    return found[0]


def assert_lookups_under_their_tools(spans: Spans, *cities: str) -> None:
    for city in cities:
        assert_child(spans, spans.one(f"db {city}"), tool_span(spans, f"call_{city}"))


def assert_requests_under_their_chats(spans: Spans) -> None:
    """Each model call's provider request is the one child of its own ``chat`` span."""
    chats = spans.named("chat ")
    assert chats
    assert len([s for s in spans.all() if s.name == PROVIDER_REQUEST]) == len(chats)
    for chat in chats:
        assert [child.name for child in spans.children(chat)] == [PROVIDER_REQUEST], chat.name


# -- point 1: what runs inside a call nests under its span ----------------------------------------------------
def test_a_tools_own_span_nests_under_its_execute_tool(provider: TracerProvider, tracer: Tracer, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    lookup_agent(tracer, "Paris").invoke(INPUT, config={"callbacks": [handler]})

    assert_lookups_under_their_tools(spans, "Paris")
    assert_requests_under_their_chats(spans)
    assert_one_trace(spans, agent_root(spans))
    assert handler.open_runs == 0


def test_traceparent_injected_inside_a_tool_names_the_tool_span(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    carriers: list[dict[str, str]] = []

    @tool
    def call_service(path: str) -> str:
        """Calls a downstream service, propagating the trace in its headers."""
        headers: dict[str, str] = {}
        propagate.inject(headers)
        carriers.append(headers)
        return "ok"

    model = ScriptedChatModel(script=[tool_calls_message(("call_service", {"path": "/x"}, "c1")), answer_message("ok")])
    create_agent(model, [call_service], name="weather").invoke(INPUT, config={"callbacks": [handler]})

    [headers] = carriers
    assert "traceparent" in headers, f"nothing was current inside the tool: {headers}"
    version, trace_id, span_id, flags = headers["traceparent"].split("-")
    tool_call = tool_span(spans, "c1")
    assert (version, int(trace_id, 16), int(span_id, 16)) == ("00", ctx(tool_call).trace_id, ctx(tool_call).span_id)
    assert int(flags, 16) & 0x01 == 0x01  # sampled, as the tool span is
    assert ctx(tool_call).trace_id == ctx(agent_root(spans)).trace_id


async def test_ainvoke_with_an_async_tool(provider: TracerProvider, tracer: Tracer, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    await lookup_agent(tracer, "Paris", async_tool=True).ainvoke(INPUT, config={"callbacks": [handler]})

    assert_lookups_under_their_tools(spans, "Paris")
    assert_requests_under_their_chats(spans)
    assert_one_trace(spans, agent_root(spans))


async def test_ainvoke_with_a_sync_tool(provider: TracerProvider, tracer: Tracer, spans: Spans) -> None:
    """A sync tool under ainvoke runs in an executor thread: its span must travel there."""
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    await lookup_agent(tracer, "Paris").ainvoke(INPUT, config={"callbacks": [handler]})

    assert_lookups_under_their_tools(spans, "Paris")
    assert_requests_under_their_chats(spans)
    assert_one_trace(spans, agent_root(spans))


CITIES = ("Paris", "Rome", "Lima")


def meeting_lookup_tool(tracer: Tracer, threads: set[int]) -> BaseTool:
    """Every call waits for the others before opening its span: the calls provably overlap, on their threads."""
    barrier = threading.Barrier(len(CITIES), timeout=10)

    @tool
    def lookup(city: str) -> str:
        """Looks a city up in the app's database."""
        threads.add(threading.get_ident())
        barrier.wait()
        with tracer.start_as_current_span(f"db {city}"):
            barrier.wait()  # every span is open at once
            return f"{city}: 21C"

    return lookup


def create_agent_builder(model: ScriptedChatModel, tools: list[Any]) -> Any:
    return create_agent(model, tools, name="weather")


def state_graph_builder(model: ScriptedChatModel, tools: list[Any]) -> Any:
    return state_graph_agent(model, tools).with_config(run_name="weather")


@pytest.mark.parametrize("build", [create_agent_builder, state_graph_builder], ids=["create_agent", "StateGraph"])
def test_parallel_tool_calls_on_worker_threads_each_nest_under_their_own_tool(
    provider: TracerProvider, tracer: Tracer, spans: Spans, build: Callable[[ScriptedChatModel, list[Any]], Any]
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    threads: set[int] = set()
    model = ProviderBackedModel(script=lookup_script(*CITIES), tracer=tracer)
    build(model, [meeting_lookup_tool(tracer, threads)]).invoke(INPUT, config={"callbacks": [handler]})

    assert len(threads) == len(CITIES)
    assert threading.get_ident() not in threads
    assert_lookups_under_their_tools(spans, *CITIES)
    assert_requests_under_their_chats(spans)
    assert_one_trace(spans, agent_root(spans))


async def test_parallel_async_tool_calls_each_nest_under_their_own_tool(
    provider: TracerProvider, tracer: Tracer, spans: Spans
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    started: list[str] = []
    all_started = asyncio.Event()

    @tool
    async def lookup(city: str) -> str:
        """Looks a city up in the app's database, waiting for the other lookups to be in flight."""
        with tracer.start_as_current_span(f"db {city}"):
            started.append(city)
            if len(started) == len(CITIES):
                all_started.set()
            await asyncio.wait_for(all_started.wait(), timeout=10)
            return f"{city}: 21C"

    model = ProviderBackedModel(script=lookup_script(*CITIES), tracer=tracer)
    await create_agent(model, [lookup], name="weather").ainvoke(INPUT, config={"callbacks": [handler]})

    assert_lookups_under_their_tools(spans, *CITIES)
    assert_requests_under_their_chats(spans)
    assert_one_trace(spans, agent_root(spans))


@pytest.mark.parametrize("stream_mode", ["updates", "messages"])
def test_stream(provider: TracerProvider, tracer: Tracer, spans: Spans, stream_mode: str) -> None:
    """ "messages" streams the model's tokens: LangGraph then runs every node on a worker thread."""
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    chunks = list(
        lookup_agent(tracer, "Paris", "Rome").stream(INPUT, config={"callbacks": [handler]}, stream_mode=stream_mode)
    )

    assert chunks
    assert_lookups_under_their_tools(spans, "Paris", "Rome")
    assert_requests_under_their_chats(spans)
    assert_one_trace(spans, agent_root(spans))


@pytest.mark.parametrize("stream_mode", ["updates", "messages"])
async def test_astream(provider: TracerProvider, tracer: Tracer, spans: Spans, stream_mode: str) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    agent = lookup_agent(tracer, "Paris", "Rome", async_tool=True)
    chunks = [chunk async for chunk in agent.astream(INPUT, config={"callbacks": [handler]}, stream_mode=stream_mode)]

    assert chunks
    assert_lookups_under_their_tools(spans, "Paris", "Rome")
    assert_requests_under_their_chats(spans)
    assert_one_trace(spans, agent_root(spans))


def test_model_call_inside_a_tool_nests_with_its_request_under_the_tool(
    provider: TracerProvider, tracer: Tracer, spans: Spans
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    summarizer = ProviderBackedModel(
        model_name="claude-haiku-4-5", provider="anthropic", script=[answer_message("short")], tracer=tracer
    )
    current_in_tool: list[int] = []

    @tool
    def summarize(text: str, config: RunnableConfig) -> str:
        """Summarises with a model call of its own, then stores the summary."""
        current_in_tool.append(trace.get_current_span().get_span_context().span_id)
        summary = str(summarizer.invoke(text, config=config).content)
        current_in_tool.append(trace.get_current_span().get_span_context().span_id)
        with tracer.start_as_current_span("db store"):
            return summary

    model = ProviderBackedModel(
        script=[tool_calls_message(("summarize", {"text": "long"}, "c1")), answer_message("done")], tracer=tracer
    )
    create_agent(model, [summarize], name="weather").invoke(INPUT, config={"callbacks": [handler]})

    tool_call = tool_span(spans, "c1")
    assert_child(spans, spans.one("chat claude-haiku-4-5"), tool_call)
    assert_requests_under_their_chats(spans)
    assert_child(spans, spans.one("db store"), tool_call)
    assert current_in_tool == [ctx(tool_call).span_id] * 2  # the tool's span, before and after its model call
    assert_one_trace(spans, agent_root(spans))


def test_subagent_inside_a_tool_nests_under_the_tool(provider: TracerProvider, tracer: Tracer, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    sub_model = ProviderBackedModel(
        model_name="claude-sonnet-4-5", provider="anthropic", script=lookup_script("Lima"), tracer=tracer
    )
    researcher = create_agent(sub_model, [lookup_tool(tracer)], name="researcher")

    @tool
    def research(question: str, config: RunnableConfig) -> str:
        """Delegates to the research subagent."""
        result = researcher.invoke({"messages": [HumanMessage(question)]}, config=config)
        return str(result["messages"][-1].content)

    model = ProviderBackedModel(
        script=[tool_calls_message(("research", {"question": "Lima?"}, "c1")), answer_message("done")], tracer=tracer
    )
    create_agent(model, [research], name="weather").invoke(INPUT, config={"callbacks": [handler]})

    assert_child(spans, agent_root(spans, "researcher"), tool_span(spans, "c1"))
    assert_lookups_under_their_tools(spans, "Lima")
    assert_requests_under_their_chats(spans)
    assert len(spans.named("chat ")) == 4
    assert_one_trace(spans, agent_root(spans))


def test_agent_inside_the_apps_request_span(provider: TracerProvider, tracer: Tracer, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with tracer.start_as_current_span("request") as request:
        lookup_agent(tracer, "Paris", "Rome").invoke(INPUT, config={"callbacks": [handler]})
        assert trace.get_current_span() is request

    request_span = spans.one("request")
    assert_child(spans, agent_root(spans), request_span)
    assert_lookups_under_their_tools(spans, "Paris", "Rome")
    assert_requests_under_their_chats(spans)
    assert_one_trace(spans, request_span)


# -- the provider's real client over HTTP, and a downstream service through traceparent ------------------------
@pytest.fixture
def instrumented_httpx(provider: TracerProvider) -> Iterator[None]:
    pytest.importorskip("opentelemetry.instrumentation.httpx", reason="needs the [test] extra")
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    try:
        yield
    finally:
        HTTPXClientInstrumentor().uninstrument()


FORECAST_TOOL = "forecast"
FORECAST_STEPS = (
    Step(1, (ToolCall("call_forecast", FORECAST_TOOL, {"city": "Paris"}),), None, WireUsage(40, 8), 0),
    Step(2, (), "Sunny in Paris.", WireUsage(60, 6), 1),
)


class LoopbackServices(WireServer):
    """Two services of the outside world on one loopback server: the model provider (OpenAI's Chat Completions:
    a ``forecast`` tool call, then the answer) and a forecast service, ``GET /forecast?city=``, that continues
    the caller's trace from its ``traceparent`` header with a SERVER span of ``tracer``, ended before it answers."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._provider = ChatCompletions(FORECAST_STEPS)
        super().__init__(self._answer)

    @property
    def chat_requests(self) -> list[WireRequest]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    def _answer(self, request: WireRequest) -> WireReply:
        if request.path != "/forecast":
            return self._provider(request)
        parent = propagate.extract(dict(request.headers))
        with self._tracer.start_as_current_span("GET /forecast", context=parent, kind=SpanKind.SERVER):
            body = {"city": request.query.get("city", ["?"])[0], "temp_c": 21}
        return WireReply.json(body, priced=False)


@pytest.fixture
def services(tracer: Tracer) -> Iterator[LoopbackServices]:
    running = LoopbackServices(tracer)
    with running:
        yield running


def openai_model(services: LoopbackServices, **clients: Any) -> Any:
    pytest.importorskip("langchain_openai", reason="needs the [test] extra")
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        model="gpt-4o-mini", base_url=f"{services.url}/v1", api_key=SecretStr("test"), max_retries=0, **clients
    )


def http_client_spans(spans: Spans, path: str) -> list[ReadableSpan]:
    """The httpx instrumentation's CLIENT spans for requests to ``path`` (old or stable HTTP semconv names)."""
    found: list[ReadableSpan] = []
    for span in spans.all():
        attrs = spans.attrs(span)
        url = str(attrs.get("url.full", attrs.get("http.url", "")))
        if span.kind is SpanKind.CLIENT and url.split("?")[0].endswith(path):
            found.append(span)
    return sorted(found, key=lambda s: s.start_time or 0)


def assert_provider_and_service_calls_nest(spans: Spans, services: LoopbackServices) -> None:
    assert len(services.chat_requests) == 2
    chats = spans.named("chat gpt-4o-mini")
    completions = http_client_spans(spans, "/v1/chat/completions")
    assert len(chats) == len(completions) == 2
    for chat, completion in zip(chats, completions, strict=True):
        assert_child(spans, completion, chat)

    [service_call] = http_client_spans(spans, "/forecast")
    assert_child(spans, service_call, tool_span(spans, "call_forecast"))
    server = spans.one("GET /forecast")
    assert server.kind is SpanKind.SERVER
    assert_child(spans, server, service_call)
    assert_one_trace(spans, agent_root(spans))


@pytest.mark.usefixtures("instrumented_httpx")
def test_openai_over_http_nests_under_chat_and_a_downstream_service_under_the_tool(
    provider: TracerProvider, spans: Spans, services: LoopbackServices
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)

    @tool(FORECAST_TOOL)
    def forecast(city: str) -> str:
        """Asks the forecast service."""
        with httpx.Client() as client:
            return client.get(f"{services.url}/forecast", params={"city": city}).text

    with httpx.Client() as http_client:
        model = openai_model(services, http_client=http_client)
        create_agent(model, [forecast], name="weather").invoke(INPUT, config={"callbacks": [handler]})

    assert_provider_and_service_calls_nest(spans, services)


@pytest.mark.usefixtures("instrumented_httpx")
async def test_async_openai_over_http_nests_under_chat_and_a_downstream_service_under_the_tool(
    provider: TracerProvider, spans: Spans, services: LoopbackServices
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)

    @tool(FORECAST_TOOL)
    async def forecast(city: str) -> str:
        """Asks the forecast service."""
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{services.url}/forecast", params={"city": city})).text

    async with httpx.AsyncClient() as http_async_client:
        model = openai_model(services, http_async_client=http_async_client)
        await create_agent(model, [forecast], name="weather").ainvoke(INPUT, config={"callbacks": [handler]})

    assert_provider_and_service_calls_nest(spans, services)


# -- point 2: the caller's context afterwards is exactly the one before -----------------------------------------
@contextlib.contextmanager
def caller(tracer: Tracer, app_span: bool) -> Generator[None, None, None]:
    """Where the agent is called from: no span at all, or inside the app's own request span."""
    if not app_span:
        yield
        return
    with tracer.start_as_current_span("request"):
        yield


class Unchanged:
    """The caller's OTel context, taken now, to be found again by identity (not merely an equal span)."""

    def __init__(self) -> None:
        self.context = otel_context.get_current()
        self.span = trace.get_current_span()

    def check(self) -> None:
        current = trace.get_current_span()
        assert current is self.span, f"current span is {current!r}, was {self.span!r}"
        assert otel_context.get_current() is self.context


def approval_tool(tracer: Tracer) -> BaseTool:
    @tool
    def approve(amount: int) -> str:
        """Asks a human to approve a payment."""
        with tracer.start_as_current_span("db hold"):
            decision = interrupt({"amount": amount})
        return f"approved: {decision}"

    return approve


def raising_tool(tracer: Tracer, error: BaseException) -> BaseTool:
    @tool
    def lookup(city: str) -> str:
        """Looks a city up, and fails."""
        with tracer.start_as_current_span(f"db {city}"):
            raise error

    return lookup


SYNC_OUTCOMES = ["returned", "tool raised", "model raised", "interrupted", "ctrl-c"]


@pytest.mark.parametrize("app_span", [False, True], ids=["no app span", "in app span"])
@pytest.mark.parametrize("outcome", SYNC_OUTCOMES)
def test_caller_context_is_restored_after_invoke(
    provider: TracerProvider,
    tracer: Tracer,
    spans: Spans,
    caplog: pytest.LogCaptureFixture,
    outcome: str,
    app_span: bool,
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    config: dict[str, Any] = {"callbacks": [handler]}
    script = lookup_script("Paris")
    tools = [lookup_tool(tracer)]
    if outcome == "tool raised":
        tools = [raising_tool(tracer, RuntimeError("database down"))]
    elif outcome == "ctrl-c":
        tools = [raising_tool(tracer, KeyboardInterrupt())]
    elif outcome == "model raised":
        script = [script[0], RuntimeError("provider down")]
    elif outcome == "interrupted":
        script = [tool_calls_message(("approve", {"amount": 10}, "call_Paris")), answer_message("paid")]
        tools = [approval_tool(tracer)]
        config["configurable"] = {"thread_id": "t-1"}
    model = ProviderBackedModel(script=script, tracer=tracer)
    agent = create_agent(
        model, tools, name="weather", checkpointer=InMemorySaver() if outcome == "interrupted" else None
    )
    expected: type[BaseException] | None = {
        "tool raised": RuntimeError,
        "model raised": RuntimeError,
        "ctrl-c": KeyboardInterrupt,
    }.get(outcome)

    with caller(tracer, app_span):
        before = Unchanged()
        if expected is None:
            result = agent.invoke(INPUT, config=config)
            assert ("__interrupt__" in result) is (outcome == "interrupted")
        else:
            with pytest.raises(expected):
                agent.invoke(INPUT, config=config)
        before.check()
    assert trace.get_current_span() is trace.INVALID_SPAN

    assert detach_errors(caplog) == []
    assert handler.open_runs == 0
    assert spans.named("db "), "the tool ran and opened its span"


@pytest.mark.parametrize("app_span", [False, True], ids=["no app span", "in app span"])
@pytest.mark.parametrize("outcome", ["returned", "tool raised"])
async def test_caller_context_is_restored_after_ainvoke(
    provider: TracerProvider,
    tracer: Tracer,
    spans: Spans,
    caplog: pytest.LogCaptureFixture,
    outcome: str,
    app_span: bool,
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    tool_ = async_lookup_tool(tracer) if outcome == "returned" else raising_tool(tracer, RuntimeError("database down"))
    agent = create_agent(ProviderBackedModel(script=lookup_script("Paris"), tracer=tracer), [tool_], name="weather")

    with caller(tracer, app_span):
        before = Unchanged()
        if outcome == "returned":
            await agent.ainvoke(INPUT, config={"callbacks": [handler]})
        else:
            with pytest.raises(RuntimeError):
                await agent.ainvoke(INPUT, config={"callbacks": [handler]})
        before.check()

    assert detach_errors(caplog) == []
    assert handler.open_runs == 0


@pytest.mark.parametrize("app_span", [False, True], ids=["no app span", "in app span"])
async def test_caller_context_is_restored_after_a_cancelled_ainvoke(
    provider: TracerProvider, tracer: Tracer, spans: Spans, caplog: pytest.LogCaptureFixture, app_span: bool
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    tool_running = asyncio.Event()

    @tool
    async def lookup(city: str) -> str:
        """A lookup that takes far too long."""
        with tracer.start_as_current_span(f"db {city}"):
            tool_running.set()
            await asyncio.sleep(30)
            return "never"

    agent = create_agent(ProviderBackedModel(script=lookup_script("Paris"), tracer=tracer), [lookup], name="weather")
    checked: list[bool] = []

    async def call_agent() -> None:
        """The caller, in its own task: its context is the one the agent's callbacks must leave as they found it."""
        with caller(tracer, app_span):
            before = Unchanged()
            try:
                await agent.ainvoke(INPUT, config={"callbacks": [handler]})
            except asyncio.CancelledError:
                before.check()
                checked.append(True)
                raise

    task = asyncio.ensure_future(call_agent())
    await asyncio.wait_for(tool_running.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert checked == [True]
    assert_child(spans, spans.one("db Paris"), tool_span(spans, "call_Paris"))
    assert detach_errors(caplog) == []
    assert handler.open_runs == 0


def agent_stream(tracer: Tracer, handler: TurnTraceCallbackHandler, stream_mode: str) -> Generator[Any, None, None]:
    return lookup_agent(tracer, "Paris").stream(INPUT, config={"callbacks": [handler]}, stream_mode=stream_mode)


def model_stream(tracer: Tracer, handler: TurnTraceCallbackHandler, stream_mode: str) -> Generator[Any, None, None]:
    """A bare chat model's stream: the consumer runs between its chunks, in the middle of the model call."""
    model = ProviderBackedModel(script=[answer_message("Sunny in Paris and Rome.")], tracer=tracer)
    stream = model.stream("weather?", config={"callbacks": [handler]})
    return cast("Generator[Any, None, None]", stream)  # BaseChatModel.stream is a generator, typed as an Iterator


@pytest.mark.parametrize("app_span", [False, True], ids=["no app span", "in app span"])
@pytest.mark.parametrize("abandon", ["close", "gc"])
@pytest.mark.parametrize(
    ("open_stream", "stream_mode"),
    [(agent_stream, "updates"), (agent_stream, "messages"), (model_stream, "")],
    ids=["agent updates", "agent messages", "bare model"],
)
def test_caller_context_is_restored_after_an_abandoned_stream(
    provider: TracerProvider,
    tracer: Tracer,
    spans: Spans,
    caplog: pytest.LogCaptureFixture,
    open_stream: Callable[[Tracer, TurnTraceCallbackHandler, str], Generator[Any, None, None]],
    stream_mode: str,
    abandon: str,
    app_span: bool,
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with caller(tracer, app_span):
        before = Unchanged()
        stream = open_stream(tracer, handler, stream_mode)
        for _ in stream:
            break  # the consumer reads one chunk and walks away
        if abandon == "close":
            stream.close()
        del stream
        gc.collect()
        before.check()

    assert detach_errors(caplog) == []
    assert handler.open_runs == 0


@pytest.mark.parametrize("app_span", [False, True], ids=["no app span", "in app span"])
@pytest.mark.parametrize("stream_mode", ["updates", "messages"])
async def test_caller_context_is_restored_after_an_abandoned_astream(
    provider: TracerProvider,
    tracer: Tracer,
    spans: Spans,
    caplog: pytest.LogCaptureFixture,
    stream_mode: str,
    app_span: bool,
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    agent = lookup_agent(tracer, "Paris", async_tool=True)
    with caller(tracer, app_span):
        before = Unchanged()
        stream = agent.astream(INPUT, config={"callbacks": [handler]}, stream_mode=stream_mode)
        async for _ in stream:
            break
        await stream.aclose()
        before.check()

    assert detach_errors(caplog) == []
    assert handler.open_runs == 0


# A call made straight from the caller's code, with no graph node's copied context in between: what the caller's
# context is after it rests on the handler alone.
DIRECT_CALLS = ["model returned", "model raised", "tool returned", "tool raised", "tool ctrl-c", "stream abandoned"]


def failure_for(what: str) -> BaseException | None:
    if what.endswith("raised"):
        return RuntimeError("down")
    return KeyboardInterrupt() if what.endswith("ctrl-c") else None


def call_directly(tracer: Tracer, config: RunnableConfig, what: str) -> None:
    error = failure_for(what)
    if what.startswith("tool"):
        chosen = lookup_tool(tracer) if error is None else raising_tool(tracer, error)
        chosen.invoke({"city": "Paris"}, config=config)
        return
    model = ProviderBackedModel(script=[answer_message("Sunny in Paris.") if error is None else error], tracer=tracer)
    if what == "stream abandoned":
        stream = model.stream("weather?", config=config)
        next(stream)
        assert isinstance(stream, Generator)  # typed as an Iterator
        stream.close()
    else:
        model.invoke("weather?", config=config)


async def acall_directly(tracer: Tracer, config: RunnableConfig, what: str) -> None:
    error = failure_for(what)
    if what.startswith("tool"):
        chosen = async_lookup_tool(tracer) if error is None else raising_tool(tracer, error)
        await chosen.ainvoke({"city": "Paris"}, config=config)
        return
    model = ProviderBackedModel(script=[answer_message("Sunny in Paris.") if error is None else error], tracer=tracer)
    if what == "stream abandoned":
        stream = model.astream("weather?", config=config)
        await anext(stream)
        assert isinstance(stream, AsyncGenerator)  # typed as an AsyncIterator
        await stream.aclose()
    else:
        await model.ainvoke("weather?", config=config)


@pytest.mark.parametrize("what", DIRECT_CALLS)
def test_a_direct_calls_own_work_nests_under_its_lone_span(
    provider: TracerProvider, tracer: Tracer, spans: Spans, what: str
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with contextlib.suppress(RuntimeError, KeyboardInterrupt):
        call_directly(tracer, {"callbacks": [handler]}, what)

    assert_direct_call_nests(spans, what)


@pytest.mark.parametrize("what", DIRECT_CALLS)
async def test_a_direct_async_calls_own_work_nests_under_its_lone_span(
    provider: TracerProvider, tracer: Tracer, spans: Spans, what: str
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with contextlib.suppress(RuntimeError, KeyboardInterrupt):
        await acall_directly(tracer, {"callbacks": [handler]}, what)

    assert_direct_call_nests(spans, what)


def assert_direct_call_nests(spans: Spans, what: str) -> None:
    if what.startswith("tool"):
        assert_child(spans, spans.one("db Paris"), spans.one("execute_tool lookup"))
    else:
        assert_requests_under_their_chats(spans)


@pytest.mark.parametrize("app_span", [False, True], ids=["no app span", "in app span"])
@pytest.mark.parametrize("what", DIRECT_CALLS)
def test_caller_context_is_restored_after_a_direct_call(
    provider: TracerProvider, tracer: Tracer, spans: Spans, caplog: pytest.LogCaptureFixture, what: str, app_span: bool
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with caller(tracer, app_span):
        before = Unchanged()
        with contextlib.suppress(RuntimeError, KeyboardInterrupt):
            call_directly(tracer, {"callbacks": [handler]}, what)
        before.check()

    assert detach_errors(caplog) == []
    assert handler.open_runs == 0


@pytest.mark.parametrize("app_span", [False, True], ids=["no app span", "in app span"])
@pytest.mark.parametrize("what", DIRECT_CALLS)
async def test_caller_context_is_restored_after_a_direct_async_call(
    provider: TracerProvider, tracer: Tracer, spans: Spans, caplog: pytest.LogCaptureFixture, what: str, app_span: bool
) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with caller(tracer, app_span):
        before = Unchanged()
        with contextlib.suppress(RuntimeError, KeyboardInterrupt):
            await acall_directly(tracer, {"callbacks": [handler]}, what)
        before.check()

    assert detach_errors(caplog) == []
    assert handler.open_runs == 0


@pytest.mark.parametrize("what", DIRECT_CALLS)
def test_a_tools_own_context_is_restored_after_a_call_inside_it(
    provider: TracerProvider, tracer: Tracer, spans: Spans, caplog: pytest.LogCaptureFixture, what: str
) -> None:
    """Inside a tool the caller is the tool: after its own model or tool call, however that ended, the tool's
    span is current again and what the tool does next nests under it."""
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    current_in_tool: list[int] = []

    @tool
    def research(question: str, config: RunnableConfig) -> str:
        """Researches with calls of its own, then stores what it found."""
        before = Unchanged()
        current_in_tool.append(before.span.get_span_context().span_id)
        with contextlib.suppress(RuntimeError, KeyboardInterrupt):
            call_directly(tracer, config, what)
        before.check()
        with tracer.start_as_current_span("db store"):
            return "found"

    model = ScriptedChatModel(script=[tool_calls_message(("research", {"question": "q"}, "c1")), answer_message("ok")])
    create_agent(model, [research], name="weather").invoke(INPUT, config={"callbacks": [handler]})

    tool_call = tool_span(spans, "c1")
    assert current_in_tool == [ctx(tool_call).span_id]
    assert_child(spans, spans.one("db store"), tool_call)
    assert detach_errors(caplog) == []
    assert handler.open_runs == 0


@pytest.mark.parametrize("what", DIRECT_CALLS)
async def test_an_async_tools_own_context_is_restored_after_a_call_inside_it(
    provider: TracerProvider, tracer: Tracer, spans: Spans, caplog: pytest.LogCaptureFixture, what: str
) -> None:
    """The same inside an async tool, where LangChain ends an async model call from tasks of its own."""
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    current_in_tool: list[int] = []

    @tool
    async def research(question: str, config: RunnableConfig) -> str:
        """Researches with calls of its own, then stores what it found."""
        before = Unchanged()
        current_in_tool.append(before.span.get_span_context().span_id)
        with contextlib.suppress(RuntimeError, KeyboardInterrupt):
            await acall_directly(tracer, config, what)
        before.check()
        with tracer.start_as_current_span("db store"):
            return "found"

    model = ScriptedChatModel(script=[tool_calls_message(("research", {"question": "q"}, "c1")), answer_message("ok")])
    await create_agent(model, [research], name="weather").ainvoke(INPUT, config={"callbacks": [handler]})

    tool_call = tool_span(spans, "c1")
    assert current_in_tool == [ctx(tool_call).span_id]
    assert_child(spans, spans.one("db store"), tool_call)
    assert detach_errors(caplog) == []
    assert handler.open_runs == 0
