"""Session, user, feature and agent version on every span: from args, run metadata, tags(), env."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler, tags
from tests.agents import research, three_turn_agent
from tests.spans import Spans
from tests.test_nesting import outer_agent

INPUT = {"messages": [HumanMessage("hi")]}
KEYS = ("session.id", "gen_ai.conversation.id", "user.id", "turntrace.feature", "turntrace.agent_version")


def tag_values(spans: Spans) -> set[tuple[object, ...]]:
    """The tag tuple of every span; one element when every span carries the same tags."""
    return {tuple(spans.attrs(s).get(k) for k in KEYS) for s in spans.all()}


def test_tags_from_handler_args_on_every_span(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(
        tracer_provider=provider, session_id="s-arg", user_id="u-arg", feature="f-arg", agent_version="v-arg"
    )
    outer_agent(research).invoke(INPUT, config={"callbacks": [handler]})  # includes a subagent inside a tool
    assert len(spans.all()) == 12
    assert tag_values(spans) == {("s-arg", "s-arg", "u-arg", "f-arg", "v-arg")}


def test_tags_from_config_metadata(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    metadata = {"session_id": "s-meta", "user_id": "u-meta", "feature": "f-meta", "agent_version": "v-meta"}
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": metadata})
    assert tag_values(spans) == {("s-meta", "s-meta", "u-meta", "f-meta", "v-meta")}


@pytest.mark.parametrize("key", ["session_id", "thread_id", "conversation_id"])
def test_session_from_any_session_key(provider: TracerProvider, spans: Spans, key: str) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": {key: "conv-9"}})
    assert {spans.attrs(s)["session.id"] for s in spans.all()} == {"conv-9"}


def test_tags_from_context_manager(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with tags(session_id="s-cm", user_id="u-cm"), tags(feature="f-cm", agent_version="v-cm"):
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})  # outside the block: untagged
    first, second = spans.roots()
    first_trace = {
        s for s in spans.all() if s.context and first.context and s.context.trace_id == first.context.trace_id
    }
    assert {tuple(spans.attrs(s).get(k) for k in KEYS) for s in first_trace} == {
        ("s-cm", "s-cm", "u-cm", "f-cm", "v-cm")
    }
    assert not any(k in spans.attrs(second) for k in KEYS)


async def test_context_manager_tags_follow_asyncio_tasks(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    with tags(user_id="u-async"):
        await three_turn_agent().ainvoke(INPUT, config={"callbacks": [handler]})
    assert {spans.attrs(s).get("user.id") for s in spans.all()} == {"u-async"}


def test_precedence_args_over_metadata_over_context_over_env(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURNTRACE_FEATURE", "f-env")
    monkeypatch.setenv("TURNTRACE_AGENT_VERSION", "v-env")
    handler = TurnTraceCallbackHandler(tracer_provider=provider, session_id="s-arg")
    with tags(session_id="s-cm", user_id="u-cm", feature="f-cm"):
        three_turn_agent().invoke(
            INPUT, config={"callbacks": [handler], "metadata": {"session_id": "s-meta", "user_id": "u-meta"}}
        )
    assert tag_values(spans) == {("s-arg", "s-arg", "u-meta", "f-cm", "v-env")}
