"""A LangChain run's own identity as span attributes: its run id, and the metadata and tags the app gave it, under
LangSmith's OTel names (``langsmith.metadata.<key>``, ``langsmith.span.tags``). The LangSmith backend sends them
as the run's id, metadata and tags, so feedback, run URLs, filters and rules keyed on them keep working; other
backends get them as attributes. Secrets never: a key that names one, a SecretStr, or a value shaped like an API
key is left out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast
from uuid import UUID

from opentelemetry.util.types import AttributeValue
from pydantic import SecretBytes, SecretStr

from langchain_turntrace import attributes as attr
from langchain_turntrace.redaction import SECRET_KEY, looks_secret, redacted

_MAX_VALUE_CHARS: Final = 4096  # metadata is for filtering: a huge value is cut, never a whole document


def run_attributes(
    run_id: UUID, metadata: Mapping[str, Any] | None, tags: Sequence[str] | None
) -> dict[str, AttributeValue]:
    """The attributes that carry one LangChain run's identity onto its span."""
    out: dict[str, AttributeValue] = {attr.LANGCHAIN_RUN_ID: str(run_id)}
    for key, value in (metadata or {}).items():
        if SECRET_KEY.search(key):
            continue
        kept = _safe_value(value)
        if kept is not None:
            out[attr.LANGSMITH_METADATA_PREFIX + key] = kept
    if tags:
        out[attr.LANGSMITH_TAGS] = tuple(str(tag) for tag in tags)
    return out


def _safe_value(value: object) -> AttributeValue | None:
    """An attribute value for a metadata value: scalars as they are, anything else as JSON; None for a secret."""
    if value is None or isinstance(value, (SecretStr, SecretBytes)):
        return None
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return None if looks_secret(value) else redacted(value)[:_MAX_VALUE_CHARS]
    return json.dumps(_scrubbed(value), default=str, separators=(",", ":"))[:_MAX_VALUE_CHARS]


def _scrubbed(value: object) -> object:
    """A nested value without the secrets in it (a config dict passed as metadata, say)."""
    if isinstance(value, Mapping):
        items = cast("Mapping[object, object]", value)
        return {k: _scrubbed(v) for k, v in items.items() if not (isinstance(k, str) and SECRET_KEY.search(k))}
    if isinstance(value, (list, tuple)):
        sequence = cast("Sequence[object]", value)
        return [_scrubbed(v) for v in sequence if not (isinstance(v, str) and looks_secret(v))]
    if isinstance(value, (SecretStr, SecretBytes)) or (isinstance(value, str) and looks_secret(value)):
        return None
    return redacted(value) if isinstance(value, str) else value
