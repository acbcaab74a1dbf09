"""The checks an engineer runs before launch, over the spans of one or more agent runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opentelemetry.sdk.trace import ReadableSpan

from langchain_turntrace import attributes as attr
from langchain_turntrace.store import DEFAULT_RETENTION_DAYS, StoredSpan
from langchain_turntrace.store._records import stored_from_readable

TAG_KEYS = (attr.SESSION_ID, attr.USER_ID, attr.FEATURE, attr.AGENT_VERSION)
_UNPRICED = ("unpriced", "no_usage")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str  # what was found, and on failure what to do


class WiringError(AssertionError):
    """Raised by assert_well_wired: the message lists every failed check."""


def check_run(
    spans: Iterable[StoredSpan | ReadableSpan],
    *,
    retention_days: int | None = DEFAULT_RETENTION_DAYS,
    required_tags: Sequence[str] = TAG_KEYS,
) -> list[Check]:
    """Every check, passed or not, over the spans of one or more complete agent runs."""
    rows = [s if isinstance(s, StoredSpan) else stored_from_readable(s) for s in spans]
    by_id = {s.span_id: s for s in rows}
    parent_role = {s.span_id: by_id[s.parent_span_id].role if s.parent_span_id in by_id else None for s in rows}
    checks: list[Check] = []

    roots = [s for s in rows if s.parent_span_id not in by_id]
    root_traces = Counter(s.trace_id for s in roots)
    bad_roots = [s.name for s in roots if s.role != "agent"]
    many = [t for t, n in root_traces.items() if n > 1]
    checks.append(
        Check(
            "one root per run",
            bool(roots) and not bad_roots and not many,
            f"{len(roots)} run(s), each with one invoke_agent root"
            if roots and not bad_roots and not many
            else "no spans found: is the handler in callbacks=[...]?"
            if not rows
            else f"root spans that are not agent runs: {bad_roots[:5]}; several roots in one trace: {len(many)}. "
            "Pass the handler at the outermost invoke (config={'callbacks': [handler]}), not to inner runnables.",
        )
    )

    turns = [s for s in rows if s.role == "turn"]
    stray_turns = [s.name for s in turns if parent_role[s.span_id] != "agent"]
    checks.append(
        Check(
            "turns under the agent",
            bool(turns) and not stray_turns,
            f"{len(turns)} turn(s)"
            if turns and not stray_turns
            else "no turn spans: no model call was traced"
            if not turns
            else f"turns outside an agent span: {stray_turns[:5]}",
        )
    )

    tools = [s for s in rows if s.role == "tool" and s.attributes.get(attr.GEN_AI_TOOL_CALL_ID)]
    stray_tools = [s.name for s in tools if parent_role[s.span_id] != "turn"]
    checks.append(
        Check(
            "tool calls under their turn",
            not stray_tools,
            f"{len(tools)} tool call(s), each under the turn that requested it"
            if not stray_tools
            else f"tool calls not under a turn: {stray_tools[:5]} — were the tools run outside the traced agent?",
        )
    )

    chats = [s for s in rows if s.role == "chat"]
    no_tokens = [s.name for s in chats if attr.GEN_AI_USAGE_INPUT_TOKENS not in s.attributes]
    unpriced = sorted({s.name for s in chats if s.attributes.get(attr.COST_SOURCE) == "unpriced"})
    no_cost = [
        s.name
        for s in chats
        if s.attributes.get(attr.COST_SOURCE) not in _UNPRICED and attr.COST_USD not in s.attributes
    ]
    cost_ok = bool(chats) and not no_tokens and not no_cost and not unpriced
    checks.append(
        Check(
            "tokens and cost on every model call",
            cost_ok,
            f"{len(chats)} model call(s) with tokens and cost"
            if cost_ok
            else "no model calls traced"
            if not chats
            else "; ".join(
                part
                for part in (
                    f"no token usage on {no_tokens[:3]}: enable usage reporting (e.g. stream_usage=True)"
                    if no_tokens
                    else "",
                    f"unpriced models {unpriced[:3]}: add them with prices={{...}} or TURNTRACE_PRICES"
                    if unpriced
                    else "",
                    f"priced calls without cost: {no_cost[:3]}" if no_cost else "",
                )
                if part
            ),
        )
    )

    missing: Counter[str] = Counter()
    for span in rows:
        missing.update(key for key in required_tags if key not in span.attributes)
    checks.append(
        Check(
            "tags on every span",
            bool(rows) and not missing,
            f"{', '.join(required_tags)} on all {len(rows)} spans"
            if not missing
            else "missing "
            + ", ".join(f"{key} on {count} span(s)" for key, count in sorted(missing.items()))
            + ": pass them to TurnTraceCallbackHandler(...), in config metadata, or with langchain_turntrace.tags(...)",
        )
    )

    if retention_days is not None:
        checks.append(
            Check(
                "retention >= 30 days",
                retention_days >= DEFAULT_RETENTION_DAYS,
                f"{retention_days} days"
                if retention_days >= DEFAULT_RETENTION_DAYS
                else f"{retention_days} days: incidents are often found after a week or more; "
                "set TURNTRACE_RETENTION_DAYS=30 or more",
            )
        )
    return checks


def assert_well_wired(
    spans: Iterable[StoredSpan | ReadableSpan],
    *,
    retention_days: int | None = None,
    required_tags: Sequence[str] = TAG_KEYS,
) -> None:
    """For your own test suite: fails with every broken check listed.

    >>> assert_well_wired(exporter.get_finished_spans())  # doctest: +SKIP
    """
    failed = [c for c in check_run(spans, retention_days=retention_days, required_tags=required_tags) if not c.passed]
    if failed:
        raise WiringError("turntrace wiring checks failed:\n" + "\n".join(f"  ✗ {c.name}: {c.detail}" for c in failed))
