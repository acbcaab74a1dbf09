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
