"""langchain-openai against a loopback server speaking OpenAI's wire formats: Chat Completions and Responses, as JSON
and as server-sent events, in every way of running an agent; flex and priority service tiers; provider errors
through the client's own retries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from tests.agents import create_agent
from tests.providers.checks import (
    COST_TOLERANCE_USD,
    Pricing,
    check_counted_once,
    check_model_call,
    check_three_turn_run,
    ours,
)
from tests.providers.modes import DRIVES, Drive, run
from tests.providers.openai_chat import ChatCompletions, error_body
from tests.providers.openai_responses import Responses
from tests.providers.script import AGENT_NAME, PROMPT, TOOLS, Step, WireUsage, expected_tree, three_steps
from tests.providers.wire import WireReply, WireRequest, WireServer
from tests.spans import Spans

langchain_openai = pytest.importorskip("langchain_openai", reason="langchain-openai is not installed")
openai = pytest.importorskip("openai", reason="the openai SDK is not installed")

GPT = "gpt-4o-mini"
REASONER = "o4-mini"  # a reasoning model with flex and priority prices


def service_tier(body: Mapping[str, Any]) -> Mapping[str, str] | None:
    tier = body.get("service_tier")
    return {"service_tier": tier} if isinstance(tier, str) else None


CHAT_PRICING = Pricing("openai", "chat", service_tier)
RESPONSES_PRICING = Pricing("openai", "responses", service_tier)

STEPS = three_steps(
    [
        WireUsage(input_tokens=1200, output_tokens=60, cache_read=1024),
        WireUsage(input_tokens=1450, output_tokens=42, cache_read=1152),
        WireUsage(input_tokens=1600, output_tokens=90, cache_read=1408),
    ]
)
REASONING_STEPS = three_steps(
    [
        WireUsage(input_tokens=2400, output_tokens=620, cache_read=1024, reasoning=512),
        WireUsage(input_tokens=2650, output_tokens=300, cache_read=2048, reasoning=256),
        WireUsage(input_tokens=2900, output_tokens=450, cache_read=2560, reasoning=192),
    ]
)


Api = Literal["chat", "responses"]
Responder = ChatCompletions | Responses
PRICING: Mapping[Api, Pricing] = {"chat": CHAT_PRICING, "responses": RESPONSES_PRICING}


def responder_for(api: Api, steps: Sequence[Step], *, model: str = GPT, tier: str | None = None) -> Responder:
    if api == "chat":
        return ChatCompletions(steps, model=model, service_tier=tier)
    return Responses(steps, model=model, service_tier=tier)


def chat_openai(api: Api, server: WireServer, model: str, *, streaming: bool, max_retries: int = 0) -> Any:
    """``streaming=False`` leaves it unset, so LangGraph's ``stream_mode="messages"`` may still stream the call (an
    explicit False would forbid it). ``stream_usage=True`` is what ChatOpenAI sets by itself against api.openai.com;
    any ``base_url`` turns that default off (and a streamed Chat Completions call then reports no usage at all)."""
    options: dict[str, Any] = {"streaming": True} if streaming else {}
    return langchain_openai.ChatOpenAI(
        model=model,
        base_url=f"{server.url}/v1",
        api_key="sk-test",
        stream_usage=True,
        use_responses_api=api == "responses",
        max_retries=max_retries,
        **options,
    )


def response_ids(api: Api, responder: Responder, steps: Sequence[Step], *, streamed: bool) -> list[str | None]:
    """The ids the client passes on: langchain-openai drops a streamed Chat Completion's ``chatcmpl-`` id (the
    message id becomes LangChain's ``lc_run-...``); the Responses API's ``resp_`` id arrives either way."""
    if api == "chat" and streamed:
        return [None for _ in steps]
    return [responder.response_id(s) for s in steps]


def check_wire(api: Api, server: WireServer, *, streamed: bool, requests: int = 3) -> None:
    """What the client actually sent: a streamed request over the wire, or not, and usage asked for when streamed."""
    assert len(server.requests) == requests, [r.path for r in server.requests]
    path = "/v1/chat/completions" if api == "chat" else "/v1/responses"
    for request in server.requests:
        body: Mapping[str, Any] = request.body or {}
        assert request.path == path, request.path
        assert body.get("stream", False) is streamed, body.get("stream")
        if api == "chat":
            assert body.get("stream_options") == ({"include_usage": True} if streamed else None), body
    assert all(isinstance(r.body, bytes) is not streamed for r in server.replies if r.status == 200)


def handler_config(provider: TracerProvider) -> dict[str, Any]:
    return {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]}


@pytest.mark.parametrize("drive", DRIVES, ids=[d.id for d in DRIVES])
@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_three_turn_run(api: Api, drive: Drive, provider: TracerProvider, spans: Spans) -> None:
    responder = responder_for(api, STEPS)
    with WireServer(responder) as server:
        model = chat_openai(api, server, responder.model, streaming=drive.model_streaming)
        await run(create_agent(model, TOOLS, name=AGENT_NAME), drive, handler_config(provider))
        check_wire(api, server, streamed=drive.streamed)
        priced = server.priced
    check_three_turn_run(
        spans,
        priced,
        STEPS,
        model=responder.model,
        pricing=PRICING[api],
        finish_words=[responder.finish_reason(s) for s in STEPS],
        response_ids=response_ids(api, responder, STEPS, streamed=drive.streamed),
        response_model=responder.model,
        streamed=drive.streamed,
    )
    for chat in chats(spans):  # OpenAI names the tier it ran a call in, "default" included
        assert dict(chat.attributes or {}).get(attr.SERVICE_TIER) == "default", (chat.name, chat.attributes)


def test_streamed_call_without_usage_has_no_tokens_and_no_cost(provider: TracerProvider, spans: Spans) -> None:
    """ChatOpenAI with a ``base_url`` and no ``stream_usage`` streams without ``stream_options``, so OpenAI sends no
    usage: the calls carry no token counts and no cost (never a cost of 0), and the totals count nothing."""
    responder = ChatCompletions(STEPS)
    with WireServer(responder) as server:
        model = langchain_openai.ChatOpenAI(model=GPT, base_url=f"{server.url}/v1", api_key="sk-test", max_retries=0)
        agent = create_agent(model, TOOLS, name=AGENT_NAME)
        for _ in agent.stream(PROMPT, config=handler_config(provider), stream_mode="messages"):
            pass
        assert [r.body.get("stream_options") for r in server.requests if r.body] == [None, None, None]
        assert server.priced == []
    assert spans.tree(spans.roots()[0], by_name=True) == expected_tree(GPT)
    for chat in chats(spans):
        a = dict(chat.attributes or {})
        assert not {k for k in a if k.startswith("gen_ai.usage.") or k == attr.COST_USD}, (chat.name, a)
        assert isinstance(a.get(attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK), float)
    check_counted_once(spans)


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("tier", ["flex", "priority"])
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_service_tier(api: Api, tier: str, streaming: bool, provider: TracerProvider, spans: Spans) -> None:
    """langchain-openai renames the usage details of a flex or priority call (``flex_cache_read``,
    ``flex_reasoning``, ...); the tokens must still be read and the call priced at its tier."""
    responder = responder_for(api, REASONING_STEPS, model=REASONER, tier=tier)
    with WireServer(responder) as server:
        agent = create_agent(chat_openai(api, server, REASONER, streaming=streaming), TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config=handler_config(provider))
        check_wire(api, server, streamed=streaming)
        priced = server.priced
    assert all(body["service_tier"] == tier for body in priced)
    check_three_turn_run(
        spans,
        priced,
        REASONING_STEPS,
        model=REASONER,
        pricing=PRICING[api],
        finish_words=[responder.finish_reason(s) for s in REASONING_STEPS],
        response_ids=response_ids(api, responder, REASONING_STEPS, streamed=streaming),
        response_model=REASONER,
        streamed=streaming,
    )
    for chat in chats(spans):
        assert dict(chat.attributes or {}).get(attr.SERVICE_TIER) == tier, (chat.name, chat.attributes)


def chats(spans: Spans) -> list[ReadableSpan]:
    return sorted((s for s in ours(spans) if s.name.startswith("chat ")), key=lambda s: s.start_time or 0)


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_retry_that_succeeds_is_one_call_priced_once(
    api: Api, streaming: bool, provider: TracerProvider, spans: Spans
) -> None:
    """HTTP 500 on the first request, then the client's retry succeeds: still one chat span per model call, OK."""
    responder = responder_for(api, STEPS)
    with WireServer(responder, error_body=error_body) as server:
        server.fail_next(500)
        agent = create_agent(chat_openai(api, server, GPT, streaming=streaming, max_retries=2), TOOLS, name=AGENT_NAME)
        agent.invoke(PROMPT, config=handler_config(provider))
        assert [r.status for r in server.replies] == [500, 200, 200, 200]
        priced = server.priced
    check_three_turn_run(
        spans,
        priced,
        STEPS,
        model=GPT,
        pricing=PRICING[api],
        finish_words=[responder.finish_reason(s) for s in STEPS],
        response_ids=response_ids(api, responder, STEPS, streamed=streaming),
        response_model=GPT,
        streamed=streaming,
    )
    assert all(s.status.status_code is not StatusCode.ERROR for s in ours(spans))


class OutageAtAnswer:
    """Answers the tool-calling steps, then fails the final answer's request ``times`` times with ``status``."""

    def __init__(self, inner: Responder, status: int, times: int) -> None:
        self.inner = inner
        self.status = status
        self.times = times
        self.server: WireServer | None = None

    def __call__(self, request: WireRequest) -> WireReply:
        reply = self.inner(request)
        assert self.server is not None
        if len(self.server.priced) == 1:  # this reply is the second step's: the answer's request fails next
            self.server.fail_next(self.status, self.times)
        return reply


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, "RateLimitError"), (500, "InternalServerError")],
    ids=["429", "500"],
)
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_retries_exhausted_fail_the_call_unpriced(
    api: Api, status: int, error: str, provider: TracerProvider, spans: Spans
) -> None:
    """The final answer's request fails on every try: its chat span is an ERROR with ``error.type`` and no usage or
    cost, the run is an ERROR, and the totals hold the two calls that were answered, once."""
    max_retries = 1
    inner = responder_for(api, STEPS)
    outage = OutageAtAnswer(inner, status, times=max_retries + 1)
    with WireServer(outage, error_body=error_body) as server:
        outage.server = server
        agent = create_agent(
            chat_openai(api, server, GPT, streaming=False, max_retries=max_retries), TOOLS, name=AGENT_NAME
        )
        with pytest.raises(getattr(openai, error)) as raised:
            agent.invoke(PROMPT, config=handler_config(provider))
        assert [r.status for r in server.replies] == [200, 200, status, status]
        priced = server.priced

    roots = spans.roots()
    assert spans.tree(roots[0], by_name=True) == expected_tree(GPT)
    failed: type[BaseException] = raised.type
    expected_error_type = f"{failed.__module__}.{failed.__qualname__}"
    calls = chats(spans)
    for call, body in zip(calls[:2], priced, strict=True):
        check_model_call(call, body, PRICING[api], GPT)
        assert call.status.status_code is not StatusCode.ERROR
    on_failed = dict(calls[2].attributes or {})
    assert calls[2].status.status_code is StatusCode.ERROR
    assert on_failed.get(attr.ERROR_TYPE) == expected_error_type, on_failed
    assert not {k for k in on_failed if k.startswith("gen_ai.usage.") or k == attr.COST_USD}, on_failed

    turns = sorted((s for s in ours(spans) if s.name.startswith("turn ")), key=lambda s: s.start_time or 0)
    assert turns[2].status.status_code is StatusCode.ERROR
    last_turn = dict(turns[2].attributes or {})
    assert (last_turn.get(attr.TOTAL_INPUT_TOKENS, 0), last_turn.get(attr.TOTAL_COST_USD, 0.0)) == (0, 0.0)

    root = roots[0]
    assert root.status.status_code is StatusCode.ERROR
    assert dict(root.attributes or {}).get(attr.ERROR_TYPE) == expected_error_type
    expected_cost = sum(PRICING[api].expected(body, GPT)[1] for body in priced)
    totals = dict(root.attributes or {})
    assert totals[attr.TOTAL_INPUT_TOKENS] == sum(s.usage.input_tokens for s in STEPS[:2])
    assert totals[attr.TOTAL_OUTPUT_TOKENS] == sum(s.usage.output_tokens for s in STEPS[:2])
    total_cost = totals[attr.TOTAL_COST_USD]
    assert isinstance(total_cost, float)
    assert abs(total_cost - expected_cost) <= COST_TOLERANCE_USD
    check_counted_once(spans)


def test_an_override_for_the_requested_name_prices_a_dated_response(provider: TracerProvider, spans: Spans) -> None:
    """OpenAI answers with a dated snapshot (gpt-4o-2024-08-06) of the model asked for (gpt-4o): the user's rates
    for gpt-4o still apply."""
    responder = ChatCompletions(STEPS, model="gpt-4o-2024-08-06")
    rates = {"gpt-4o": {"input_per_mtok": 1.0, "output_per_mtok": 2.0, "cache_read_per_mtok": 0.5}}
    with WireServer(responder) as server, httpx.Client() as client:
        model = langchain_openai.ChatOpenAI(
            model="gpt-4o", base_url=f"{server.url}/v1", api_key="sk-test", http_client=client
        )
        model.invoke(
            "Weather in Paris?",
            config={"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider, prices=rates)]},
        )
    (chat,) = chats(spans)
    a: dict[str, Any] = dict(chat.attributes or {})
    assert (a[attr.GEN_AI_REQUEST_MODEL], a[attr.GEN_AI_RESPONSE_MODEL]) == ("gpt-4o", "gpt-4o-2024-08-06")
    assert a[attr.COST_SOURCE] == "override"
    u = STEPS[0].usage
    expected = (u.input_tokens - u.cache_read) * 1.0e-6 + u.cache_read * 0.5e-6 + u.output_tokens * 2.0e-6
    assert abs(float(a[attr.COST_USD]) - expected) <= COST_TOLERANCE_USD, (a[attr.COST_USD], expected)


def test_several_choices_share_one_usage_block_counted_once(provider: TracerProvider, spans: Spans) -> None:
    """``n=2``: OpenAI reports usage once for the response; langchain-openai copies it onto every choice."""
    inner = ChatCompletions(STEPS)

    def two_choices(request: WireRequest) -> WireReply:
        document = inner.document(STEPS[2])
        first = document["choices"][0]
        document["choices"] = [first, {**first, "index": 1}]
        return WireReply.json(document)

    with WireServer(two_choices) as server, httpx.Client() as client:
        model = langchain_openai.ChatOpenAI(
            model=GPT, base_url=f"{server.url}/v1", api_key="sk-test", n=2, http_client=client
        )
        model.invoke("Weather in Paris?", config=handler_config(provider))
        (body,) = server.priced
    (chat,) = chats(spans)
    check_model_call(chat, body, CHAT_PRICING, GPT)
    finish: Any = dict(chat.attributes or {})[attr.GEN_AI_RESPONSE_FINISH_REASONS]
    assert tuple(finish) == ("stop", "stop")


def test_azure_prices_at_the_rates_genai_prices_has_for_azure(provider: TracerProvider, spans: Spans) -> None:
    """Azure OpenAI names a service tier too, but genai-prices prices Azure's models without OpenAI's tiers."""
    inner = ChatCompletions(STEPS, model="gpt-5", service_tier="priority")

    def deployment(request: WireRequest) -> WireReply:
        assert request.path == "/openai/deployments/gpt-5/chat/completions", request.path
        return WireReply.json(inner.document(STEPS[2]))

    with WireServer(deployment) as server, httpx.Client() as client:
        model = langchain_openai.AzureChatOpenAI(
            azure_endpoint=server.url,
            azure_deployment="gpt-5",
            api_version="2024-10-21",
            api_key="azure-test",
            http_client=client,
        )
        model.invoke("Weather in Paris?", config=handler_config(provider))
        (body,) = server.priced
    (chat,) = chats(spans)
    assert dict(chat.attributes or {})[attr.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    check_model_call(chat, body, Pricing("azure", "chat", service_tier), "gpt-5")
