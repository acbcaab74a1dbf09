"""What the store's queries return: plain, frozen rows (JSON-ready with ``dataclasses.asdict``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RunStatus = Literal["ok", "error", "interrupted", "incomplete"]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One agent run: a root ``invoke_agent`` span (no agent above it) and its roll-ups."""

    run_id: str  # the root span's id (16 hex chars)
    trace_id: str
    start_ns: int
    end_ns: int
    duration_ms: float
    agent: str | None
    session: str | None
    user_id: str | None
    feature: str | None
    agent_version: str | None
    turns: int
    tool_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None when the root span carries no total
    status: RunStatus
    resumed: bool = False  # the run resumes a paused one (its status is then its own outcome)


@dataclass(frozen=True, slots=True)
class CostRow:
    """Model calls (``chat`` / ``text_completion`` spans, the only spans usage is counted on) under one key."""

    key: str | None  # None: calls without that tag
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced_calls: int  # calls with tokens but no cost: a model missing from the price table


@dataclass(frozen=True, slots=True)
class ToolStat:
    """One tool's calls: count, errors and latency percentiles (linear interpolation between ranks)."""

    tool: str
    calls: int
    errors: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    slowest_run_id: str  # run of the slowest call; "" when that call ran outside any agent run
    slowest_trace_id: str


@dataclass(frozen=True, slots=True)
class CostGroup:
    """The model calls of one (``--by`` value, ``--per`` value) pair, e.g. feature "travel" on day "2026-11-01"."""

    by_value: str | None  # the feature, user or model; None: calls without that tag
    per_value: str  # the UTC day (YYYY-MM-DD), the run id or the session id
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float  # a lower bound when unpriced_calls > 0
    unpriced_calls: int


@dataclass(frozen=True, slots=True)
class UnpricedModel:
    """A model whose calls carry tokens but no cost: it is missing from the price table."""

    model: str | None
    calls: int


@dataclass(frozen=True, slots=True)
class TurnlessToolCall:
    """A tool call whose parent is not a turn: a tool invoked outside an agent, or before any model call."""

    span_id: str
    trace_id: str
    tool: str | None
    start_ns: int
    run_id: str  # the agent run it sits in; "" when it ran outside any run


@dataclass(frozen=True, slots=True)
class WiringSmells:
    """Signs in the store that tracing is wired wrong, so cost figures may be incomplete."""

    unpriced_models: tuple[UnpricedModel, ...]
    runs_without_turns: tuple[RunSummary, ...]
    tool_calls_without_turn: tuple[TurnlessToolCall, ...]

    @property
    def count(self) -> int:
        """How many smells were found, of every kind (an unpriced model counts once, however many calls)."""
        return len(self.unpriced_models) + len(self.runs_without_turns) + len(self.tool_calls_without_turn)


@dataclass(frozen=True, slots=True)
class Earlier:
    """Rows of one kind (agent runs, model calls, tool calls) that started before a window: what an empty window
    has outside it."""

    count: int
    latest_start_ns: int | None  # None when count is 0
