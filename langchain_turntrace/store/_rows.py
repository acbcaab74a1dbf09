"""A span as a ``spans`` row and back: ids and times as is, queried attributes copied into indexed columns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from langchain_turntrace import attributes as attr
from langchain_turntrace.store._records import (
    StoredLink,
    StoredSpan,
    is_foreign,
    readable_identity,
    stored_links,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

SPAN_COLUMNS: Final = "trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status, attributes, operation"
"""What ``stored_from_row`` reads, in its order."""

INSERT_SPAN: Final = (
    "INSERT OR REPLACE INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status, "
    "operation, model, tool, session, user_id, feature, agent_version, input_tokens, output_tokens, cost_usd, "
    "error_type, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

INSERT_LINK: Final = (
    "INSERT OR REPLACE INTO links (trace_id, span_id, linked_trace_id, linked_span_id, attributes) "
    "VALUES (?, ?, ?, ?, ?)"
)

SpanRow = tuple[Any, ...]
LinkRow = tuple[str, str, str, str, str]


def row_from_stored(span: StoredSpan) -> SpanRow:
    """The values of ``INSERT_SPAN`` for one span."""
    identity = (span.trace_id, span.span_id, span.parent_span_id, span.name, span.kind, span.start_ns, span.end_ns)
    return _row((*identity, span.status), span.attributes, foreign=span.foreign)


def row_from_readable(span: ReadableSpan) -> SpanRow:
    """The values of ``INSERT_SPAN`` for an SDK span, as ``row_from_stored(stored_from_readable(span))`` gives
    them, without the record in between: the export worker shares the GIL with the agent."""
    a = dict(span.attributes or {})  # tuples are JSON arrays, as lists are
    return _row(readable_identity(span), a, foreign=is_foreign(span))


def link_rows(span: StoredSpan | ReadableSpan) -> list[LinkRow]:
    """The values of ``INSERT_LINK`` for each of the span's links."""
    if not span.links:
        return []
    if isinstance(span, StoredSpan):
        trace_id, span_id, links = span.trace_id, span.span_id, list(span.links)
    else:  # the export worker's path: no whole StoredSpan in between
        trace_id, span_id, *_ = readable_identity(span)
        links = stored_links(span)
    return [(trace_id, span_id, link.trace_id, link.span_id, _attributes_json(link.attributes)) for link in links]


def _row(identity: tuple[Any, ...], a: Mapping[str, Any], *, foreign: bool) -> SpanRow:
    """``identity``: trace and span ids, parent id, name, kind, start, end and status; then the queried
    attributes. A foreign span keeps its attributes but fills no counted column (operation, tokens, cost), so
    no query counts it."""
    if foreign:
        return (*identity, None, None, None, *_tags(a), None, None, None, text(a, attr.ERROR_TYPE), _attributes_json(a))
    return (
        *identity,
        text(a, attr.GEN_AI_OPERATION_NAME),
        text(a, attr.GEN_AI_RESPONSE_MODEL) or text(a, attr.GEN_AI_REQUEST_MODEL),
        text(a, attr.GEN_AI_TOOL_NAME),
        *_tags(a),
        integer(a, attr.GEN_AI_USAGE_INPUT_TOKENS),
        integer(a, attr.GEN_AI_USAGE_OUTPUT_TOKENS),
        number(a, attr.COST_USD),
        text(a, attr.ERROR_TYPE),
        _attributes_json(a),
    )


def _tags(a: Mapping[str, Any]) -> tuple[str | None, ...]:
    return text(a, attr.SESSION_ID), text(a, attr.USER_ID), text(a, attr.FEATURE), text(a, attr.AGENT_VERSION)


# ensure_ascii: a lone surrogate in a string stays storable; default=str: an exotic value is kept as text rather
# than losing the whole batch. Made once: json.dumps with options builds an encoder per call.
_attributes_json: Final = json.JSONEncoder(separators=(",", ":"), default=str).encode


def stored_link(row: Any) -> StoredLink:
    """A row selected as ``linked_trace_id, linked_span_id, attributes``."""
    return StoredLink(row[0], row[1], json.loads(row[2]))


def stored_from_row(row: Any, links: tuple[StoredLink, ...] = ()) -> StoredSpan:
    """A row selected with ``SPAN_COLUMNS``, with the span's links."""
    return StoredSpan(
        trace_id=row[0],
        span_id=row[1],
        parent_span_id=row[2],
        name=row[3],
        kind=row[4],
        start_ns=row[5],
        end_ns=row[6],
        status=row[7],
        attributes=(attributes := json.loads(row[8])),
        foreign=row[9] is None and attr.GEN_AI_OPERATION_NAME in attributes,  # a GenAI span not counted as ours
        links=links,
    )


def text(attributes: Mapping[str, Any], key: str) -> str | None:
    value = attributes.get(key)
    return value if isinstance(value, str) else None


def integer(attributes: Mapping[str, Any], key: str) -> int | None:
    value = attributes.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(attributes: Mapping[str, Any], key: str) -> float | None:
    value = attributes.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
