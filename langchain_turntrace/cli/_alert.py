"""``turntrace alert``: model-call cost per group against a threshold, the wiring smells, and the exit code."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from langchain_turntrace.cli._since import since_ns, utc
from langchain_turntrace.store import (
    CostGroup,
    RunSummary,
    SpanStore,
    TurnlessToolCall,
    UnpricedModel,
    window_start_ns,
)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Drill(Generic[_T]):
    """A finding and the command that opens it."""

    item: _T
    next: str


@dataclass(frozen=True, slots=True)
class AlertReport:
    """What one ``turntrace alert`` found; the renderer and ``--json`` both read it."""

    store: Path
    max_cost_usd: float
    per: str
    by: str
    since: str
    window_start_ns: int
    groups: tuple[CostGroup, ...]  # every group checked, costliest first
    over: tuple[Drill[CostGroup], ...]
    unpriced_models: tuple[UnpricedModel, ...]
    runs_without_turns: tuple[Drill[RunSummary], ...]
    tool_calls_without_turn: tuple[Drill[TurnlessToolCall], ...]
    strict: bool
    store_empty: bool

    @property
    def smells(self) -> int:
        return len(self.unpriced_models) + len(self.runs_without_turns) + len(self.tool_calls_without_turn)

    @property
    def exit_code(self) -> int:
        return 1 if self.over or (self.strict and self.smells) else 0

    @property
    def status(self) -> str:
        """Why the exit code is what it is: over, smells (with --strict), ok or nothing_to_check."""
        if self.over:
            return "over"
        if self.strict and self.smells:
            return "smells"
        return "ok" if self.groups else "nothing_to_check"

    def window(self) -> str:
        """The window in words, as the output states it."""
        start = utc(self.window_start_ns)
        if self.per == "day":
            return f"whole UTC days from {start:%Y-%m-%d} (--since {self.since})"
        if self.per == "run":
            return f"agent runs started since {start:%Y-%m-%d %H:%M} UTC (--since {self.since})"
        return (
            f"sessions with a model call since {start:%Y-%m-%d %H:%M} UTC (--since {self.since}), "
            "each totalled over all its model calls"
        )

    def as_json(self) -> dict[str, Any]:
        start = utc(self.window_start_ns)
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "store": str(self.store),
            "max_cost_usd": self.max_cost_usd,
            "per": self.per,
            "by": self.by,
            "since": self.since,
            "window_start": start.isoformat(),
            "groups_checked": len(self.groups),
            "over": [{**asdict(d.item), "next": d.next} for d in self.over],
            "smells": {
                "unpriced_models": [asdict(m) for m in self.unpriced_models],
                "runs_without_turns": [{**asdict(d.item), "next": d.next} for d in self.runs_without_turns],
                "tool_calls_without_turn": [{**asdict(d.item), "next": d.next} for d in self.tool_calls_without_turn],
            },
            "strict": self.strict,
        }


def evaluate(
    store: SpanStore,
    *,
    max_cost_usd: float,
    per: str,
    by: str,
    since: str,
    strict: bool,
    store_option: Path | None,
) -> AlertReport:
    """Reads the groups and the smells; ``store_option`` (the user's ``--store``) goes into the next commands."""
    start_ns = since_ns(since) or 0  # argparse has read --since: never None
    groups = store.cost_groups(per, by, start_ns)
    smells = store.wiring_smells(start_ns)
    prefix = "turntrace" if store_option is None else f"turntrace --store {shlex.quote(str(store_option))}"
    return AlertReport(
        store=store.path,
        max_cost_usd=max_cost_usd,
        per=per,
        by=by,
        since=since,
        window_start_ns=window_start_ns(per, start_ns),
        groups=tuple(groups),
        # Strictly over: a budget of $50 is kept by spending exactly $50.
        over=tuple(Drill(g, _group_command(prefix, g, per, by, since)) for g in groups if g.cost_usd > max_cost_usd),
        unpriced_models=smells.unpriced_models,
        runs_without_turns=tuple(Drill(r, _show(prefix, r.run_id)) for r in smells.runs_without_turns),
        tool_calls_without_turn=tuple(
            Drill(t, _show(prefix, t.run_id) if t.run_id else f"{prefix} show {t.trace_id}")
            for t in smells.tool_calls_without_turn
        ),
        strict=strict,
        store_empty=not groups and not smells.count and store.spans_count() == 0,
    )


def _show(prefix: str, run_id: str) -> str:
    return f"{prefix} show {run_id[:12]}"


def _group_command(prefix: str, group: CostGroup, per: str, by: str, since: str) -> str:
    """The next command for an over-budget group: its run, its session's runs, or its day broken down."""
    if per == "run":
        return _show(prefix, group.per_value)
    tagged = by in ("user", "feature") and group.by_value is not None
    tag = [f"--{by}", group.by_value or ""] if tagged else []
    if per == "session":
        words = ["runs", "--session", group.per_value, *tag, "--since", since]
    elif tagged:
        words = ["runs", *tag, "--since", group.per_value]
    else:  # a model's day (or untagged calls): which feature spent it
        words = ["cost", "--by", "feature" if by == "model" else by, "--since", group.per_value]
    return " ".join([prefix, *(shlex.quote(w) for w in words)])
