"""Budgets: a run crossing a cost, session or turn limit is reported once (span event, one warning, the callback);
with on_exceed="raise" its next model call raises BudgetExceededError into the agent and the run stops."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import pickle
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import NoOpTracerProvider, StatusCode
from pydantic import Field

from langchain_turntrace import (
    Budget,
    BudgetExceeded,
    BudgetExceededError,
    ConfigError,
    TurnTraceCallbackHandler,
    configure,
)
from langchain_turntrace.pricing import PriceBook, TokenUsage, parse_price_overrides
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.turns import BudgetPolicy, ModelRequest, ModelResult, TurnTracer
from langchain_turntrace.turns._budget import MAX_BUDGETED_SESSIONS
from tests.agents import create_agent, get_weather
from tests.spans import Spans

MODEL = "budget-model"
PRICES = {MODEL: {"input_per_mtok": 1.0, "output_per_mtok": 0.0}}  # 1,000 input tokens: $0.001 per model call
INPUT = {"messages": [HumanMessage("Weather in five cities?")]}
LOGGER = "langchain_turntrace"


class CountingModel(ScriptedChatModel):
    """The scripted model, counting the calls that reached it (the provider edge: what a run really spent)."""

    calls: list[int] = Field(default_factory=list[int])

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.calls.append(len(self.calls) + 1)
        return super()._generate(messages, *args, **kwargs)


def five_turn_agent() -> tuple[Any, CountingModel]:
    """Four turns that each call get_weather, then the answer; every model call costs $0.001."""
    script: list[Any] = [
        tool_calls_message(("get_weather", {"city": f"city-{n}"}, f"call_{n}"), input_tokens=1000, output_tokens=0)
        for n in range(1, 5)
    ]
    script.append(answer_message("All sunny.", input_tokens=1000, output_tokens=0))
    model = CountingModel(model_name=MODEL, script=script)
    return create_agent(model, [get_weather], name="weather_agent"), model


def handler_with(provider: TracerProvider, budget: Budget | None, **options: Any) -> TurnTraceCallbackHandler:
    return TurnTraceCallbackHandler(tracer_provider=provider, prices=PRICES, budget=budget, **options)


def budget_events(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(event.attributes or {}) for event in span.events if event.name == "turntrace.budget_exceeded"]


def our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def assert_all_closed(spans: Spans, handler: TurnTraceCallbackHandler) -> None:
    assert handler.open_runs == 0
    assert all(span.end_time is not None for span in spans.all())
    assert not any(s.attributes and s.attributes.get("turntrace.incomplete") for s in spans.all())


# -- warn ------------------------------------------------------------------------------------------------------


def test_warn_mode_reports_the_crossing_once_and_the_run_completes(
    provider: TracerProvider, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[BudgetExceeded] = []
    handler = handler_with(provider, Budget(max_cost_usd_per_run=0.0025), on_budget_exceeded=seen.append)
    agent, model = five_turn_agent()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        result = agent.invoke(INPUT, config={"callbacks": [handler], "metadata": {"session_id": "s-warn"}})
    assert result["messages"][-1].content == "All sunny."
    assert len(model.calls) == 5
    root = spans.one("invoke_agent weather_agent")
    assert root.status.status_code is StatusCode.UNSET
    [event] = budget_events(root)
    assert event == {
        "turntrace.budget.scope": "run",
        "turntrace.budget.limit": 0.0025,
        "turntrace.budget.value": pytest.approx(0.003),  # pyright: ignore[reportUnknownMemberType]  # pytest's approx is untyped
    }
    assert [type(event[k]) for k in sorted(event)] == [float, str, float]
    [warning] = our_warnings(caplog)
    assert "is over budget: this agent run cost $0.003, over max_cost_usd_per_run=$0.0025" in warning
    assert warning.startswith("turntrace: agent run 'weather_agent' is over budget")
    assert 'on_exceed="warn"' in warning
    assert '"raise" stops runs' in warning
    assert "raise Budget(max_cost_usd_per_run=...)" in warning
    [exceeded] = seen
    assert (exceeded.scope, exceeded.setting, exceeded.limit, exceeded.agent_name, exceeded.session_id) == (
        "run",
        "max_cost_usd_per_run",
        0.0025,
        "weather_agent",
        "s-warn",
    )
    assert math.isclose(exceeded.value, 0.003)
    assert exceeded.raises is False
    with pytest.raises(AttributeError):
        exceeded.scope = "turns"  # type: ignore[misc]  # frozen: the callback cannot change what it was told
    assert_all_closed(spans, handler)


def test_two_limits_crossed_in_one_run_give_two_events_but_one_warning(
    provider: TracerProvider, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[BudgetExceeded] = []
    budget = Budget(max_cost_usd_per_run=0.0015, max_turns_per_run=3)
    handler = handler_with(provider, budget, on_budget_exceeded=seen.append)
    agent, model = five_turn_agent()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        agent.invoke(INPUT, config={"callbacks": [handler]})
    assert len(model.calls) == 5  # warn: nothing stops
    root = spans.one("invoke_agent weather_agent")
    assert [(e["turntrace.budget.scope"], e["turntrace.budget.limit"]) for e in budget_events(root)] == [
        ("run", 0.0015),
        ("turns", 3),
    ]
    turns_event = budget_events(root)[1]
    assert turns_event["turntrace.budget.value"] == 4  # turn 4 was about to start
    assert type(turns_event["turntrace.budget.value"]) is int
    assert len(our_warnings(caplog)) == 1
    assert [e.scope for e in seen] == ["run", "turns"]
    assert seen[1].describe() == "agent 'weather_agent' would start turn 4, over max_turns_per_run=3"


# -- raise -----------------------------------------------------------------------------------------------------


def test_raise_mode_stops_a_five_turn_agent_after_the_crossing_turn(
    provider: TracerProvider, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    handler = handler_with(provider, Budget(max_cost_usd_per_run=0.0025, on_exceed="raise"))
    agent, model = five_turn_agent()
    with caplog.at_level(logging.WARNING, logger=LOGGER), pytest.raises(BudgetExceededError) as stopped:
        agent.invoke(INPUT, config={"callbacks": [handler]})
    # Calls 1-3 cost $0.003: the third crossed $0.0025, its tool call still ran, and the fourth never reached
    # the model.
    assert len(model.calls) == 3
    message = str(stopped.value)
    assert message == (
        "turntrace budget: this agent run cost $0.003, over max_cost_usd_per_run=$0.0025, so the run was stopped "
        "before its next model call. To allow more, raise Budget(max_cost_usd_per_run=...); to only log it, use "
        'on_exceed="warn".'
    )
    assert stopped.value.exceeded.scope == "run"
    assert stopped.value.exceeded.raises is True
    assert spans.tree(by_name=True) == "\n".join(
        [
            "invoke_agent weather_agent",
            "  turn 1",
            "    chat budget-model",
            "    execute_tool get_weather",
            "  turn 2",
            "    chat budget-model",
            "    execute_tool get_weather",
            "  turn 3",
            "    chat budget-model",
            "    execute_tool get_weather",
        ]
    )
    root = spans.one("invoke_agent weather_agent")
    assert root.status.status_code is StatusCode.ERROR
    attributes = spans.attrs(root)
    assert attributes["error.type"] == "langchain_turntrace.BudgetExceededError"
    assert attributes["turntrace.turn_count"] == 3
    assert attributes["turntrace.total_cost_usd"] == pytest.approx(0.003)  # pyright: ignore[reportUnknownMemberType]  # untyped
    assert [e["turntrace.budget.scope"] for e in budget_events(root)] == ["run"]
    assert all(s.status.status_code is not StatusCode.ERROR for s in spans.all() if s is not root)
    [warning] = our_warnings(caplog)  # the crossing, not the refused call
    assert 'its next model call raises BudgetExceededError (on_exceed="raise")' in warning
    assert_all_closed(spans, handler)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_raise_mode_reaches_the_caller_in_production(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    """Outside strict (test) mode every other error of ours is swallowed; this one must still stop the agent."""
    monkeypatch.setenv("TURNTRACE_STRICT", "false")
    handler = handler_with(provider, Budget(max_cost_usd_per_run=0.0025, on_exceed="raise"))
    agent, model = five_turn_agent()
    config: Any = {"callbacks": [handler]}
    with pytest.raises(BudgetExceededError):
        await (agent.ainvoke(INPUT, config=config) if asynchronous else asyncio.to_thread(agent.invoke, INPUT, config))
    assert len(model.calls) == 3
    assert spans.one("invoke_agent weather_agent").status.status_code is StatusCode.ERROR
    assert_all_closed(spans, handler)


async def test_raise_mode_stops_an_async_run(provider: TracerProvider, spans: Spans) -> None:
    handler = handler_with(provider, Budget(max_turns_per_run=2, on_exceed="raise"))
    agent, model = five_turn_agent()
    with pytest.raises(BudgetExceededError, match="would start turn 3, over max_turns_per_run=2"):
        await agent.ainvoke(INPUT, config={"callbacks": [handler]})
    assert len(model.calls) == 2
    assert len(spans.named("chat ")) == 2
    assert_all_closed(spans, handler)


def test_turns_budget_is_crossed_when_the_next_turn_would_start(provider: TracerProvider, spans: Spans) -> None:
    handler = handler_with(provider, Budget(max_turns_per_run=2, on_exceed="raise"))
    agent, model = five_turn_agent()
    with pytest.raises(BudgetExceededError) as stopped:
        agent.invoke(INPUT, config={"callbacks": [handler]})
    assert len(model.calls) == 2
    assert [s.name for s in spans.named("turn ")] == ["turn 1", "turn 2"]  # turn 3 never started
    root = spans.one("invoke_agent weather_agent")
    assert budget_events(root) == [
        {"turntrace.budget.scope": "turns", "turntrace.budget.limit": 2, "turntrace.budget.value": 3}
    ]
    assert stopped.value.exceeded.setting == "max_turns_per_run"
    assert "raise Budget(max_turns_per_run=...)" in str(stopped.value)
    assert_all_closed(spans, handler)


def test_a_run_within_its_turns_budget_is_untouched(provider: TracerProvider, spans: Spans) -> None:
    handler = handler_with(provider, Budget(max_turns_per_run=5, on_exceed="raise"))
    agent, model = five_turn_agent()
    agent.invoke(INPUT, config={"callbacks": [handler]})
    assert len(model.calls) == 5
    assert budget_events(spans.one("invoke_agent weather_agent")) == []


def test_session_budget_counts_across_the_runs_of_one_session(provider: TracerProvider, spans: Spans) -> None:
    session = f"s-{uuid.uuid4().hex}"
    handler = handler_with(provider, Budget(max_cost_usd_per_session=0.007, on_exceed="raise"))
    config: Any = {"callbacks": [handler], "metadata": {"session_id": session}}

    first, first_model = five_turn_agent()
    first.invoke(INPUT, config=config)  # $0.005 of the session's $0.007
    assert len(first_model.calls) == 5

    other_session, other_model = five_turn_agent()  # another session's spend is its own
    other_session.invoke(INPUT, config={**config, "metadata": {"session_id": f"{session}-other"}})
    assert len(other_model.calls) == 5

    second, second_model = five_turn_agent()
    with pytest.raises(BudgetExceededError, match=f"session '{session}' cost \\$0.008, over max_cost_usd_per_session"):
        second.invoke(INPUT, config=config)
    assert len(second_model.calls) == 3  # $0.006, $0.007 (not over), $0.008: over; the fourth is refused

    third, third_model = five_turn_agent()  # the session is spent: its next run stops before its first call
    with pytest.raises(BudgetExceededError):
        third.invoke(INPUT, config=config)
    assert third_model.calls == []

    roots = spans.named("invoke_agent")
    assert [[e["turntrace.budget.scope"] for e in budget_events(root)] for root in roots] == [
        [],
        [],
        ["session"],
        ["session"],
    ]
    assert [r.status.status_code for r in roots] == [StatusCode.UNSET] * 2 + [StatusCode.ERROR] * 2
    assert_all_closed(spans, handler)


def test_configure_passes_a_budget_to_its_handler() -> None:
    handler = configure("none", budget=Budget(max_turns_per_run=1, on_exceed="raise"), prices=PRICES)
    agent, model = five_turn_agent()
    with pytest.raises(BudgetExceededError):
        agent.invoke(INPUT, config={"callbacks": [handler]})
    assert len(model.calls) == 1


# -- the user's callback ---------------------------------------------------------------------------------------


def test_a_callback_that_raises_is_logged_once_and_never_breaks_the_run(
    provider: TracerProvider, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(exceeded: BudgetExceeded) -> None:
        raise RuntimeError(f"pager down while reporting {exceeded.scope}")

    warn = handler_with(provider, Budget(max_cost_usd_per_run=0.0015), on_budget_exceeded=broken)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(2):
            agent, model = five_turn_agent()
            agent.invoke(INPUT, config={"callbacks": [warn]})
            assert len(model.calls) == 5
    failures = [r for r in caplog.records if r.name == LOGGER and "on_budget_exceeded raised" in r.getMessage()]
    assert [r.getMessage() for r in failures] == [
        "turntrace: on_budget_exceeded raised RuntimeError; ignored, the run goes on (logged once per handler)"
    ]
    assert failures[0].exc_info is not None

    stopping = handler_with(provider, Budget(max_cost_usd_per_run=0.0015, on_exceed="raise"), on_budget_exceeded=broken)
    agent, model = five_turn_agent()
    with pytest.raises(BudgetExceededError):  # the budget's error, not the callback's
        agent.invoke(INPUT, config={"callbacks": [stopping]})
    assert len(model.calls) == 2


# -- configuration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Budget(max_cost_usd_per_run=-1),
            "Budget(max_cost_usd_per_run=-1) is not a cost; give US dollars >= 0",
        ),
        (lambda: Budget(max_cost_usd_per_run=math.nan), "Budget(max_cost_usd_per_run=nan) is not a cost"),
        (lambda: Budget(max_cost_usd_per_session=math.inf), "Budget(max_cost_usd_per_session=inf) is not a cost"),
        (lambda: Budget(max_cost_usd_per_run="0.5"), "Budget(max_cost_usd_per_run='0.5') is not a cost"),  # pyright: ignore[reportArgumentType]  # what a typo passes
        (lambda: Budget(max_cost_usd_per_run=True), "Budget(max_cost_usd_per_run=True) is not a cost"),
        (lambda: Budget(max_turns_per_run=0), "Budget(max_turns_per_run=0) is not a number of turns; give a whole"),
        (lambda: Budget(max_turns_per_run=-3), "Budget(max_turns_per_run=-3) is not a number of turns"),
        (lambda: Budget(max_turns_per_run=2.5), "Budget(max_turns_per_run=2.5) is not a number of turns"),  # pyright: ignore[reportArgumentType]  # what a typo passes
        (lambda: Budget(max_turns_per_run=3, on_exceed="stop"), "Budget(on_exceed='stop') is not understood; use"),  # pyright: ignore[reportArgumentType]  # what a typo passes
        (lambda: Budget(), "Budget() sets no limit; give max_cost_usd_per_run, max_cost_usd_per_session or"),
        (
            lambda: TurnTraceCallbackHandler(on_budget_exceeded=print),
            "on_budget_exceeded= is only called for a budget; pass budget=Budget(...) as well.",
        ),
        (
            lambda: TurnTraceCallbackHandler(budget=Budget(max_turns_per_run=3), on_budget_exceeded="pager"),  # pyright: ignore[reportArgumentType]  # what a typo passes
            "on_budget_exceeded='pager' is not callable; give a function taking a BudgetExceeded.",
        ),
        (
            lambda: TurnTraceCallbackHandler(budget={"max_cost_usd_per_run": 1.0}),  # pyright: ignore[reportArgumentType]  # what a typo passes
            "budget={'max_cost_usd_per_run': 1.0} is not a Budget; use budget=Budget(max_cost_usd_per_run=...).",
        ),
    ],
)
def test_bad_budget_configuration_fails_at_construction(make: Any, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        make()
    assert str(error.value).startswith(message)


def test_a_cost_limit_given_as_a_whole_number_is_kept_in_dollars() -> None:
    assert Budget(max_cost_usd_per_run=2).max_cost_usd_per_run == 2.0
    assert type(Budget(max_cost_usd_per_run=2).max_cost_usd_per_run) is float
    assert Budget(max_cost_usd_per_run=0).max_cost_usd_per_run == 0.0  # zero: any spend crosses it


def test_raise_error_is_set_only_for_a_raising_budget_in_production(
    provider: TracerProvider, spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LangChain passes a callback's exception on only when the handler says raise_error; outside strict (test)
    mode we say so only for a budget that raises, and our own internal errors are still swallowed then."""
    monkeypatch.setenv("TURNTRACE_STRICT", "false")
    assert TurnTraceCallbackHandler().raise_error is False
    assert TurnTraceCallbackHandler(budget=Budget(max_turns_per_run=3)).raise_error is False
    handler = TurnTraceCallbackHandler(tracer_provider=provider, budget=Budget(max_turns_per_run=3, on_exceed="raise"))
    assert handler.raise_error is True
    run_id, call_id = uuid4(), uuid4()
    handler.on_chain_start({}, {}, run_id=run_id, name="agent")
    handler.on_chat_model_start({}, [[HumanMessage("hi")]], run_id=call_id, parent_run_id=run_id)
    handler.on_llm_end("not an LLMResult", run_id=call_id)  # pyright: ignore[reportArgumentType]  # our code fails
    handler.on_chain_end({}, run_id=run_id)
    assert handler.open_runs == 0
    # The failure was ours, swallowed: the model call's span still closed, marked incomplete.
    assert spans.attrs(spans.one("chat"))["turntrace.incomplete"] is True


def test_the_error_pickles_with_what_it_says() -> None:
    exceeded = BudgetExceeded("session", "max_cost_usd_per_session", 1.0, 1.25, "support", "s-9", True)
    copied = pickle.loads(pickle.dumps(BudgetExceededError(exceeded)))
    assert copied.exceeded == exceeded
    assert "session 's-9' cost $1.25, over max_cost_usd_per_session=$1" in str(copied)


# -- the demo --------------------------------------------------------------------------------------------------


def turntrace(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).parent / "turntrace"
    env = {**os.environ, "COLUMNS": "200", "TURNTRACE_STORE": str(store)}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_demo_with_a_tight_budget_stops_itself_with_a_clear_message(tmp_path: Path) -> None:
    # The demo's turns cost $0.0036, $0.00415 and $0.0047: $0.005 is crossed by turn 2, so turn 3 never runs.
    result = turntrace("demo", "--max-cost-usd", "0.005", store=tmp_path / "traces.db")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(
        "stopped: turntrace budget: this agent run cost $0.00775, over max_cost_usd_per_run=$0.005, so the run was "
        "stopped before its next model call."
    )
    assert "raise Budget(max_cost_usd_per_run=...)" in result.stdout
    waterfall = result.stdout.split("\n\n", 1)[1]
    for name in ("invoke_agent travel_agent", "turn 1", "turn 2", "execute_tool book_flight"):
        assert name in waterfall
    assert "turn 3" not in waterfall
    assert "ERROR langchain_turntrace.BudgetExceededError" in waterfall
    assert "Traceback" not in result.stderr

    as_json = turntrace("demo", "--max-cost-usd", "0.005", "--json", store=tmp_path / "traces.db")
    assert as_json.returncode == 1, as_json.stderr
    report = json.loads(as_json.stdout)
    assert "over max_cost_usd_per_run=$0.005" in report["stopped"]
    assert sorted(s["name"] for s in report["spans"] if s["name"].startswith("turn")) == ["turn 1", "turn 2"]

    roomy = turntrace("demo", "--max-cost-usd", "1", store=tmp_path / "traces.db")
    assert roomy.returncode == 0, roomy.stderr
    assert roomy.stdout.startswith("the run stayed within $1")
    assert "turn 3" in roomy.stdout


def test_demo_with_a_negative_budget_is_refused(tmp_path: Path) -> None:
    result = turntrace("demo", "--max-cost-usd", "-1", store=tmp_path / "traces.db")
    assert result.returncode == 2
    assert result.stderr == (
        "turntrace demo: argument --max-cost-usd: -1 is below zero; give US dollars >= 0, e.g. 50 "
        "(see `turntrace demo --help`)\n"
    )
    assert not (tmp_path / "traces.db").exists()


def test_session_spend_is_remembered_for_a_bounded_number_of_sessions() -> None:
    """The turn model alone (no LangChain, a no-op tracer): the least recent session is forgotten first."""
    policy = BudgetPolicy(
        max_cost_usd_per_run=None,
        max_cost_usd_per_session=0.0015,
        max_turns_per_run=None,
        raises=True,
        on_exceeded=None,
    )
    tracer = TurnTracer(
        NoOpTracerProvider().get_tracer("test"),
        PriceBook(parse_price_overrides(PRICES, setting="prices=")),
        capture_content=False,
        budget=policy,
    )
    request = ModelRequest("chat", MODEL, "openai", (), 1)
    spent = ModelResult(MODEL, "r", ("stop",), TokenUsage(2000, 0), ())  # $0.002: over the session's $0.0015

    def one_call(session: str) -> None:
        run = tracer.start_agent("agent", {"session.id": session})
        run.start_model_call(request).end(spent)
        run.end()

    first = f"first-{uuid.uuid4().hex}"
    one_call(first)
    with pytest.raises(BudgetExceededError):
        one_call(first)  # its session is spent
    for n in range(MAX_BUDGETED_SESSIONS):
        tracer.start_agent("agent", {"session.id": f"other-{n}-{first}"}).end()
    one_call(first)  # forgotten: 10,000 sessions started since
