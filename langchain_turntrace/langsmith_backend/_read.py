"""read_trace: the runs of one LangSmith trace back as spans, so the pre-launch checks can run on LangSmith."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Final, cast
from uuid import UUID

from langsmith import Client
from langsmith.schemas import Run

from langchain_turntrace.langsmith_backend._runs import (
    OTEL_FOREIGN,
    OTEL_PARENT_SPAN_ID,
    OTEL_SPAN_ID,
    OTEL_SPAN_KIND,
    OTEL_STATUS_CODE,
    OTEL_TRACE_ID,
)
from langchain_turntrace.store import StoredSpan

_SELECT: Final = ["id", "name", "run_type", "start_time", "end_time", "error", "extra", "parent_run_id", "trace_id"]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)


def read_trace(client: Client, trace_id: UUID | str) -> list[StoredSpan]:
    """The spans of LangSmith trace ``trace_id`` (its root run's id), rebuilt from the runs this backend sent:
    ids, kind and status from ``otel_*`` metadata, attributes from the dotted metadata keys (OTel names are
    namespaced; LangSmith's own keys, like ``ls_provider`` or ``revision_id``, are not).

    >>> check_run(read_trace(Client(), "0190c5f2-...-..."))  # doctest: +SKIP
    """
    runs = list(_runs_of(client, str(trace_id)))
    span_ids = {run.id: _span_id(run) for run in runs}
    return sorted((_span(run, span_ids) for run in runs), key=lambda s: (s.start_ns, s.name))


def _runs_of(client: Client, trace_id: str) -> Iterator[Run]:
    """Every run of the trace, page by page, from the query endpoint behind the client's ``list_runs`` (which
    newer clients deprecate for a v2 API that older ones lack)."""
    body: dict[str, Any] = {"trace": trace_id, "select": _SELECT}
    while True:
        response = client.request_with_retries("POST", "/runs/query", request_kwargs={"data": json.dumps(body)})  # pyright: ignore[reportUnknownMemberType]  # langsmith types request_kwargs as a bare Mapping
        page = cast("dict[str, Any]", response.json() or {})
        runs = cast("list[dict[str, Any]]", page.get("runs") or [])
        yield from (Run(**raw) for raw in runs)
        cursor = cast("dict[str, Any]", page.get("cursors") or {}).get("next")
        if not cursor:
            return
        body["cursor"] = cursor


def _span(run: Run, span_ids: dict[UUID, str]) -> StoredSpan:
    meta = _metadata(run)
    parent = meta.get(OTEL_PARENT_SPAN_ID)
    if not isinstance(parent, str):
        parent = span_ids.get(run.parent_run_id) if run.parent_run_id is not None else None
    start_ns = _ns(run.start_time)
    status = meta.get(OTEL_STATUS_CODE)
    kind = meta.get(OTEL_SPAN_KIND)
    return StoredSpan(
        trace_id=str(meta.get(OTEL_TRACE_ID) or run.trace_id.hex),
        span_id=span_ids[run.id],
        parent_span_id=parent,
        name=run.name,
        kind=kind if isinstance(kind, str) else "INTERNAL",
        start_ns=start_ns,
        end_ns=_ns(run.end_time) if run.end_time is not None else start_ns,
        status=status if isinstance(status, str) else ("ERROR" if run.error else "UNSET"),
        attributes={key: value for key, value in meta.items() if "." in key},
        foreign=meta.get(OTEL_FOREIGN) is True,
    )


def _span_id(run: Run) -> str:
    span_id = _metadata(run).get(OTEL_SPAN_ID)
    return span_id if isinstance(span_id, str) else run.id.hex[-16:]  # a run this backend did not send


def _metadata(run: Run) -> dict[str, Any]:
    metadata = cast("dict[str, Any]", run.extra or {}).get("metadata")  # pyright: ignore[reportUnknownMemberType]  # Run.extra is a bare dict
    return cast("dict[str, Any]", metadata) if isinstance(metadata, dict) else {}


def _ns(moment: datetime) -> int:
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
