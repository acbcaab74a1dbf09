"""A LangChain run's own identity as span attributes: its run id, and the metadata and tags the app gave it, under
LangSmith's OTel names (``langsmith.metadata.<key>``, ``langsmith.span.tags``). The LangSmith backend sends them
as the run's id, metadata and tags, so feedback, run URLs, filters and rules keyed on them keep working; other
backends get them as attributes. Secrets never: a key that names one or a SecretStr is left out, a credential in a
value is redacted (``redaction``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
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
    as_json: list[str] = []
    for key, value in (metadata or {}).items():
        kind: type = type(cast("object", value))
        try:
            kept = _cached_entry(key, value, kind)  # LangGraph repeats the same keys and values every call
        except TypeError:  # unhashable (a dict, a list): remembered by its JSON text, unless that is big
            text = json.dumps(value, default=str, separators=(",", ":"))
            kept = _cached_entry(key, text, _Json) if len(text) <= _MAX_VALUE_CHARS else _entry(key, value)
        if kept is not None:
            out[kept[0]] = kept[1]
            if kept[2]:
                as_json.append(key)
    if as_json:
        out[attr.METADATA_JSON_KEYS] = tuple(as_json)
    if tags:
        out[attr.LANGSMITH_TAGS] = tuple(_cached_tag(str(tag)) for tag in tags)
    return out


class _Json:
    """The ``kind`` of a metadata value given as its JSON text (an unhashable value)."""


_cached_tag: Final = lru_cache(maxsize=1024)(redacted)


def _entry(key: str, value: object) -> tuple[str, AttributeValue, bool] | None:
    """The attribute for one metadata key, and whether its value is JSON text; None for a secret."""
    if SECRET_KEY.search(key):
        return None
    kept = _safe_value(value)
    return None if kept is None else (attr.LANGSMITH_METADATA_PREFIX + key, *kept)


@lru_cache(maxsize=2048)
def _cached_entry(key: str, value: object, kind: type) -> tuple[str, AttributeValue, bool] | None:
    """``_entry``, remembered; ``kind`` keeps 1 and True apart (equal, and so one key of the cache without it)
    and marks a value given as its JSON text."""
    return _entry(key, json.loads(cast("str", value)) if kind is _Json else value)


def _safe_value(value: object) -> tuple[AttributeValue, bool] | None:
    """An attribute value for a metadata value, and whether it is JSON text: scalars and lists of strings as they
    are, anything else as JSON; None for a secret."""
    if value is None or isinstance(value, (SecretStr, SecretBytes)):
        return None
    if isinstance(value, (bool, int, float)):
        return (value if not isinstance(value, int) or -(2**63) <= value < 2**63 else str(value)), False  # int64
    if isinstance(value, str):
        return None if looks_secret(value) else (redacted(value)[:_MAX_VALUE_CHARS], False)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in cast("Sequence[object]", value)):
        return _strings(cast("Sequence[str]", value)), False  # an OTel string array: filters match its items
    # Any object the walk cannot see into becomes its text, redacted; the JSON itself is never redacted again,
    # which could break it.
    text = json.dumps(_scrubbed(cast("object", value)), default=_redacted_text, separators=(",", ":"))
    return (text, True) if len(text) <= _MAX_VALUE_CHARS else (text[:_MAX_VALUE_CHARS], False)  # cut: not JSON


def _strings(values: Sequence[str]) -> tuple[str, ...]:
    """A list of strings as an attribute: credentials left out, at most ``_MAX_VALUE_CHARS`` in all."""
    kept: list[str] = []
    room = _MAX_VALUE_CHARS
    for value in values:
        if looks_secret(value):
            continue
        item = redacted(value)
        if len(item) > room:
            kept.append("…")  # the list goes on: a filter on its first items still matches
            break
        kept.append(item)
        room -= len(item)
    return tuple(kept)


def _redacted_text(value: object) -> str:
    return redacted(str(value))


def _scrubbed(value: object) -> object:
    """A nested value without the secrets in it (a config dict passed as metadata, say)."""
    if isinstance(value, Mapping):
        items = cast("Mapping[object, object]", value)
        return {
            redacted(k) if isinstance(k, str) else k: _scrubbed(v)
            for k, v in items.items()
            if not (isinstance(k, str) and SECRET_KEY.search(k))
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        sequence = cast("Sequence[object]", list(cast("Any", value)))
        return [_scrubbed(v) for v in sequence if not (isinstance(v, str) and looks_secret(v))]
    if isinstance(value, (SecretStr, SecretBytes)) or (isinstance(value, str) and looks_secret(value)):
        return None
    return redacted(value) if isinstance(value, str) else value
