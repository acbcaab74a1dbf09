"""Run totals for the page header and the per-turn cost table, read off the rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from langchain_turntrace import attributes as attr
from langchain_turntrace.waterfall._rows import WaterfallRow


@dataclass(frozen=True, slots=True)
class RunSummary:
    agent_names: tuple[str, ...]
    session_ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    features: tuple[str, ...]
    agent_versions: tuple[str, ...]
    trace_ids: tuple[str, ...]
    start_ns: int | None
    duration_ms: float
    turns: int
    tool_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    errors: int  # error spans anywhere, including tool errors the run survived
    failed: bool  # a run itself (a root span) ended in error
    incomplete: bool
    interrupted: bool


@dataclass(frozen=True, slots=True)
class TurnCost:
    row: WaterfallRow
    agent_name: str | None
    nested: bool  # the turn belongs to an agent running inside another agent's tool
    model: str | None
    tool_calls: int
    tool_errors: int


def summarize(rows: Sequence[WaterfallRow]) -> RunSummary:
    """Totals from each root's own rollup attributes; a root without them (an export missing the agent span, so
    its turns are the roots) falls back to counting and summing the spans under it."""
    turns = tool_calls = input_tokens = output_tokens = 0
    cost: float | None = None
    for group in _root_groups(rows):
        root = group[0]
        a = root.span.attributes
        turns += _count(a.get(attr.TURN_COUNT), sum(1 for r in group if r.kind == "turn"))
        tool_calls += _count(a.get(attr.TOOL_CALL_COUNT), sum(1 for r in group if r.kind == "tool"))
        models = [r for r in group if r.kind == "chat"]  # the leaves every rollup is summed from
        rolled_up = root.kind != "chat" and root.input_tokens is not None
        input_tokens += (root.input_tokens or 0) if rolled_up else sum(r.input_tokens or 0 for r in models)
        output_tokens += (root.output_tokens or 0) if rolled_up else sum(r.output_tokens or 0 for r in models)
        costs = [root.cost_usd] if rolled_up else [r.cost_usd for r in models]
        costs = [c for c in costs if c is not None]
        if costs:
            cost = (cost or 0.0) + sum(costs)
    roots = [r for r in rows if r.depth == 0]
    return RunSummary(
        agent_names=_distinct(r.span.attributes.get(attr.GEN_AI_AGENT_NAME) for r in roots if r.kind == "agent"),
        session_ids=_distinct(r.span.attributes.get(attr.SESSION_ID) for r in rows),
        user_ids=_distinct(r.span.attributes.get(attr.USER_ID) for r in rows),
        features=_distinct(r.span.attributes.get(attr.FEATURE) for r in rows),
        agent_versions=_distinct(r.span.attributes.get(attr.AGENT_VERSION) for r in rows),
        trace_ids=_distinct(r.span.trace_id for r in rows),
        start_ns=min((r.span.start_ns for r in rows), default=None),
        duration_ms=max((r.offset_ms + r.duration_ms for r in rows), default=0.0),
        turns=turns,
        tool_calls=tool_calls,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        errors=sum(1 for r in rows if r.error),
        failed=any(r.error for r in roots),
        incomplete=any(r.incomplete for r in rows),
        interrupted=any(r.interrupted for r in rows),
    )


def turn_costs(rows: Sequence[WaterfallRow]) -> list[TurnCost]:
    """Every turn in tree order, with the agent it belongs to and its direct tool calls."""
    out: list[TurnCost] = []
    agents: list[WaterfallRow] = []  # the agent rows on the path to the current row
    for index, row in enumerate(rows):
        while agents and agents[-1].depth >= row.depth:
            agents.pop()
        if row.kind == "agent":
            agents.append(row)
        if row.kind != "turn":
            continue
        tools = [child for child in _subtree(rows, index) if child.depth == row.depth + 1 and child.kind == "tool"]
        agent = agents[-1] if agents else None
        name = agent.span.attributes.get(attr.GEN_AI_AGENT_NAME) if agent else None
        model = row.span.attributes.get(attr.GEN_AI_REQUEST_MODEL)
        out.append(
            TurnCost(
                row=row,
                agent_name=name if isinstance(name, str) else None,
                nested=len(agents) > 1 or (agent is not None and agent.depth > 0),
                model=model if isinstance(model, str) else None,
                tool_calls=len(tools),
                tool_errors=sum(1 for t in tools if t.error),
            )
        )
    return out


def _subtree(rows: Sequence[WaterfallRow], index: int) -> list[WaterfallRow]:
    """The rows below ``rows[index]``: those after it, up to the next row no deeper than it."""
    below: list[WaterfallRow] = []
    for row in rows[index + 1 :]:
        if row.depth <= rows[index].depth:
            break
        below.append(row)
    return below


def _root_groups(rows: Sequence[WaterfallRow]) -> list[list[WaterfallRow]]:
    groups: list[list[WaterfallRow]] = []
    for row in rows:
        if row.depth == 0:
            groups.append([row])
        elif groups:
            groups[-1].append(row)
    return groups


def _count(value: object, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def _distinct(values: Iterable[object]) -> tuple[str, ...]:
    seen: dict[str, None] = {}  # insertion-ordered set
    for value in values:
        if isinstance(value, str) and value:
            seen[value] = None
    return tuple(seen)
