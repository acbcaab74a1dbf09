"""What the store hands its readers: plain rows, no SQLite or OTel types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from langchain_turntrace import attributes as attr
from langchain_turntrace.version import INSTRUMENTATION_SCOPE

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan


Role = Literal["agent", "turn", "chat", "tool", "other"]
"""A span's place in the turn tree: agent run, turn, model call, tool call, or something not ours."""


@dataclass(frozen=True, slots=True)
class StoredLink:
    """A span link as the store keeps it: the span linked to, and the link's attributes."""

    trace_id: str
    span_id: str
    attributes: dict[str, Any] = field(default_factory=lambda: dict[str, Any]())

    @property
    def kind(self) -> str | None:
        """``turntrace.link_kind`` (``resumes``) or ``gen_ai.attribution.link_type``, whichever it has."""
        value = self.attributes.get(attr.LINK_KIND, self.attributes.get(attr.GEN_AI_ATTRIBUTION_LINK_TYPE))
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class StoredSpan:
    """One finished span as the store keeps it. Ids are lowercase hex (trace 32 chars, span 16)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str  # "INTERNAL", "CLIENT", ...
    start_ns: int
    end_ns: int
    status: str  # "UNSET", "OK", "ERROR"
    attributes: dict[str, Any] = field(default_factory=lambda: dict[str, Any]())  # every attribute, as exported
    foreign: bool = False
    """Made by another instrumentation (a provider SDK, an HTTP client): shown in the tree, never counted. A
    provider SDK's own ``chat`` span under ours is the same model call."""
    links: tuple[StoredLink, ...] = ()

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    @property
    def operation(self) -> str | None:
        value = self.attributes.get(attr.GEN_AI_OPERATION_NAME)
        return value if isinstance(value, str) else None

    @property
    def role(self) -> Role:
        if self.foreign:
            return "other"
        operation = self.operation
        if operation == "invoke_agent":
            return "agent"
        if operation == "execute_tool":
            return "tool"
        if attr.TURN_INDEX in self.attributes:
            return "turn"
        # Every other gen_ai operation we emit is a model call (chat, text_completion, ...).
        return "chat" if operation else "other"


def stored_from_readable(span: ReadableSpan) -> StoredSpan:
    """An SDK span as the store keeps it (tuples become lists, as after a JSON round trip)."""
    return StoredSpan(
        *readable_identity(span),
        attributes={k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()},  # pyright: ignore[reportUnknownArgumentType]  # OTel's attribute sequences are untyped tuples
        foreign=is_foreign(span),
        links=tuple(stored_links(span)),
    )


def stored_links(span: ReadableSpan) -> list[StoredLink]:
    return [
        StoredLink(
            format(link.context.trace_id, "032x"),
            format(link.context.span_id, "016x"),
            {k: list(v) if isinstance(v, tuple) else v for k, v in (link.attributes or {}).items()},  # pyright: ignore[reportUnknownArgumentType]  # OTel's attribute sequences are untyped tuples
        )
        for link in span.links
    ]


def is_foreign(span: ReadableSpan) -> bool:
    scope = span.instrumentation_scope
    return scope is not None and scope.name != INSTRUMENTATION_SCOPE


def readable_identity(span: ReadableSpan) -> tuple[str, str, str | None, str, str, int, int, str]:
    """An SDK span's ``StoredSpan`` fields before its attributes: trace, span and parent ids as hex, name, kind,
    start, end (the start when it has none) and status."""
    context = span.context
    parent = span.parent
    start_ns = span.start_time or 0
    return (
        format(context.trace_id, "032x") if context else "",
        format(context.span_id, "016x") if context else "",
        format(parent.span_id, "016x") if parent else None,
        span.name,
        span.kind.name,
        start_ns,
        span.end_time or start_ns,
        span.status.status_code.name,
    )
