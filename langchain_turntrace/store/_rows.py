"""A span as a ``spans`` row and back: ids and times as is, queried attributes copied into indexed columns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from langchain_turntrace import attributes as attr
from langchain_turntrace.store._records import StoredSpan

SPAN_COLUMNS: Final = "trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status, attributes"
"""What ``stored_from_row`` reads, in its order."""

INSERT_SPAN: Final = (
    "INSERT OR REPLACE INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status, "
    "operation, model, tool, session, user_id, feature, agent_version, input_tokens, output_tokens, cost_usd, "
    "error_type, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

SpanRow = tuple[Any, ...]


def row_from_stored(span: StoredSpan) -> SpanRow:
    """The values of ``INSERT_SPAN`` for one span."""
    a = span.attributes
    return (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        span.kind,
        span.start_ns,
        span.end_ns,
        span.status,
        text(a, attr.GEN_AI_OPERATION_NAME),
        text(a, attr.GEN_AI_RESPONSE_MODEL) or text(a, attr.GEN_AI_REQUEST_MODEL),
        text(a, attr.GEN_AI_TOOL_NAME),
        text(a, attr.SESSION_ID),
        text(a, attr.USER_ID),
        text(a, attr.FEATURE),
        text(a, attr.AGENT_VERSION),
        integer(a, attr.GEN_AI_USAGE_INPUT_TOKENS),
        integer(a, attr.GEN_AI_USAGE_OUTPUT_TOKENS),
        number(a, attr.COST_USD),
        text(a, attr.ERROR_TYPE),
        # ensure_ascii: a lone surrogate in a string stays storable; default=str: an exotic value is kept as
        # text rather than losing the whole batch.
        json.dumps(a, separators=(",", ":"), default=str),
    )


def stored_from_row(row: Any) -> StoredSpan:
    """A row selected with ``SPAN_COLUMNS``."""
    return StoredSpan(
        trace_id=row[0],
        span_id=row[1],
        parent_span_id=row[2],
        name=row[3],
        kind=row[4],
        start_ns=row[5],
        end_ns=row[6],
        status=row[7],
        attributes=json.loads(row[8]),
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
