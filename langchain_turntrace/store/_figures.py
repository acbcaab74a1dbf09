"""What the report's queries return: plain, frozen rows (JSON-ready with ``dataclasses.asdict``)."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_turntrace.store._results import CostRow, Earlier, RunSummary, WiringSmells


@dataclass(frozen=True, slots=True)
class DayCost:
    """The model calls of one UTC day and one model (or feature): a segment of a stacked bar."""

    day: str  # YYYY-MM-DD
    key: str | None  # the model or the feature; None: calls without that tag
    calls: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class CallRef:
    """One tool call to open: the run it happened in and what it took."""

    span_id: str
    trace_id: str
    run_id: str  # "" when the call ran outside any agent run
    start_ns: int
    duration_ms: float
    failed: bool


@dataclass(frozen=True, slots=True)
class ToolFigures:
    """One tool's calls, as ``turntrace top tools`` counts them, and the calls worth opening: its slowest, or
    its latest failures."""

    tool: str
    calls: int
    errors: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    examples: tuple[CallRef, ...]


@dataclass(frozen=True, slots=True)
class CostlyTurn:
    """A turn and its inclusive cost (its model calls and those of agents it called)."""

    span_id: str
    trace_id: str
    run_id: str
    turn_index: int | None
    model: str | None
    agent: str | None  # the run's agent
    feature: str | None
    start_ns: int
    duration_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class TurnTokens:
    """Tokens per turn of one model: a turn's model calls of that model summed, then p50/p95 over turns
    (linear interpolation between ranks, as for tool latency)."""

    model: str | None
    turns: int
    input_p50: float
    input_p95: float
    input_max: int
    output_p50: float
    output_p95: float
    output_max: int


@dataclass(frozen=True, slots=True)
class ReportFigures:
    """Every figure of ``turntrace report``: model calls, runs and tool calls that started at or after
    ``since_ns``. Costs are counted on model calls only (runs and turns show their inclusive totals)."""

    since_ns: int | None
    until_ns: int  # when the figures were read
    runs: int  # agent runs (root agent spans) started in the window
    total: CostRow  # every model call of the window (key None)
    cost_by_day: tuple[DayCost, ...]  # key None: the day's total
    cost_by_day_model: tuple[DayCost, ...]
    cost_by_day_feature: tuple[DayCost, ...]
    by_model: tuple[CostRow, ...]
    by_feature: tuple[CostRow, ...]
    by_user: tuple[CostRow, ...]
    by_agent_version: tuple[CostRow, ...]
    slowest_tools: tuple[ToolFigures, ...]  # by p95 latency
    failing_tools: tuple[ToolFigures, ...]  # by errors; only tools that failed
    costly_runs: tuple[RunSummary, ...]
    costly_turns: tuple[CostlyTurn, ...]
    tokens_per_turn: tuple[TurnTokens, ...]
    smells: WiringSmells
    # What started before the window: read only when the window is empty, to say what exists outside it.
    runs_before: Earlier | None
    model_calls_before: Earlier | None

    @property
    def empty(self) -> bool:
        """Nothing started in the window: no runs, no model calls, no tool calls."""
        return not self.runs and not self.total.calls and not self.slowest_tools
