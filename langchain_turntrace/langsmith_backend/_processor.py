"""LangSmithSpanProcessor: each span becomes a LangSmith run in the same tree; roots are posted as they start."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, NamedTuple, cast

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from langchain_turntrace import attributes as attr
from langchain_turntrace._fork import renew_in_child
from langchain_turntrace.langsmith_backend import _settings as settings
from langchain_turntrace.langsmith_backend._read import read_trace
from langchain_turntrace.langsmith_backend._runs import RunPlace, ended_run, place_of, started_run
from langchain_turntrace.langsmith_backend._sender import Operation, RunSender
from langchain_turntrace.langsmith_backend._usage import usage_metadata
from langchain_turntrace.pricing import PriceBook
from langchain_turntrace.store import StoredSpan
from langchain_turntrace.store._records import stored_from_readable
from langchain_turntrace.version import INSTRUMENTATION_SCOPE

MAX_OPEN_SPANS: Final = 10_000
"""Spans started and not yet ended that the processor remembers (their run ids and dotted orders)."""

_log = logging.getLogger("langchain_turntrace")

_SpanKey = tuple[int, int]  # (trace id, span id)

_LANGSMITH_IDENTITY: Final = "langsmith."
"""The prefix of the LangChain run's metadata and tags on its span: a turn run (no LangChain run of its own) takes
its agent run's, so LangSmith filters and rules on them find the turns too."""


class _Open(NamedTuple):
    """What the processor remembers of a span between its start and its end."""

    place: RunPlace
    posted: bool  # its start was posted
    identity: Mapping[str, Any]  # an agent's or turn's LangChain metadata and tags, which its turns take


def _posted_at_start(attributes: Mapping[str, Any]) -> bool:
    """Agents, turns and tool calls are posted when they start, so LangSmith shows them running (so is any root).
    A model call is posted whole when it ends: one request instead of two for the commonest run."""
    return (
        attributes.get(attr.GEN_AI_OPERATION_NAME) in ("invoke_agent", "execute_tool") or attr.TURN_INDEX in attributes
    )


class LangSmithSpanProcessor(SpanProcessor):
    """Sends the span tree to LangSmith as runs: agent and turn spans as chain runs, model calls as llm runs
    with usage and cost, tool calls as tool runs. Agent, turn and tool runs (and any root) are posted when their
    span starts, so LangSmith shows them while they run, and patched when it ends; a model call is posted once,
    whole, when it ends.

    >>> provider.add_span_processor(LangSmithSpanProcessor())  # doctest: +SKIP  # LANGSMITH_API_KEY, ...

    ``api_url`` / ``api_key`` / ``project_name`` default to ``LANGSMITH_ENDPOINT`` / ``LANGSMITH_API_KEY`` /
    ``LANGSMITH_PROJECT`` (or their ``LANGCHAIN_*`` names), read when the processor is built, as are
    ``LANGSMITH_HIDE_INPUTS`` / ``_OUTPUTS`` / ``_METADATA``. ``anonymizer`` goes to the client, which applies it
    to every run's inputs and outputs, and with recent clients its metadata and error
    (``langsmith.anonymizer.create_anonymizer`` makes one).
    Nothing on the agent's side waits on the network: runs leave from a daemon thread. ``force_flush`` waits
    at most its timeout; ``shutdown`` until the client has sent or given up on every run, so bound it the way
    ``backends.shutdown_within`` does when exit must not wait on a LangSmith that hangs.
    """

    def __init__(
        self,
        *,
        api_url: str | None = None,
        api_key: str | None = None,
        project_name: str | None = None,
        on_dropped: Callable[[int], None] | None = None,
        anonymizer: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self._project = project_name or settings.project()
        self._sender = RunSender(
            api_url=api_url or settings.endpoint(),
            api_key=api_key or settings.api_key(),
            on_dropped=on_dropped,
            anonymizer=anonymizer,
            **{f"hide_{field}": settings.hidden(field) for field in ("inputs", "outputs", "metadata")},
        )
        self._prices = PriceBook({})  # reprices a model call's input share; the handler priced the whole call
        self._open: OrderedDict[_SpanKey, _Open] = OrderedDict()
        self._lock = threading.Lock()
        self._warned_full = False
        renew_in_child(self._renew_after_fork)
        # LangChain's own LangSmith tracing sends each LangChain run under its run id: ours would clash with it.
        self._own_run_ids = settings.langchain_tracing_on()
        if self._own_run_ids:
            _log.warning(
                "turntrace: LangChain's own LangSmith tracing is on too (LANGSMITH_TRACING=true), so each run would "
                "reach LangSmith twice; turntrace's runs keep ids of their own. Set LANGSMITH_TRACING=false to keep "
                "one tree, on LangChain's run ids."
            )

    def _run_id_of(self, span: ReadableSpan) -> object:
        """The LangChain run id a span's run takes, unless LangChain's own tracer sends runs under those ids."""
        return None if self._own_run_ids else (span.attributes or {}).get(attr.LANGCHAIN_RUN_ID)

    def _renew_after_fork(self) -> None:
        """In a forked child: a thread of the parent's that held the lock at the fork did not come along."""
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        context = span.get_span_context()
        if not context.trace_flags.sampled:  # recorded but not sampled: no exporter sends it, nor do we
            return
        parent = span.parent
        attributes = span.attributes or {}
        with self._lock:
            parent_entry = self._open.get((parent.trace_id, parent.span_id)) if parent is not None else None
            place = place_of(
                context.trace_id,
                context.span_id,
                span.start_time or 0,
                parent_entry.place if parent_entry is not None else None,
                self._run_id_of(span),
            )
            identity = _identity(attributes, parent_entry)
            posted = (parent_entry is None or _posted_at_start(attributes)) and self._sender.put(
                self._start(_with_identity(stored_from_readable(span), identity), place), ends_span=False
            )
            self._open[(context.trace_id, context.span_id)] = _Open(place, posted, identity)
            evicted = len(self._open) > MAX_OPEN_SPANS
            if evicted:
                self._open.popitem(last=False)  # the oldest open span: most likely one whose end never comes
        if evicted and not self._warned_full:
            self._warned_full = True
            _log.warning(
                "turntrace: over %d spans open at once; the oldest go to LangSmith as traces of their own",
                MAX_OPEN_SPANS,
            )

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        if context is None or not context.trace_flags.sampled:
            return
        with self._lock:
            entry = self._open.pop((context.trace_id, context.span_id), None)
        if entry is None:  # started before this processor, or forgotten: a trace of its own
            place = place_of(context.trace_id, context.span_id, span.start_time or 0, None, self._run_id_of(span))
            entry = _Open(place, False, {})
        self._sender.put(self._end(span, entry))

    def send_finished(self, spans: Sequence[ReadableSpan]) -> None:
        """Spans that ended elsewhere (an imported session), each posted once, whole: a span's run sits under its
        parent's when the parent is among ``spans``, else it is the root of its trace."""
        given = {(s.context.trace_id, s.context.span_id): s for s in spans if s.context is not None}
        entries: dict[_SpanKey, _Open] = {}

        def entry_of(key: _SpanKey, span: ReadableSpan) -> _Open:
            entry = entries.get(key)
            if entry is None:
                parent = span.parent
                parent_key = (parent.trace_id, parent.span_id) if parent is not None else None
                parent_span = given.get(parent_key) if parent_key is not None else None
                parent_entry = (
                    entry_of(parent_key, parent_span) if parent_key and parent_span else None
                )  # a tree's depth
                place = place_of(
                    key[0],
                    key[1],
                    span.start_time or 0,
                    parent_entry.place if parent_entry is not None else None,
                    self._run_id_of(span),
                )
                entry = entries[key] = _Open(place, False, _identity(span.attributes or {}, parent_entry))
            return entry

        for key, span in given.items():
            self._sender.put(self._end(span, entry_of(key, span)))

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._sender.flush(timeout_millis / 1000)

    def read_back(self, root: ReadableSpan) -> list[StoredSpan]:
        """The trace of ``root`` (a root span this processor sent) as LangSmith now holds it, via its client."""
        context = root.context
        if context is None:
            return []
        trace_id = place_of(context.trace_id, context.span_id, root.start_time or 0, None, self._run_id_of(root)).run_id
        return read_trace(self._sender.client, trace_id)

    def shutdown(self) -> None:
        self._sender.shutdown()

    def give_up(self) -> int:
        """Exit cannot wait longer: the runs not yet sent are lost, counted in ``dropped_spans()``."""
        return self._sender.give_up()

    def _start(self, span: StoredSpan, place: RunPlace) -> Operation:
        return lambda: ("post", started_run(span, place, self._project))

    def _end(self, span: ReadableSpan, entry: _Open) -> Operation:
        def operation() -> tuple[Literal["post", "patch"], dict[str, Any]]:
            stored = _with_identity(stored_from_readable(span), entry.identity)
            usage = usage_metadata(stored.attributes, self._prices) if stored.role == "chat" else None
            scope = span.instrumentation_scope
            # Ours records an error's message only with content capture on; another instrumentation's may be anything.
            message = span.status.description if scope is not None and scope.name == INSTRUMENTATION_SCOPE else None
            ended = ended_run(stored, entry.place, usage, message)
            if entry.posted and not self._sender.post_lost(entry.place.run_id):
                return "patch", ended
            return "post", {**started_run(stored, entry.place, self._project), **ended}  # its start post never arrived

        return operation


def _identity(attributes: Mapping[str, Any], parent: _Open | None) -> Mapping[str, Any]:
    """The LangChain metadata and tags a span's turns take: an agent's own; a turn passes on its agent's."""
    operation = attributes.get(attr.GEN_AI_OPERATION_NAME)
    if operation == "invoke_agent":
        return {
            k: v for k, v in attributes.items() if k.startswith(_LANGSMITH_IDENTITY) or k == attr.METADATA_JSON_KEYS
        }
    if operation is None and attr.TURN_INDEX in attributes and parent is not None:
        return parent.identity
    return {}


def _with_identity(span: StoredSpan, identity: Mapping[str, Any]) -> StoredSpan:
    """A turn's span with its agent run's metadata and tags, as a LangSmith run; any other span as it is."""
    if not identity or span.role != "turn":
        return span
    inherited = {k: list(cast("tuple[object, ...]", v)) if isinstance(v, tuple) else v for k, v in identity.items()}
    return dataclasses.replace(span, attributes={**inherited, **span.attributes})
