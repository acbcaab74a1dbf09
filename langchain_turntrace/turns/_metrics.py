"""Metrics from the turn model: the GenAI client metrics and ours, recorded as a node ends (OTel metrics API).

Attributes are low-cardinality only: never a session, user, run or tool call id (those belong on spans).

Names follow ``opentelemetry-semantic-conventions`` as of our floor (0.62b0). Since then the conventions have
moved the GenAI metrics to their own repository (the constants are marked deprecated in 0.66b2, same names),
renamed the ``gen_ai.token.type`` member ``COMPLETION`` to ``OUTPUT`` (same value ``"output"``), and
``gen_ai.system`` (before semconv 1.37) became ``gen_ai.provider.name``, which is what we write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from opentelemetry import metrics
from opentelemetry.metrics import Meter, MeterProvider, NoOpMeterProvider
from opentelemetry.semconv._incubating.metrics.gen_ai_metrics import (
    GEN_AI_CLIENT_OPERATION_DURATION,
    GEN_AI_CLIENT_TOKEN_USAGE,
)
from opentelemetry.util.types import AttributeValue

from langchain_turntrace import attributes as attr
from langchain_turntrace.turns._facts import ModelRequest

COST: Final = "turntrace.cost"
"""Counter, USD: what model calls cost, by model, provider, feature and agent version."""
AGENT_RUN_TURNS: Final = "turntrace.agent_run.turns"
"""Histogram, turns per agent run (recorded as the run ends), by agent name, feature and agent version."""
AGENT_RUN_TOOL_CALLS: Final = "turntrace.agent_run.tool_calls"
"""Histogram, tool calls per agent run (recorded as the run ends), by agent name, feature and agent version."""
TOOL_CALL_DURATION: Final = "turntrace.tool_call.duration"
"""Histogram, seconds per tool call, by tool name (and ``error.type`` when it failed)."""
TOOL_CALL_ERRORS: Final = "turntrace.tool_call.errors"
"""Counter: tool calls that raised or returned an error, by tool name and ``error.type``."""

# The buckets the GenAI conventions recommend for their two client metrics.
_DURATION_BUCKETS_S: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
_COUNT_BUCKETS: Final = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256)

# gen_ai.token.type values. Typed here: GenAiTokenTypeValues names "output" COMPLETION in 0.62b0, OUTPUT later,
# and 0.66b2 marks the whole enum deprecated (moved to the GenAI conventions' own repository).
_INPUT: Final = "input"
_OUTPUT: Final = "output"
_TAG_KEYS: Final = (attr.FEATURE, attr.AGENT_VERSION)  # of the span tags, the two that are low-cardinality
_NOT_MEASURED: Final = (attr.INCOMPLETE, attr.INTERRUPTED)  # cut short or paused: its duration says nothing

try:  # the API's stand-in for the global provider until an app sets one (private: without it, we record anyway)
    from opentelemetry.metrics._internal import _ProxyMeterProvider as _UnsetGlobal  # pyright: ignore[reportPrivateUsage]
except ImportError:  # pragma: no cover - another opentelemetry-api layout
    _UnsetGlobal = None


def _no_global_provider() -> bool:
    return _UnsetGlobal is not None and isinstance(metrics.get_meter_provider(), _UnsetGlobal)


class TurnMetrics:
    """The instruments, created once per handler (at its first run, with the tracer).

    >>> metrics = TurnMetrics.for_provider(meter_provider)  # doctest: +SKIP  # None: metrics are off
    """

    __slots__ = (
        "_cost",
        "_operation_duration",
        "_token_usage",
        "_tool_calls",
        "_tool_duration",
        "_tool_errors",
        "_turns",
        "_waits_for_global",
    )

    def __init__(self, meter: Meter, *, waits_for_global: bool = False) -> None:
        self._waits_for_global = waits_for_global
        self._operation_duration = meter.create_histogram(
            GEN_AI_CLIENT_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS_S,
        )
        self._token_usage = meter.create_histogram(
            GEN_AI_CLIENT_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._cost = meter.create_counter(COST, unit="USD", description="Cost of model calls in US dollars.")
        self._turns = meter.create_histogram(
            AGENT_RUN_TURNS,
            unit="{turn}",
            description="Turns per agent run.",
            explicit_bucket_boundaries_advisory=_COUNT_BUCKETS,
        )
        self._tool_calls = meter.create_histogram(
            AGENT_RUN_TOOL_CALLS,
            unit="{tool_call}",
            description="Tool calls per agent run.",
            explicit_bucket_boundaries_advisory=_COUNT_BUCKETS,
        )
        self._tool_duration = meter.create_histogram(
            TOOL_CALL_DURATION,
            unit="s",
            description="Tool call duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS_S,
        )
        self._tool_errors = meter.create_counter(
            TOOL_CALL_ERRORS, unit="{error}", description="Tool calls that raised or returned an error."
        )

    @classmethod
    def for_provider(cls, provider: MeterProvider, version: str) -> TurnMetrics | None:
        """Instruments on ``provider``; None for the API's no-op provider, so then nothing runs per event. On the
        global provider before an app sets one (the API's proxy), see ``for_run``."""
        if isinstance(provider, NoOpMeterProvider):
            return None
        waits = _UnsetGlobal is not None and isinstance(provider, _UnsetGlobal)
        return cls(provider.get_meter("langchain_turntrace", version), waits_for_global=waits)

    def for_run(self) -> TurnMetrics | None:
        """These instruments for an agent run starting now; None while they stand on the global provider and no
        app has set one: what they recorded would go nowhere, so no run spends time on it."""
        if self._waits_for_global:
            if _no_global_provider():
                return None
            self._waits_for_global = False  # set once: the global provider cannot be unset
        return self

    def model_call_ended(
        self,
        request: ModelRequest,
        duration_ns: int,
        out: Mapping[str, AttributeValue],
        tags: Mapping[str, AttributeValue],
    ) -> None:
        """``out``: the model call span's end attributes (usage, cost, response model, error type)."""
        if any(key in out for key in _NOT_MEASURED):
            return
        attributes: dict[str, AttributeValue] = {attr.GEN_AI_OPERATION_NAME: request.operation}
        if request.provider is not None:
            attributes[attr.GEN_AI_PROVIDER_NAME] = request.provider
        if request.request_model is not None:
            attributes[attr.GEN_AI_REQUEST_MODEL] = request.request_model
        response_model = out.get(attr.GEN_AI_RESPONSE_MODEL)
        if response_model is not None:
            attributes[attr.GEN_AI_RESPONSE_MODEL] = response_model
        error_type = out.get(attr.ERROR_TYPE)
        if error_type is not None:
            self._operation_duration.record(duration_ns / 1e9, {**attributes, attr.ERROR_TYPE: error_type})
            return
        self._operation_duration.record(duration_ns / 1e9, attributes)
        input_tokens = out.get(attr.GEN_AI_USAGE_INPUT_TOKENS)
        output_tokens = out.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS)
        if isinstance(input_tokens, int) and isinstance(output_tokens, int):
            self._token_usage.record(input_tokens, {**attributes, attr.GEN_AI_TOKEN_TYPE: _INPUT})
            self._token_usage.record(output_tokens, {**attributes, attr.GEN_AI_TOKEN_TYPE: _OUTPUT})
        cost_usd = out.get(attr.COST_USD)
        if isinstance(cost_usd, float) and cost_usd > 0:
            # A new dict: an SDK may keep the one it was handed (1.41 does), so a recorded one is never changed.
            by_model = {key: value for key, value in attributes.items() if key != attr.GEN_AI_OPERATION_NAME}
            _add_tags(by_model, tags)
            self._cost.add(cost_usd, by_model)

    def tool_call_ended(self, tool_name: str, duration_ns: int, out: Mapping[str, AttributeValue]) -> None:
        if any(key in out for key in _NOT_MEASURED):
            return
        attributes: dict[str, AttributeValue] = {attr.GEN_AI_TOOL_NAME: tool_name}
        error_type = out.get(attr.ERROR_TYPE)
        if error_type is not None:
            attributes[attr.ERROR_TYPE] = error_type
            self._tool_errors.add(1, attributes)
        self._tool_duration.record(duration_ns / 1e9, attributes)

    def agent_run_ended(
        self, agent_name: str, turn_count: int, tool_call_count: int, tags: Mapping[str, AttributeValue]
    ) -> None:
        attributes: dict[str, AttributeValue] = {attr.GEN_AI_AGENT_NAME: agent_name}
        _add_tags(attributes, tags)
        self._turns.record(turn_count, attributes)
        self._tool_calls.record(tool_call_count, attributes)


def _add_tags(attributes: dict[str, AttributeValue], tags: Mapping[str, AttributeValue]) -> None:
    for key in _TAG_KEYS:
        value = tags.get(key)
        if value is not None:
            attributes[key] = value
