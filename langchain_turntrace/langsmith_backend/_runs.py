"""A span as LangSmith run fields: run type, run ids, dotted order, metadata. Plain data, no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final, cast
from uuid import UUID

from langchain_turntrace import attributes as attr
from langchain_turntrace.langsmith_backend._content import inputs_of, outputs_of
from langchain_turntrace.store import StoredSpan
from langchain_turntrace.store._records import Role

_LANGSMITH: Final = "langsmith."  # LangSmith's own OTel names: the run's metadata and tags, sent as such

CONTENT_ATTRIBUTES: Final = frozenset(
    {
        attr.GEN_AI_INPUT_MESSAGES,
        attr.GEN_AI_OUTPUT_MESSAGES,
        attr.GEN_AI_TOOL_CALL_ARGUMENTS,
        attr.GEN_AI_TOOL_CALL_RESULT,
        # content other instrumentations record (a provider SDK's spans, OpenInference, OpenLLMetry under ours)
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "input.value",
        "output.value",
    }
)
"""Captured content goes to the run's inputs and outputs only, where LANGSMITH_HIDE_INPUTS / _OUTPUTS hide it."""
_CONTENT_PREFIXES: Final = ("gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages.")
"""Content attributes numbered per message (OpenLLMetry's ``gen_ai.prompt.0.content``, OpenInference's)."""


def _is_content(key: str) -> bool:
    return key in CONTENT_ATTRIBUTES or key.startswith(_CONTENT_PREFIXES)


RUN_TYPES: Final[Mapping[Role, str]] = {
    "agent": "chain",
    "turn": "chain",
    "chat": "llm",
    "tool": "tool",
    "other": "chain",
}

# The span's own identity, kept in the run's metadata: read_trace rebuilds spans from it, and a LangSmith run
# can be joined to the same trace in any other OTel backend. No dots: every dotted metadata key is an attribute.
OTEL_TRACE_ID: Final = "otel_trace_id"
OTEL_SPAN_ID: Final = "otel_span_id"
OTEL_PARENT_SPAN_ID: Final = "otel_parent_span_id"
OTEL_SPAN_KIND: Final = "otel_span_kind"
OTEL_STATUS_CODE: Final = "otel_status_code"
OTEL_FOREIGN: Final = "otel_foreign_scope"
"""True on a run made from another instrumentation's span (a provider SDK's own): read back, it is not a model
call of ours."""

# OTel gen_ai.provider.name back to the ls_provider names LangChain's chat models report, which LangSmith's
# model price map and playground expect; others pass through as they are.
_LS_PROVIDERS: Final[Mapping[str, str]] = {
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure_ai",
    "aws.bedrock": "amazon_bedrock",
    "gcp.gen_ai": "google_genai",
    "gcp.gemini": "google_genai",
    "gcp.vertex_ai": "google_vertexai",
    "mistral_ai": "mistralai",
    "x_ai": "xai",
    "ibm.watsonx.ai": "watsonx",
}


@dataclass(frozen=True, slots=True)
class RunPlace:
    """Where a span's run sits in its LangSmith trace."""

    run_id: UUID
    trace_id: UUID  # LangSmith's trace id is its root run's id
    parent_run_id: UUID | None
    dotted_order: str
    start_ns: int  # never before the parent's: LangSmith orders a trace by its dotted orders


def place_of(
    trace_id: int, span_id: int, start_ns: int, parent: RunPlace | None, langchain_run_id: object = None
) -> RunPlace:
    """The run of span ``span_id``: a child of ``parent``'s run, or the root of a trace of its own. Its id is the
    LangChain run's the span traces (``turntrace.langchain_run_id``: feedback and run URLs keyed on it work), else
    one made from the span's ids (a turn)."""
    start_ns = max(start_ns, parent.start_ns) if parent is not None else start_ns
    run_id = _uuid_or_none(langchain_run_id) or run_uuid(trace_id, span_id, start_ns)
    segment = f"{utc(start_ns):%Y%m%dT%H%M%S%fZ}{run_id}"
    if parent is None:
        return RunPlace(run_id, run_id, None, segment, start_ns)
    return RunPlace(run_id, parent.trace_id, parent.run_id, f"{parent.dotted_order}.{segment}", start_ns)


def run_uuid(trace_id: int, span_id: int, start_ns: int) -> UUID:
    """The same UUID v7 for the same span, every time: its start millisecond, then a hash of the span's ids."""
    digest = hashlib.sha256(f"{trace_id:032x}{span_id:016x}".encode()).digest()
    value = ((start_ns // 1_000_000 % (1 << 48)) << 80) | int.from_bytes(digest[:10], "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return UUID(int=value)


def _uuid_or_none(value: object) -> UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def utc(ns: int) -> datetime:
    """Nanoseconds since the epoch as an aware datetime, exact to the microsecond (no float rounding)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=rest // 1000)


def started_run(span: StoredSpan, place: RunPlace, project: str | None) -> dict[str, Any]:
    """The fields a run is posted with: the span as it started (its end comes in ``ended_run``)."""
    run: dict[str, Any] = {
        **_tree_fields(place),
        "name": span.name,
        "run_type": RUN_TYPES[span.role],
        "start_time": utc(place.start_ns),
        "inputs": inputs_of(span),
        "extra": {"metadata": metadata(span)},
    }
    tags = span.attributes.get(attr.LANGSMITH_TAGS)
    if isinstance(tags, (list, tuple)) and tags:
        run["tags"] = [str(tag) for tag in cast("Sequence[object]", tags)]
    if project is not None:
        run["session_name"] = project
    return run


def ended_run(
    span: StoredSpan, place: RunPlace, usage: Mapping[str, Any] | None, error_message: str | None = None
) -> dict[str, Any]:
    """The fields a run is patched with when its span ended; posted together with ``started_run``'s for a run
    that was not posted at its start. ``error_message``: the span's status description (only recorded when
    content is captured)."""
    meta = metadata(span)
    if usage is not None:
        meta["usage_metadata"] = dict(usage)
    run: dict[str, Any] = {
        **_tree_fields(place),
        "end_time": utc(max(span.end_ns, place.start_ns)),
        "outputs": outputs_of(span, usage),
        "extra": {"metadata": meta},
    }
    if span.status == "ERROR" or attr.ERROR_TYPE in span.attributes:
        kind = str(span.attributes.get(attr.ERROR_TYPE) or "error")
        run["error"] = f"{kind}: {error_message}" if error_message else kind
    first_chunk_s = span.attributes.get(attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    if isinstance(first_chunk_s, (int, float)):  # LangSmith's first-token time is its first new_token event's
        first_chunk_ns = place.start_ns + round(first_chunk_s * 1e9)
        run["events"] = [{"name": "new_token", "time": utc(first_chunk_ns).isoformat(), "kwargs": {"token": ""}}]
    return run


def metadata(span: StoredSpan) -> dict[str, Any]:
    """The metadata of the LangChain run as the app set it (``langsmith.metadata.<key>``), over every other
    attribute of the span but its content (``CONTENT_ATTRIBUTES``), its OTel identity, the session key LangSmith
    threads runs by, and on model calls the provider and model LangSmith prices by."""
    meta: dict[str, Any] = {
        k: v for k, v in span.attributes.items() if not k.startswith(_LANGSMITH) and not _is_content(k)
    }
    meta[OTEL_TRACE_ID] = span.trace_id
    meta[OTEL_SPAN_ID] = span.span_id
    if span.parent_span_id is not None:
        meta[OTEL_PARENT_SPAN_ID] = span.parent_span_id
    meta[OTEL_SPAN_KIND] = span.kind
    meta[OTEL_STATUS_CODE] = span.status
    if span.foreign:
        meta[OTEL_FOREIGN] = True
    session = span.attributes.get(attr.SESSION_ID)
    if isinstance(session, str) and session:
        meta["session_id"] = meta["thread_id"] = session
    if span.role == "chat":
        provider = span.attributes.get(attr.GEN_AI_PROVIDER_NAME)
        if isinstance(provider, str):
            meta["ls_provider"] = _LS_PROVIDERS.get(provider, provider)
        model = span.attributes.get(attr.GEN_AI_REQUEST_MODEL) or span.attributes.get(attr.GEN_AI_RESPONSE_MODEL)
        if isinstance(model, str):
            meta["ls_model_name"] = model
    prefix = attr.LANGSMITH_METADATA_PREFIX
    meta.update({k[len(prefix) :]: v for k, v in span.attributes.items() if k.startswith(prefix)})
    as_json = meta.pop(attr.METADATA_JSON_KEYS, None)
    for key in cast("list[str]", as_json) if isinstance(as_json, list) else ():
        meta[key] = _structure(meta.get(key))
    return meta


def _structure(text: object) -> object:
    """A metadata value the span holds as JSON text, as the dict or list the app gave (filters on its keys work)."""
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _tree_fields(place: RunPlace) -> dict[str, Any]:
    # trace_id and dotted_order on every post and patch: without them the client sends one request per run.
    return {
        "id": place.run_id,
        "trace_id": place.trace_id,
        "parent_run_id": place.parent_run_id,
        "dotted_order": place.dotted_order,
    }
