"""Reading finished spans as a tree: compact renderings to assert shape first, then attributes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Spans:
    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self._exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return sorted((s for s in self.all() if s.name.startswith(prefix)), key=lambda s: s.start_time or 0)

    def one(self, name: str) -> ReadableSpan:
        found = [s for s in self.all() if s.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {len(found)}: {[s.name for s in self.all()]}"
        return found[0]

    def roots(self) -> list[ReadableSpan]:
        ids = {_id(s) for s in self.all()}
        return sorted((s for s in self.all() if s.parent is None or s.parent.span_id not in ids), key=_start)

    def children(self, span: ReadableSpan) -> list[ReadableSpan]:
        return sorted((s for s in self.all() if s.parent is not None and s.parent.span_id == _id(span)), key=_start)

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        return next((s for s in self.all() if _id(s) == span.parent.span_id), None)

    def tree(self, root: ReadableSpan | None = None, *, by_name: bool = False) -> str:
        """One line per span, two spaces of indent per level; siblings by start time (or by name, for runs
        whose parallel tool calls may start in any order)."""
        lines: list[str] = []

        def walk(span: ReadableSpan, depth: int) -> None:
            lines.append("  " * depth + span.name)
            children = self.children(span)
            for child in sorted(children, key=lambda s: s.name) if by_name else children:
                walk(child, depth + 1)

        for top in [root] if root is not None else self.roots():
            walk(top, 0)
        return "\n".join(lines)

    def attrs(self, span: ReadableSpan) -> dict[str, Any]:
        return dict(span.attributes or {})


def _id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def _start(span: ReadableSpan) -> tuple[int, str]:
    return (span.start_time or 0, span.name)


def tree_text(*lines: str) -> str:
    return "\n".join(lines)


def types_of(attributes: Mapping[str, Any], keys: Iterable[str]) -> dict[str, type]:
    return {key: type(attributes[key]) for key in keys if key in attributes}
