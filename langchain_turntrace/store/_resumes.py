"""Resume links the store makes itself. A run resumed in another process than the one that paused cannot link to
it in OTel (the paused span's context is not known there), so the store does, whichever of the two arrives first:
a resumed run (``turntrace.resumed``) without a ``resumes`` link resumes the latest interrupted run of its session
that started before it. When both carry the LangGraph checkpoint (``turntrace.pause.`` / ``resume.checkpoint_id``,
known when LangGraph >= 1.2 tells the handler), a paused run at another checkpoint is passed over: a resume of an
older checkpoint (time travel) links to the run that paused there."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Final

from langchain_turntrace import attributes as attr
from langchain_turntrace.store._rows import INSERT_LINK, SpanRow
from langchain_turntrace.store._runs import has_agent_above

_LINK_ATTRIBUTES: Final = json.dumps({attr.LINK_KIND: attr.RESUMES}, separators=(",", ":"))


def _flag(name: str) -> str:
    return f"json_extract(attributes, '$.\"{name}\"') = 1"


def _resumes_link_on(column: str) -> str:
    kind = f"json_extract(attributes, '$.\"{attr.LINK_KIND}\"')"
    return f"SELECT 1 FROM links WHERE {column} = ? AND {kind} = '{attr.RESUMES}'"


_HAS_RESUMES_LINK: Final = _resumes_link_on("span_id")  # this run links to the run it resumes
_RESUMED_BY: Final = _resumes_link_on("linked_span_id")  # a run resumed this one
# Newest first; the caller takes the first that is a run (no agent above it) at a compatible checkpoint.
_PAUSED_BEFORE: Final = (
    "SELECT trace_id, span_id, parent_span_id, attributes FROM spans WHERE session = ? "
    f"AND operation = 'invoke_agent' AND start_ns < ? AND {_flag(attr.INTERRUPTED)} ORDER BY start_ns DESC"
)
_RESUMED_AFTER: Final = (
    "SELECT trace_id, span_id, start_ns, attributes FROM spans WHERE session = ? "
    f"AND operation = 'invoke_agent' AND start_ns > ? AND {_flag(attr.RESUMED)}"
)


def link_resumes(connection: sqlite3.Connection, rows: Sequence[SpanRow]) -> None:
    """Inside the write's transaction, after ``rows`` are inserted: links each resumed run among them to the run
    it resumes, and each stored resumed run still unlinked to an interrupted run among them that it resumes."""
    for row in rows:
        session, attributes_json = row[11], row[19]
        if row[8] != "invoke_agent" or session is None:
            continue
        is_resumed, is_paused = (
            f'"{attr.RESUMED}":true' in attributes_json,
            f'"{attr.INTERRUPTED}":true' in attributes_json,
        )
        if not (is_resumed or is_paused):  # the cheap test first: most runs neither paused nor resumed
            continue
        if is_resumed:
            _link_to_paused(connection, (row[0], row[1], row[5], attributes_json), session)
        if is_paused:
            for resumed in connection.execute(_RESUMED_AFTER, (session, row[5])).fetchall():
                _link_to_paused(connection, resumed, session)


def _link_to_paused(connection: sqlite3.Connection, resumed: tuple[str, str, int, str], session: str) -> None:
    trace_id, span_id, start_ns, attributes_json = resumed
    if connection.execute(_HAS_RESUMES_LINK, (span_id,)).fetchone() is not None:
        return  # linked already: in the process that paused, or by an earlier write
    resumed_from = json.loads(attributes_json).get(attr.RESUME_CHECKPOINT_ID)
    for paused_trace_id, paused_span_id, parent_span_id, paused_json in connection.execute(
        _PAUSED_BEFORE, (session, start_ns)
    ).fetchall():
        paused_at = json.loads(paused_json).get(attr.PAUSE_CHECKPOINT_ID)
        if resumed_from is not None and paused_at is not None:
            if paused_at != resumed_from:
                continue  # paused at another checkpoint than the one this run resumed from
        elif connection.execute(_RESUMED_BY, (paused_span_id,)).fetchone() is not None:
            return  # the latest pause was resumed already: this run's pause has not arrived yet (it links then)
        if has_agent_above(connection, parent_span_id):
            continue  # an agent nested in a run: its run is the one to link to
        connection.execute(INSERT_LINK, (trace_id, span_id, paused_trace_id, paused_span_id, _LINK_ATTRIBUTES))
        return
