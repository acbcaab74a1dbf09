"""Resume links the store makes itself. A run resumed in another process than the one that paused cannot link to
it in OTel (the paused span's context is not known there), so the store does, whichever of the two arrives first:
a resumed run (``turntrace.resumed``) without a link of its own resumes the latest interrupted run of its session
and thread (``turntrace.thread_id``) that started before it. When both carry the LangGraph checkpoint
(``turntrace.pause.`` / ``resume.checkpoint_id``), a pause at another checkpoint is passed over (a resume of an
older checkpoint, time travel, finds its own run). Such a link is marked inferred: a pause that arrives later and
fits better (spans of three runs arriving out of order) takes it over; a link made in the process that paused is
exact and never changed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Final

from langchain_turntrace import attributes as attr
from langchain_turntrace.store._rows import INSERT_LINK, SpanRow
from langchain_turntrace.store._runs import has_agent_above

INFERRED: Final = "turntrace.link_inferred"
"""On a ``resumes`` link the store made (by session, thread and checkpoint), not the process that resumed."""

_INFERRED_LINK: Final = json.dumps({attr.LINK_KIND: attr.RESUMES, INFERRED: True}, separators=(",", ":"))
_LINK_KIND: Final = f"json_extract(attributes, '$.\"{attr.LINK_KIND}\"') = '{attr.RESUMES}'"
_RESUMES_LINK_OF: Final = f"SELECT linked_span_id, attributes FROM links WHERE span_id = ? AND {_LINK_KIND}"
_DELETE_LINK: Final = "DELETE FROM links WHERE span_id = ? AND linked_span_id = ?"


def _marked(name: str) -> str:
    return f"json_extract(attributes, '$.\"{name}\"') = 1"


# Newest first: the first that fits (a run, not an agent nested in one; same thread and checkpoint) is the one.
_PAUSED_BEFORE: Final = (
    "SELECT trace_id, span_id, parent_span_id, attributes FROM spans WHERE session = ? "
    f"AND operation = 'invoke_agent' AND start_ns < ? AND {_marked(attr.INTERRUPTED)} ORDER BY start_ns DESC"
)
_RESUMED_AFTER: Final = (
    "SELECT trace_id, span_id, start_ns, attributes FROM spans WHERE session = ? "
    f"AND operation = 'invoke_agent' AND start_ns > ? AND {_marked(attr.RESUMED)}"
)


def link_resumes(connection: sqlite3.Connection, rows: Sequence[SpanRow]) -> None:
    """Inside the write's transaction, after ``rows`` are inserted: links each resumed run among them to the run
    it resumes, and re-links each stored resumed run that a paused run among them fits better."""
    for row in rows:
        session, attributes_json = row[11], row[19]
        if row[8] != "invoke_agent" or session is None:
            continue
        resumed = f'"{attr.RESUMED}":true' in attributes_json
        paused = f'"{attr.INTERRUPTED}":true' in attributes_json
        if resumed:  # the cheap tests first: most runs neither paused nor resumed
            _link_to_paused(connection, (row[0], row[1], row[5], attributes_json), session)
        if paused:
            for later in connection.execute(_RESUMED_AFTER, (session, row[5])).fetchall():
                _link_to_paused(connection, later, session)


def _link_to_paused(connection: sqlite3.Connection, resumed: tuple[str, str, int, str], session: str) -> None:
    trace_id, span_id, start_ns, attributes_json = resumed
    existing = connection.execute(_RESUMES_LINK_OF, (span_id,)).fetchone()
    if existing is not None and not json.loads(existing[1]).get(INFERRED):
        return  # linked in the process that paused: exact
    paused = _latest_pause(connection, session, start_ns, json.loads(attributes_json))
    if paused is None or (existing is not None and existing[0] == paused[1]):
        return
    if existing is not None:
        connection.execute(_DELETE_LINK, (span_id, existing[0]))
    connection.execute(INSERT_LINK, (trace_id, span_id, paused[0], paused[1], _INFERRED_LINK))


def _latest_pause(
    connection: sqlite3.Connection, session: str, start_ns: int, resumed: Mapping[str, Any]
) -> tuple[str, str] | None:
    """The trace and span id of the run the resumed run continues, if it is stored."""
    for trace_id, span_id, parent_span_id, paused_json in connection.execute(_PAUSED_BEFORE, (session, start_ns)):
        paused = json.loads(paused_json)
        if any(_differ(paused.get(key), resumed.get(other)) for key, other in _MUST_AGREE):
            continue
        if has_agent_above(connection, parent_span_id):
            continue  # an agent nested in a run: the run is what a resume continues
        return trace_id, span_id
    return None


# (on the paused run, on the resumed run): when both are known they must be equal.
_MUST_AGREE: Final = ((attr.THREAD_ID, attr.THREAD_ID), (attr.PAUSE_CHECKPOINT_ID, attr.RESUME_CHECKPOINT_ID))


def _differ(paused: object, resumed: object) -> bool:
    return paused is not None and resumed is not None and paused != resumed
