"""Spans in tree order with the facts a waterfall shows: the rows every renderer shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_turntrace import attributes as attr
from langchain_turntrace.store._records import Role, StoredSpan


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    """One span as a waterfall row. ``offset_ms`` is from the earliest start among the spans rendered.

    Tokens and cost are the span's own usage on a model call (``gen_ai.usage.*``, ``turntrace.cost_usd``) and
    the rolled-up ``turntrace.total_*`` on agent, turn and tool spans; None where the span does not say.
    """

    depth: int
    span: StoredSpan
    kind: Role
    label: str
    offset_ms: float
    duration_ms: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    stop_reason: str | None = None
    error: bool = False
    error_type: str | None = None
    incomplete: bool = False
    interrupted: bool = False

    @property
    def error_class(self) -> str | None:
        """The error type without its module (``ToolException`` for ``langchain_core.tools.ToolException``): it
        reads in a narrow column, and the full type stays in the span's attributes."""
        return None if self.error_type is None else self.error_type.rsplit(".", 1)[-1]


def build_rows(spans: Sequence[StoredSpan]) -> list[WaterfallRow]:
    """Depth-first: each parent before its children, siblings by start time (then name, then id, so the order
    is stable). A span whose parent is not among ``spans`` is a root."""
    if not spans:
        return []
    origin = min(span.start_ns for span in spans)
    known = {(span.trace_id, span.span_id) for span in spans}
    children: dict[tuple[str, str] | None, list[StoredSpan]] = {}
    for span in spans:
        parent = (span.trace_id, span.parent_span_id) if span.parent_span_id is not None else None
        children.setdefault(parent if parent in known else None, []).append(span)

    rows: list[WaterfallRow] = []
    visited: set[int] = set()

    def walk(top: StoredSpan) -> None:
        stack = [(top, 0)]  # explicit stack: a deep chain of spans must not hit the recursion limit
        while stack:
            span, depth = stack.pop()
            if id(span) in visited:
                continue
            visited.add(id(span))
            rows.append(_row(span, depth, origin))
            kids = _ordered(children.get((span.trace_id, span.span_id), []))
            stack.extend((kid, depth + 1) for kid in reversed(kids))

    for root in _ordered(children.get(None, [])):
        walk(root)
    # Spans in a parent cycle (corrupt data) are reachable from no root; shown as roots rather than dropped.
    for span in _ordered([s for s in spans if id(s) not in visited]):
        walk(span)
    return rows


def _ordered(spans: list[StoredSpan]) -> list[StoredSpan]:
    return sorted(spans, key=lambda s: (s.start_ns, s.name, s.span_id))


def _row(span: StoredSpan, depth: int, origin_ns: int) -> WaterfallRow:
    a = span.attributes
    kind = span.role
    if kind == "chat":
        tokens = (_int(a.get(attr.GEN_AI_USAGE_INPUT_TOKENS)), _int(a.get(attr.GEN_AI_USAGE_OUTPUT_TOKENS)))
        cost = _float(a.get(attr.COST_USD))
    else:
        tokens = (_int(a.get(attr.TOTAL_INPUT_TOKENS)), _int(a.get(attr.TOTAL_OUTPUT_TOKENS)))
        cost = _float(a.get(attr.TOTAL_COST_USD))
    error_type = _str(a.get(attr.ERROR_TYPE))
    return WaterfallRow(
        depth=depth,
        span=span,
        kind=kind,
        label=span.name or f"span {span.span_id}",
        offset_ms=(span.start_ns - origin_ns) / 1e6,
        duration_ms=max(0, span.end_ns - span.start_ns) / 1e6,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cost_usd=cost,
        stop_reason=_str(a.get(attr.STOP_REASON)) or _finish_reasons(a.get(attr.GEN_AI_RESPONSE_FINISH_REASONS)),
        error=span.status == "ERROR" or error_type is not None,
        error_type=error_type,
        incomplete=a.get(attr.INCOMPLETE) is True,
        interrupted=a.get(attr.INTERRUPTED) is True,
    )


def _int(value: Any) -> int | None:
    # bool is an int subclass; a True token count would be a bug upstream, not a count of 1.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _finish_reasons(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        items = cast("Sequence[object]", value)  # exported attribute sequences hold str, bool, int or float
        return ", ".join(str(v) for v in items) or None
    return _str(value)
