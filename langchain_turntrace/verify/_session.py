"""One scripted session (the demo agent, no model provider) through a backend, and the checks over what arrived."""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace.backends import BatchingProcessor, exporter_for, flush_within, provider_for, shutdown_within
from langchain_turntrace.config import Budget
from langchain_turntrace.store import RunSummary, SpanStore, StoredSpan, StoreError
from langchain_turntrace.turns import BudgetExceededError
from langchain_turntrace.verify._checks import Check, check_run

if TYPE_CHECKING:  # the handler loads LangChain (a second at start-up): not before a LangSmith probe has answered
    from langchain_turntrace.handler import TurnTraceCallbackHandler

_FLUSH_TIMEOUT_S = 30.0
_log = logging.getLogger("langchain_turntrace")


@dataclass(frozen=True, slots=True)
class ScriptedSession:
    runs: list[RunSummary]  # as read back from the store
    stopped: str | None  # the BudgetExceededError that stopped the session's last run, if a budget did


def run_scripted_session(
    path: Path, *, session_prefix: str, runs: int, budget: Budget | None = None
) -> ScriptedSession:
    """``runs`` agent runs in one fresh session, flushed to the local store at ``path`` and read back from it.
    A ``budget`` with ``on_exceed="raise"`` may stop a run: the session ends there and says why."""
    session_id = f"{session_prefix}-{uuid.uuid4().hex[:8]}"
    handler = _tagged_handler(provider_for("local", store_path=path), session_id, budget)
    started, stopped = _run_agent(handler, runs)
    if not handler.flush(timeout_s=_FLUSH_TIMEOUT_S):
        raise StoreError(f"could not write spans to {str(path)!r} within 30 s; is the disk full or the file locked?")
    with SpanStore.open(path, create=False) as store:
        found = store.runs(None, session_id, None, None, limit=started)
    if len(found) != started:
        raise StoreError(f"{started} run(s) were traced but {len(found)} reached {str(path)!r}; see the log above")
    return ScriptedSession(found, stopped)


def verify_backend(backend: str, store_path: Path, *, timeout_s: float = _FLUSH_TIMEOUT_S) -> tuple[str, list[Check]]:
    """Runs two scripted agent runs through ``backend`` and checks them: read back from the local store, or,
    for a backend we cannot read (OTLP, console), checked as sent and confirmed accepted by the backend."""
    if backend == "local":
        return f"local store {store_path}", _verify_local(store_path, timeout_s)
    if backend == "none":
        return "backend none", [
            Check(
                "backend configured",
                False,
                "TURNTRACE_BACKEND=none turns tracing off; choose local, otlp, langsmith or console",
            )
        ]
    if backend == "langsmith":
        return "langsmith backend", _verify_langsmith(timeout_s)
    processor = BatchingProcessor(exporter_for(backend), backend=backend)  # the pipeline configure() builds
    provider, spans, _ = _send_through(processor, timeout_s)
    shutdown_within(provider, 5.0, processor.give_up)
    checks = check_run(spans)
    accepted = processor.exported
    checks.append(
        Check(
            f"{backend} backend accepted every span",
            bool(spans) and accepted == len(spans),
            f"{accepted} of {len(spans)} span(s) accepted"
            if accepted == len(spans) or backend != "otlp"
            else f"{accepted} of {len(spans)} span(s) accepted: is the collector at OTEL_EXPORTER_OTLP_ENDPOINT "
            "(default http://localhost:4318) running and reachable?",
        )
    )
    return f"{backend} backend", checks


def _verify_local(store_path: Path, timeout_s: float) -> list[Check]:
    """The store at ``store_path`` checked without adding to it (the user's figures stay the user's): whether it
    can be read and written, or created where it is missing; then two scripted runs through the pipeline
    ``configure()`` builds, into a scratch store of its own, read back, checked and deleted."""
    checks = [_store_check(store_path.expanduser())]
    with tempfile.TemporaryDirectory(prefix="turntrace-verify-") as scratch:
        scratch_path = Path(scratch) / "traces.db"
        processor = BatchingProcessor(exporter_for("local", scratch_path), backend="local")
        provider, sent, _ = _send_through(processor, timeout_s)
        shutdown_within(provider, 5.0, processor.give_up)  # the scratch file is closed before it is deleted
        with SpanStore.open(scratch_path, create=False) as store:
            runs = store.runs(None, limit=len(sent))
            spans = [span for run in runs for span in store.run_spans(run.run_id)]
            checks.extend(check_run(spans, retention_days=store.retention_days))
    checks.append(
        Check("every span stored", bool(sent) and len(spans) == len(sent), f"{len(spans)} of {len(sent)} span(s)")
    )
    return checks


def _store_check(path: Path) -> Check:
    """Whether the handler can write to the store at ``path``: it opens (a store of ours, its schema brought up to
    date as every command does) in a directory SQLite can write its side files to, or the nearest directory
    that exists lets it be created. Nothing is created here."""
    name = "store usable"
    if path.exists():
        try:
            with SpanStore.open(path, create=False) as store:
                count = store.spans_count()
        except StoreError as error:
            return Check(name, False, str(error))
        if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
            return Check(name, False, f"{path} or its directory is read-only: traces cannot be written there")
        return Check(name, True, f"{path} holds {count} span(s), left as they are")
    existing = next(parent for parent in path.parents if parent.exists())
    if not existing.is_dir():
        return Check(name, False, f"{path} cannot be created: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        return Check(
            name, False, f"{path} does not exist and {existing} is not writable: set TURNTRACE_STORE to a writable path"
        )
    return Check(name, True, f"{path} does not exist yet: the first traced run creates it (owner-only)")


def _send_through(processor: SpanProcessor, timeout_s: float) -> tuple[TracerProvider, tuple[ReadableSpan, ...], bool]:
    """Two scripted runs through ``processor``: its provider, a copy of every span sent, whether it flushed."""
    sent = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(), shutdown_on_exit=False)
    provider.add_span_processor(processor)
    provider.add_span_processor(SimpleSpanProcessor(sent))
    _run_agent(_tagged_handler(provider, f"verify-{uuid.uuid4().hex[:8]}"), 2)
    flushed = flush_within(provider, timeout_s)
    return provider, sent.get_finished_spans(), flushed


def _tagged_handler(
    provider: trace.TracerProvider, session_id: str, budget: Budget | None = None
) -> TurnTraceCallbackHandler:
    from langchain_turntrace.handler import TurnTraceCallbackHandler

    return TurnTraceCallbackHandler(
        tracer_provider=provider,
        session_id=session_id,
        user_id="demo-user",
        feature="travel",
        agent_version="demo-1",
        budget=budget,
    )


def _run_agent(handler: TurnTraceCallbackHandler, runs: int) -> tuple[int, str | None]:
    """Runs started, and the message of the BudgetExceededError that stopped the last one (None if none did)."""
    from langchain_core.messages import HumanMessage

    from langchain_turntrace.demo import build_agent  # lazy: LangGraph is imported only when an agent runs

    for started in range(1, runs + 1):
        try:
            build_agent().invoke(  # pyright: ignore[reportUnknownMemberType]  # LangGraph's add_node generics
                {"messages": [HumanMessage("Book me the cheapest flight from Paris to Lisbon.")]},
                config={"callbacks": [handler]},
            )
        except BudgetExceededError as stopped:
            return started, str(stopped)
    return runs, None


def _verify_langsmith(timeout_s: float) -> list[Check]:
    """Sends two runs through the LangSmith processor, then reads them back through the same client; first, in a
    few seconds, whether LangSmith is configured and reachable at all."""
    from langchain_turntrace.langsmith_backend import LangSmithSpanProcessor, connection_problem

    problem = connection_problem()
    if problem is not None:
        return [Check("langsmith reachable", False, problem)]
    processor = LangSmithSpanProcessor()
    provider, sent, accepted = _send_through(processor, timeout_s)
    expected = len(sent)
    roots = [s for s in sent if s.parent is None]
    spans: list[StoredSpan] = []
    deadline = time.monotonic() + timeout_s
    while accepted:  # LangSmith makes runs queryable a moment after it takes them
        try:
            spans = [span for root in roots for span in processor.read_back(root)]
        except Exception as error:  # noqa: BLE001  # any client error: the check below says what we could read
            _log.warning("turntrace verify: reading runs back from LangSmith failed: %s", error)
        if len(spans) >= expected or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    shutdown_within(provider, 5.0)
    checks = check_run(spans) if spans else []
    checks.append(
        Check(
            "langsmith took every run",
            accepted,
            "every run reached LangSmith"
            if accepted
            else f"runs did not reach LangSmith within {timeout_s:g} s: check LANGSMITH_API_KEY and LANGSMITH_ENDPOINT",
        )
    )
    checks.append(
        Check(
            "runs read back from langsmith",
            len(spans) == expected,
            f"{len(spans)} of {expected} run(s) read back from LangSmith",
        )
    )
    return checks
