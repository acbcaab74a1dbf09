"""Metrics: the GenAI client metrics and ours, read by a real SDK MeterProvider (and over OTLP), agree with the
spans of the same runs, and never carry a session, user, run or tool call id."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import StructuredTool, ToolException
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.turns import TurnMetrics
from tests.agents import create_agent, explode, get_weather, state_graph_agent, three_turn_agent
from tests.fresh_python import run_python
from tests.otlp_receiver import OtlpReceiver
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
TAGS: dict[str, Any] = {"feature": "weather", "agent_version": "v7"}

DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
COST = "turntrace.cost"
TURNS = "turntrace.agent_run.turns"
TOOL_CALLS = "turntrace.agent_run.tool_calls"
TOOL_DURATION = "turntrace.tool_call.duration"
TOOL_ERRORS = "turntrace.tool_call.errors"
UNITS = {
    DURATION: "s",
    TOKENS: "{token}",
    COST: "USD",
    TURNS: "{turn}",
    TOOL_CALLS: "{tool_call}",
    TOOL_DURATION: "s",
    TOOL_ERRORS: "{error}",
}
MODEL_KEYS = {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model"}
KEYS = {
    DURATION: MODEL_KEYS,
    TOKENS: MODEL_KEYS | {"gen_ai.token.type"},
    COST: MODEL_KEYS - {"gen_ai.operation.name"} | {"turntrace.feature", "turntrace.agent_version"},
    TURNS: {"gen_ai.agent.name", "turntrace.feature", "turntrace.agent_version"},
    TOOL_CALLS: {"gen_ai.agent.name", "turntrace.feature", "turntrace.agent_version"},
    TOOL_DURATION: {"gen_ai.tool.name"},
}
# The GenAI conventions' recommended buckets.
DURATION_BOUNDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BOUNDS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
# Ids: one value per run, session, user or call. Any of these on a metric would make a series per run.
HIGH_CARDINALITY = {
    "session.id",
    "gen_ai.conversation.id",
    "user.id",
    "gen_ai.tool.call.id",
    "gen_ai.response.id",
    "turntrace.input_hash",
    "turntrace.return_shape_hash",
}


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[reader])
    yield provider
    provider.shutdown()


@dataclass
class Recorded:
    unit: str
    points: list[Any]  # HistogramDataPoint | NumberDataPoint

    def histograms(self) -> list[HistogramDataPoint]:
        assert all(isinstance(p, HistogramDataPoint) for p in self.points)
        return [p for p in self.points if isinstance(p, HistogramDataPoint)]

    def sums(self) -> list[NumberDataPoint]:
        assert all(isinstance(p, NumberDataPoint) for p in self.points)
        return [p for p in self.points if isinstance(p, NumberDataPoint)]

    def where(self, key: str, value: str) -> list[Any]:
        return [p for p in self.points if attrs(p).get(key) == value]


def attrs(point: HistogramDataPoint | NumberDataPoint) -> dict[str, Any]:
    return dict(point.attributes or {})


def recorded(reader: InMemoryMetricReader) -> dict[str, Recorded]:
    """Our metrics by name (older SDKs add metrics about themselves, under their own scope)."""
    data = reader.get_metrics_data()
    found: dict[str, Recorded] = {}
    for resource_metrics in data.resource_metrics if data is not None else ():
        for scope_metrics in resource_metrics.scope_metrics:
            if scope_metrics.scope.name != "langchain_turntrace":
                continue
            for metric in scope_metrics.metrics:
                found[metric.name] = Recorded(metric.unit or "", list(metric.data.data_points))
    return found


def handler_for(provider: TracerProvider, meter_provider: MeterProvider, **tags: Any) -> TurnTraceCallbackHandler:
    return TurnTraceCallbackHandler(tracer_provider=provider, meter_provider=meter_provider, **(TAGS | tags))


def duration_s(span: ReadableSpan) -> float:
    assert span.start_time is not None
    assert span.end_time is not None
    return (span.end_time - span.start_time) / 1e9


def total(spans: Sequence[ReadableSpan], key: str) -> float:
    return sum(cast("float", dict(span.attributes or {})[key]) for span in spans)  # tokens or USD, by the contract


def test_metrics_agree_with_the_spans_of_the_run(
    provider: TracerProvider, spans: Spans, meter_provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    handler = handler_for(provider, meter_provider, session_id="s-1", user_id="u-1")
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    found = recorded(reader)

    assert {name: r.unit for name, r in found.items()} == {n: u for n, u in UNITS.items() if n != TOOL_ERRORS}
    for name, recorded_metric in found.items():
        assert all(set(attrs(p)) == KEYS[name] for p in recorded_metric.points), name

    chats = spans.named("chat ")
    assert len(chats) == 3
    [duration] = found[DURATION].histograms()
    assert duration.count == len(chats)
    assert duration.sum == pytest.approx(sum(duration_s(s) for s in chats))  # pyright: ignore[reportUnknownMemberType]  # pytest's approx is untyped
    assert tuple(duration.explicit_bounds) == DURATION_BOUNDS
    assert attrs(duration) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
    }

    [input_tokens] = found[TOKENS].where("gen_ai.token.type", "input")
    [output_tokens] = found[TOKENS].where("gen_ai.token.type", "output")
    assert (input_tokens.count, output_tokens.count) == (3, 3)
    assert input_tokens.sum == total(chats, "gen_ai.usage.input_tokens") == 450
    assert output_tokens.sum == total(chats, "gen_ai.usage.output_tokens") == 90
    assert tuple(input_tokens.explicit_bounds) == TOKEN_BOUNDS

    root = spans.one("invoke_agent agent")
    [cost] = found[COST].sums()
    assert cost.value == pytest.approx(total(chats, "turntrace.cost_usd"))  # pyright: ignore[reportUnknownMemberType]  # untyped
    assert cost.value == pytest.approx(spans.attrs(root)["turntrace.total_cost_usd"])  # pyright: ignore[reportUnknownMemberType]  # untyped
    assert cost.value > 0
    assert attrs(cost)["turntrace.feature"] == "weather"
    assert attrs(cost)["turntrace.agent_version"] == "v7"

    [turns] = found[TURNS].histograms()
    [tool_calls] = found[TOOL_CALLS].histograms()
    assert (turns.count, turns.sum) == (1, spans.attrs(root)["turntrace.turn_count"]) == (1, 3)
    assert (tool_calls.count, tool_calls.sum) == (1, spans.attrs(root)["turntrace.tool_call_count"]) == (1, 3)
    assert attrs(turns)["gen_ai.agent.name"] == "agent"

    for tool in ("get_weather", "get_time"):
        tool_spans = spans.named(f"execute_tool {tool}")
        [point] = found[TOOL_DURATION].where("gen_ai.tool.name", tool)
        assert point.count == len(tool_spans)
        assert point.sum == pytest.approx(sum(duration_s(s) for s in tool_spans))  # pyright: ignore[reportUnknownMemberType]  # untyped


def test_no_metric_carries_a_high_cardinality_attribute(
    provider: TracerProvider, spans: Spans, meter_provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    handler = handler_for(provider, meter_provider, user_id="u-first")
    three_turn_agent().invoke(INPUT, config={"callbacks": [handler], "metadata": {"session_id": "s-first"}})
    series_after_one_run = sum(len(r.points) for r in recorded(reader).values())
    ids = {"s-first", "u-first"}
    for n in range(3):
        ids |= {f"s-{n}", f"u-{n}"}
        tagged = handler_for(provider, meter_provider, user_id=f"u-{n}")
        three_turn_agent().invoke(INPUT, config={"callbacks": [tagged], "metadata": {"session_id": f"s-{n}"}})
    found = recorded(reader)
    ids |= {str(v) for s in spans.all() for k, v in (s.attributes or {}).items() if k in HIGH_CARDINALITY}
    assert len(ids) > 8  # sessions, users, tool call ids, response ids and input hashes were all on the spans
    for name, recorded_metric in found.items():
        for point in recorded_metric.points:
            assert not set(attrs(point)) & HIGH_CARDINALITY, name
            assert not {str(v) for v in attrs(point).values()} & ids, name
    # Four runs, four sessions, four users: not one more series than a single run made.
    assert sum(len(r.points) for r in found.values()) == series_after_one_run
    assert found[TURNS].histograms()[0].count == 4


class ProviderDown(Exception):
    pass


def _lookup(key: str) -> str:
    raise ToolException(f"no such key: {key}")


lookup = StructuredTool.from_function(_lookup, name="lookup", description="Looks a key up.", handle_tool_error=True)


def test_failures_are_counted_with_their_error_type(
    provider: TracerProvider, spans: Spans, meter_provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    handler = handler_for(provider, meter_provider)
    handled = ScriptedChatModel(script=[tool_calls_message(("lookup", {"key": "k"}, "c1")), answer_message("sorry")])
    create_agent(handled, [lookup]).invoke(INPUT, config={"callbacks": [handler]})
    raising = ScriptedChatModel(script=[tool_calls_message(("explode", {"reason": "disk full"}, "c2"))])
    with pytest.raises(RuntimeError):
        state_graph_agent(raising, [explode], handle_tool_errors=False).invoke(INPUT, config={"callbacks": [handler]})
    failing = ScriptedChatModel(script=[tool_calls_message(("get_weather", {"city": "Oslo"}, "c3")), ProviderDown()])
    with pytest.raises(ProviderDown):
        create_agent(failing, [get_weather]).invoke(INPUT, config={"callbacks": [handler]})
    found = recorded(reader)

    errors = {(attrs(p)["gen_ai.tool.name"], attrs(p)["error.type"]): p.value for p in found[TOOL_ERRORS].sums()}
    assert errors == {("lookup", "tool_error"): 1, ("explode", "RuntimeError"): 1}
    assert {tuple(sorted(attrs(p))) for p in found[TOOL_ERRORS].points} == {("error.type", "gen_ai.tool.name")}
    [failed_tool] = found[TOOL_DURATION].where("gen_ai.tool.name", "explode")
    assert attrs(failed_tool)["error.type"] == "RuntimeError"

    [failed_call] = [p for p in found[DURATION].histograms() if "error.type" in attrs(p)]
    assert attrs(failed_call)["error.type"] == f"{__name__}.ProviderDown"
    assert failed_call.count == 1
    assert set(attrs(failed_call)) == MODEL_KEYS - {"gen_ai.response.model"} | {"error.type"}
    chats = spans.named("chat ")
    assert sum(p.count for p in found[DURATION].histograms()) == len(chats) == 5
    # A failed call has no usage: token counts are the successful calls' only.
    assert sum(p.count for p in found[TOKENS].histograms()) == 2 * sum(
        1 for s in chats if "gen_ai.usage.input_tokens" in spans.attrs(s)
    )
    # Each of the three runs reports its turns, the failed ones too.
    assert found[TURNS].histograms()[0].count == 3


def test_the_api_no_op_provider_turns_metrics_off() -> None:
    assert TurnMetrics.for_provider(NoOpMeterProvider(), "0") is None


def test_without_a_meter_provider_the_global_one_is_followed_once_the_app_sets_it() -> None:
    body = """
        from langchain_core.messages import HumanMessage
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider

        from langchain_turntrace import TurnTraceCallbackHandler
        from tests.agents import three_turn_agent

        handler = TurnTraceCallbackHandler(tracer_provider=TracerProvider())
        inputs = {"messages": [HumanMessage("hi")]}
        three_turn_agent().invoke(inputs, config={"callbacks": [handler]})  # no MeterProvider yet: nothing kept
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        three_turn_agent().invoke(inputs, config={"callbacks": [handler]})
        names = {m.name: m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
                 for m in sm.metrics if sm.scope.name == "langchain_turntrace"}
        print(sorted(names))
        print(names["turntrace.agent_run.turns"].data.data_points[0].count)
    """
    result = run_python(body)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(sorted(UNITS.keys() - {TOOL_ERRORS})), "1"]


OTLP_APP = """
    import time

    from langchain_core.messages import HumanMessage

    from langchain_turntrace import configure
    from tests.agents import three_turn_agent

    for _ in range(2):  # configure() twice, as per request: still one meter provider, one stream of metrics
        handler = configure("otlp", session_id="s-otlp", user_id="u-otlp", feature="weather", agent_version="v7")
        three_turn_agent().invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [handler]})
    time.sleep(1.0)  # a few periodic exports (OTEL_METRIC_EXPORT_INTERVAL), then the last one at exit
"""


def test_configure_otlp_sends_the_metrics_to_the_collector() -> None:
    with OtlpReceiver() as collector:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.base_url(),
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
        }
        result = run_python(OTLP_APP, env)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert collector.spans == 20
        received = [metric for scope, metric in collector.metrics if scope == "langchain_turntrace"]
    assert {m.name: m.unit for m in received} == {n: u for n, u in UNITS.items() if n != TOOL_ERRORS}
    assert sum(1 for m in received if m.name == TURNS) >= 2  # exported periodically, not only at exit
    last = {m.name: m for m in received}  # cumulative: the last export holds the totals
    [turns] = last[TURNS].histogram.data_points
    assert (turns.count, turns.sum) == (2, 6)  # both handlers' runs in one series: one provider
    tokens = {p.attributes[-1].value.string_value: p for p in last[TOKENS].histogram.data_points}
    assert [a.key for a in last[TOKENS].histogram.data_points[0].attributes][-1] == "gen_ai.token.type"
    assert (tokens["input"].sum, tokens["output"].sum) == (900, 180)
    assert list(last[DURATION].histogram.data_points[0].explicit_bounds) == list(DURATION_BOUNDS)
    [cost] = last[COST].sum.data_points
    assert math.isclose(cost.as_double, 2 * (450 * 0.15 + 90 * 0.6) / 1e6)  # gpt-4o-mini: $0.15 / $0.60 per M
    keys = {a.key for m in received for p in _points(m) for a in p.attributes}
    assert not keys & HIGH_CARDINALITY
    assert {"turntrace.feature", "turntrace.agent_version", "gen_ai.request.model"} <= keys


def _points(metric: Any) -> list[Any]:
    kind = metric.WhichOneof("data")
    return list(getattr(metric, kind).data_points)


def test_otel_metrics_exporter_none_keeps_metrics_off_the_collector() -> None:
    with OtlpReceiver() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.base_url(), "OTEL_METRICS_EXPORTER": "none"}
        result = run_python(OTLP_APP.replace("time.sleep(1.0)", "pass"), env)
        assert result.returncode == 0, result.stderr
        assert collector.spans == 20
        assert collector.metrics == []
